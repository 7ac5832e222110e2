"""Recording delivered batches and their review status."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from procure.documents import problems_error, validate
from procure.errors import InputError, NotFoundError
from procure.kinds import BatchStatus
from procure.records.catalog import task_type_by_key
from procure.records.contracts import contract_spec, get_contract
from procure.records.models import Batch
from procure.records.terms import BatchSpec
from procure.records.workspace import record_event


def _next_ref(contract_id: int, spec: BatchSpec, *, session: Session) -> str:
    taken = set(session.exec(select(Batch.ref).where(Batch.contract_id == contract_id)))
    n = 1
    while f"W{spec.week}-{spec.task_type}-{n}" in taken:
        n += 1
    return f"W{spec.week}-{spec.task_type}-{n}"


def record_batch(contract_id: int, data: BatchSpec | dict[str, Any], *, session: Session) -> Batch:
    """Record a delivered batch after checking it against the contract's weeks and price lines."""
    spec = data if isinstance(data, BatchSpec) else validate(BatchSpec, data, "batch")
    contract = get_contract(contract_id, session=session)
    problems = contract_spec(contract, session=session).batch_problems(spec)
    if problems:
        raise problems_error(problems, "batch")
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
        **spec.model_dump(exclude={"task_type", "ref"}),
        ref=ref,
    )
    session.add(batch)
    session.flush()
    record_event(
        "create", "batch", batch.id, f"{ref}: {spec.quantity} {spec.task_type}", session=session
    )
    return batch


def get_batch(batch_id: int, *, session: Session) -> Batch:
    batch = session.get(Batch, batch_id)
    if batch is None:
        raise NotFoundError(f"no batch with id {batch_id}")
    return batch


def set_batch_status(
    batch_id: int,
    status: BatchStatus | str,
    *,
    session: Session,
    accepted_quantity: int | None = None,
    notes: str | None = None,
) -> Batch:
    """Move a batch to a review status (partially accepted needs the accepted quantity)."""
    batch = get_batch(batch_id, session=session)
    try:
        new_status = BatchStatus(status)
    except ValueError:
        raise InputError(
            f"unknown status {status!r}; expected one of {', '.join(s.value for s in BatchStatus)}",
            field="status",
        ) from None
    spec = BatchSpec(
        ref=batch.ref,
        task_type="-",
        week=batch.week,
        delivered_on=batch.delivered_on,
        quantity=batch.quantity,
        status=new_status,
        accepted_quantity=accepted_quantity,
    )
    problems = spec.problems()
    if problems:
        raise problems_error(problems, f"batch {batch.ref}")
    batch.status, batch.accepted_quantity = new_status, accepted_quantity
    if notes is not None:
        batch.notes = notes
    session.add(batch)
    detail = new_status.value + (f" ({accepted_quantity})" if accepted_quantity is not None else "")
    record_event("status", "batch", batch_id, detail, session=session)
    return batch
