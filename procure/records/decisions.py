"""Decisions on batches (accept, reject, partially accept) and the priced terms they freeze.

A decision is an event with who, when, the state before and after, the acceptance evidence shown
at the time and a note. It freezes the batch's price: the units paid for, where they fell on the
line's tiers, the unit prices and discounts of the contract version in force on the delivery day,
the cost and the currency. Nothing edited later reprices a decided batch; re-deciding it needs a
reason and is shown as such in its history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, select

from procure.config import local_user, today
from procure.documents import problems_error
from procure.errors import InputError, NotFoundError
from procure.kinds import BatchStatus
from procure.records.models import Batch, BatchEvent, Contract, TaskType
from procure.records.pricing import (
    PENDING,
    LineBatch,
    PricedBatch,
    accepted_units,
    billable_units,
    price_line,
)
from procure.records.terms import BatchSpec
from procure.records.versions import contract_versions, in_force, line_terms, terms_of
from procure.records.workspace import record_event

DECIDED = (BatchStatus.accepted, BatchStatus.rejected, BatchStatus.partially_accepted)


def get_batch(batch_id: int, *, session: Session) -> Batch:
    batch = session.get(Batch, batch_id)
    if batch is None:
        raise NotFoundError(f"no batch with id {batch_id}")
    return batch


def live_batches(contract_id: int | None, *, session: Session) -> list[Batch]:
    """A contract's batches that count (not voided), in delivery order."""
    return list(
        session.exec(
            select(Batch)
            .where(Batch.contract_id == contract_id, col(Batch.voided_at).is_(None))
            .order_by(col(Batch.delivered_on), col(Batch.id))
        )
    )


def check_delivery_date(delivered_on: date, as_of: date | None = None) -> None:
    """A delivery is a fact: it cannot lie after the day it is recorded as of."""
    as_of = as_of or today()
    if delivered_on > as_of:
        raise InputError(
            f"delivered on {delivered_on}, after the as-of date {as_of}; a batch is recorded "
            "once it has arrived",
            field="delivered_on",
        )


def frozen_price(batch: Batch) -> PricedBatch | None:
    if batch.priced_cost is None or batch.priced_list_cost is None:
        return None
    return PricedBatch(
        batch.id or 0,
        batch.priced_units or 0,
        batch.priced_first_unit or 1,
        batch.priced_list_cost,
        batch.priced_cost,
    )


@dataclass(frozen=True)
class PricedLine:
    """One line's batches priced in delivery order, with the version each was priced under."""

    batches: list[Batch]
    priced: list[PricedBatch]
    versions: list[int]


def price_contract_line(
    contract: Contract, task_type: TaskType, batches: list[Batch], *, session: Session
) -> PricedLine:
    """Price a task type's live batches of ``contract`` (in delivery order): frozen ones as they
    were frozen, the others under the version in force on their delivery day."""
    versions = contract_versions(contract.id, session=session)
    line: list[LineBatch] = []
    used: list[int] = []
    for batch in batches:
        version = in_force(versions, batch.delivered_on)
        terms = line_terms(terms_of(version), task_type.key)
        if terms is None:
            raise InputError(
                f"batch {batch.ref!r} was delivered on {batch.delivered_on}, when version "
                f"{version.number} of the contract had no price line for {task_type.key!r}"
            )
        prices, discounts = terms
        units = billable_units(BatchStatus(batch.status), batch.quantity, batch.accepted_quantity)
        line.append(
            LineBatch(batch.id or 0, batch.week, units, prices, discounts, frozen_price(batch))
        )
        used.append(version.number)
    return PricedLine(batches, price_line(line), used)


def _terms_snapshot(
    contract: Contract, task_type: TaskType, version_number: int, *, session: Session
) -> dict[str, Any]:
    version = next(
        v for v in contract_versions(contract.id, session=session) if v.number == version_number
    )
    terms = terms_of(version)
    line = next(line for line in terms.price_lines if line.task_type == task_type.key)
    return {
        "contract_version": version.number,
        "effective_from": version.effective_from.isoformat(),
        "unit_price": format(line.unit_price, "f"),
        "tiers": [
            {"from_unit": t.from_unit, "unit_price": format(t.unit_price, "f")} for t in line.tiers
        ],
        "discounts": [
            {"kind": d.kind.value, "percent": format(d.percent, "f")}
            for d in terms.discounts
            if d.task_type in (None, task_type.key)
        ],
    }


def freeze(batch: Batch, *, session: Session) -> None:
    """Price a decided batch where it stands on its line now and keep that price with it."""
    contract = session.get(Contract, batch.contract_id)
    task_type = session.get(TaskType, batch.task_type_id)
    assert contract is not None and task_type is not None
    batch.priced_cost = batch.priced_list_cost = None
    siblings = [
        b
        for b in live_batches(contract.id, session=session)
        if b.task_type_id == batch.task_type_id
    ]
    line = price_contract_line(contract, task_type, siblings, session=session)
    index = next(i for i, b in enumerate(siblings) if b.id == batch.id)
    priced = line.priced[index]
    batch.priced_units = priced.units
    batch.priced_first_unit = priced.first_unit
    batch.priced_list_cost = priced.list_cost
    batch.priced_cost = priced.cost
    batch.priced_currency = contract.currency
    batch.priced_terms = _terms_snapshot(contract, task_type, line.versions[index], session=session)
    session.add(batch)


def _state(batch: Batch) -> dict[str, Any]:
    return {
        "status": str(batch.status),
        "accepted_quantity": batch.accepted_quantity,
        "cost": None if batch.priced_cost is None else format(batch.priced_cost, "f"),
        "currency": batch.priced_currency,
    }


def add_batch_event(
    batch: Batch,
    kind: str,
    before: dict[str, Any],
    after: dict[str, Any],
    *,
    session: Session,
    reason: str = "",
    note: str = "",
    evidence: dict[str, Any] | None = None,
) -> BatchEvent:
    event = BatchEvent(
        batch_id=batch.id or 0,
        actor=local_user(),
        kind=kind,
        before=before,
        after=after,
        reason=reason,
        note=note,
        evidence=evidence,
    )
    session.add(event)
    record_event(kind, "batch", batch.id, f"{batch.ref}: {after}", session=session)
    return event


def decide_batch(
    batch_id: int,
    status: BatchStatus | str,
    *,
    session: Session,
    accepted_quantity: int | None = None,
    reason: str = "",
    note: str = "",
    evidence: dict[str, Any] | None = None,
) -> Batch:
    """Decide a batch (or reopen it for review), freezing the price of a decision.

    The event is ``decided``, ``re-decided``, ``reopened`` (a decided batch back to review) or
    ``in review``. Re-deciding or reopening a decided batch needs a ``reason``; ``evidence`` is what the decider was shown
    (reviewed items, errors, interval, rule), kept with the event.
    """
    batch = get_batch(batch_id, session=session)
    if batch.voided_at is not None:
        raise InputError(f"batch {batch.ref!r} is voided; it can no longer be decided")
    try:
        new_status = BatchStatus(status)
    except ValueError:
        raise InputError(
            f"unknown status {status!r}; expected one of {', '.join(s.value for s in BatchStatus)}",
            field="status",
        ) from None
    spec = BatchSpec(
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
    decided_before = BatchStatus(batch.status) in DECIDED
    if decided_before and not reason.strip():
        last = latest_decision(batch, session=session)
        by = f" by {last.actor} on {last.at:%Y-%m-%d}" if last else ""
        raise InputError(
            f"batch {batch.ref!r} was already decided ({batch.status}{by}); re-deciding it needs "
            "a reason",
            field="reason",
        )
    if new_status == batch.status and accepted_quantity == batch.accepted_quantity:
        raise InputError(f"batch {batch.ref!r} is already {new_status}", field="status")
    before = _state(batch)
    batch.status, batch.accepted_quantity = new_status, accepted_quantity
    session.add(batch)
    if new_status in DECIDED:
        freeze(batch, session=session)
    else:
        _thaw(batch)
    if new_status in DECIDED:
        kind = "re-decided" if decided_before else "decided"
    else:
        kind = "reopened" if decided_before else "in review"
    add_batch_event(
        batch,
        kind,
        before,
        _state(batch),
        reason=reason.strip(),
        note=note.strip(),
        evidence=evidence,
        session=session,
    )
    session.flush()
    return batch


def _thaw(batch: Batch) -> None:
    batch.priced_units = batch.priced_first_unit = None
    batch.priced_cost = batch.priced_list_cost = None
    batch.priced_currency, batch.priced_terms = None, None


def latest_decision(batch: Batch, *, session: Session) -> BatchEvent | None:
    return session.exec(
        select(BatchEvent)
        .where(
            BatchEvent.batch_id == batch.id,
            col(BatchEvent.kind).in_(["decided", "re-decided"]),
        )
        .order_by(col(BatchEvent.id).desc())
    ).first()


def accepted_value(batch: Batch) -> Decimal:
    """What the batch's decision made payable (zero while undecided or when voided)."""
    if batch.voided_at is not None or batch.priced_cost is None:
        return Decimal(0)
    return batch.priced_cost


def accepted_count(batch: Batch) -> int:
    if batch.voided_at is not None or BatchStatus(batch.status) in PENDING:
        return 0
    return accepted_units(BatchStatus(batch.status), batch.quantity, batch.accepted_quantity)
