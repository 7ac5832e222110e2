"""Recording delivered batches and correcting them: edits and voids are events with a reason, and
nothing is destroyed (a voided batch drops out of every figure and stays in the history)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from procure.documents import problems_error, validate
from procure.errors import InputError
from procure.kinds import BatchEventKind, BatchStatus
from procure.records.catalog import task_type_by_key
from procure.records.contracts import batch_fit, contract_spec
from procure.records.decisions import (
    DECIDED,
    add_batch_event,
    check_delivery_date,
    decide_batch,
    get_batch,
)
from procure.records.models import (
    Batch,
    BatchEvent,
    Contract,
    Invoice,
    InvoiceBatch,
    TaskType,
)
from procure.records.terms import BatchSpec
from procure.records.versions import contract_versions, in_force
from procure.records.workspace import lock_contract, withdraw


def _next_ref(contract_id: int, spec: BatchSpec, *, session: Session) -> str:
    taken = set(session.exec(select(Batch.ref).where(Batch.contract_id == contract_id)))
    n = 1
    while f"W{spec.week}-{spec.task_type}-{n}" in taken:
        n += 1
    return f"W{spec.week}-{spec.task_type}-{n}"


def _check_against(contract: Contract, batch: BatchSpec, where: str, *, session: Session) -> None:
    spec = contract_spec(contract, session=session)
    problems = batch_fit(spec, contract_versions(contract.id, session=session), batch)
    if problems:
        raise problems_error(problems, where)


def record_batch(
    contract_id: int,
    data: BatchSpec | dict[str, Any],
    *,
    session: Session,
    as_of: date | None = None,
) -> Batch:
    """Record a delivered batch after checking it against the contract's weeks and price lines;
    a batch recorded as decided is decided (and priced) at once."""
    spec = data if isinstance(data, BatchSpec) else validate(BatchSpec, data, "batch")
    contract = lock_contract(contract_id, session=session)  # the next ref is this writer's
    _check_against(contract, spec, "batch", session=session)
    check_delivery_date(spec.delivered_on, as_of)
    task_type = task_type_by_key(spec.task_type, session=session)
    assert task_type is not None and task_type.id is not None  # priced, so it exists
    ref = spec.ref or _next_ref(contract_id, spec, session=session)
    if session.exec(
        select(Batch.id).where(Batch.contract_id == contract_id, Batch.ref == ref)
    ).first():
        raise InputError(f"this contract already has a batch with ref {ref!r}", field="ref")
    batch = Batch(
        contract_id=contract_id,
        task_type_id=task_type.id,
        **spec.model_dump(exclude={"task_type", "ref", "status", "accepted_quantity"}),
        ref=ref,
    )
    session.add(batch)
    session.flush()
    add_batch_event(batch, BatchEventKind.recorded, {}, _facts(batch), session=session)
    if spec.status is not BatchStatus.received:
        decide_batch(
            batch.id or 0,
            spec.status,
            accepted_quantity=spec.accepted_quantity,
            note=f"recorded as {spec.status.value.replace('_', ' ')}",
            session=session,
        )
    return batch


def _facts(batch: Batch) -> dict[str, Any]:
    facts = {
        "ref": batch.ref,
        "week": batch.week,
        "delivered_on": batch.delivered_on.isoformat(),
        "quantity": batch.quantity,
        "notes": batch.notes,
    }
    return {k: v for k, v in facts.items() if v != ""}


@dataclass(frozen=True)
class BatchEdit:
    """A correction of a batch's facts; ``None`` leaves a field as it is."""

    ref: str | None = None
    week: int | None = None
    delivered_on: date | None = None
    quantity: int | None = None
    notes: str | None = None


def edit_batch(
    batch_id: int,
    edit: BatchEdit,
    *,
    reason: str,
    session: Session,
    as_of: date | None = None,
) -> Batch:
    """Correct a batch's ref, week, delivery date, quantity or notes, with a reason.

    A decided batch's quantity is part of its decision: reopen it for review first (a
    re-decision with a reason), so its price is never changed by an edit.
    """
    batch = get_batch(batch_id, session=session)
    if batch.voided_at is not None:
        raise InputError(f"batch {batch.ref!r} is voided; it can no longer be edited")
    if not reason.strip():
        raise InputError("a correction needs a reason", field="reason")
    changes = {k: v for k, v in asdict(edit).items() if v is not None and getattr(batch, k) != v}
    if not changes:
        raise InputError("the edit changes nothing", field="batch")
    if "quantity" in changes and BatchStatus(batch.status) in DECIDED:
        raise InputError(
            f"batch {batch.ref!r} is {batch.status}: its quantity is part of that decision; "
            "reopen it for review first (set its status to in_review with a reason)",
            field="quantity",
        )
    if "delivered_on" in changes and BatchStatus(batch.status) in DECIDED:
        versions = contract_versions(batch.contract_id, session=session)
        was, now = (
            in_force(versions, day).number
            for day in (batch.delivered_on, edit.delivered_on or batch.delivered_on)
        )
        if was != now:
            raise InputError(
                f"batch {batch.ref!r} was decided under contract version {was}; on "
                f"{edit.delivered_on} version {now} is in force: reopen it for review first",
                field="delivered_on",
            )
    if (
        "ref" in changes
        and session.exec(
            select(Batch.id).where(
                Batch.contract_id == batch.contract_id, Batch.ref == changes["ref"]
            )
        ).first()
    ):
        raise InputError(f"this contract already has a batch with ref {changes['ref']!r}")
    contract = session.get(Contract, batch.contract_id)
    task_type = session.get(TaskType, batch.task_type_id)
    assert contract is not None and task_type is not None
    before = _facts(batch)
    merged = validate(
        BatchSpec,
        {**before, **changes, "task_type": task_type.key, "notes": changes.get("notes", "")},
        f"batch {batch.ref}",
    )
    _check_against(contract, merged, f"batch {batch.ref}", session=session)
    if "delivered_on" in changes:
        check_delivery_date(merged.delivered_on, as_of)
    batch.sqlmodel_update({k: getattr(merged, k) for k in changes})
    session.add(batch)
    session.flush()
    add_batch_event(
        batch, BatchEventKind.edited, before, _facts(batch), reason=reason.strip(), session=session
    )
    return batch


def void_batch(batch_id: int, *, reason: str, session: Session) -> Batch:
    """Take a batch out of every figure (spend, schedule, labels), keeping it in the history.

    A batch an invoice bills must be taken off the invoice first (void the invoice)."""
    batch = get_batch(batch_id, session=session)
    billed = session.exec(
        select(Invoice.number)
        .join(InvoiceBatch, col(InvoiceBatch.invoice_id) == col(Invoice.id))
        .where(InvoiceBatch.batch_id == batch.id, col(Invoice.voided_at).is_(None))
    ).first()
    if billed is not None:
        raise InputError(
            f"batch {batch.ref!r} is billed by invoice {billed!r}; void that invoice first"
        )
    kept = withdraw(batch, reason, what=f"batch {batch.ref!r}", noun="a batch")
    session.add(batch)
    session.flush()
    add_batch_event(
        batch,
        BatchEventKind.voided,
        {"voided": False},
        {"voided": True},
        reason=kept,
        session=session,
    )
    return batch


def batch_history(batch_id: int, *, session: Session) -> list[BatchEvent]:
    """Everything that happened to a batch, oldest first."""
    get_batch(batch_id, session=session)
    return list(
        session.exec(
            select(BatchEvent)
            .where(BatchEvent.batch_id == batch_id)
            .order_by(col(BatchEvent.at), col(BatchEvent.id))
        )
    )
