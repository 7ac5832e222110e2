"""Decisions on batches (accept, reject, partially accept) and the priced terms they freeze.

A decision is an event with who, when, the state before and after, the acceptance evidence shown
at the time and a note. It freezes the batch's price: the units paid for, where they fell on the
line's tiers, the unit prices and discounts of the contract version in force on the delivery day,
the cost and the currency. Nothing edited later reprices a decided batch; re-deciding it needs a
reason and is shown as such in its history.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, select

from procure.config import local_user, today
from procure.documents import problems_error
from procure.errors import InputError, NotFoundError
from procure.kinds import BatchEventKind, BatchStatus
from procure.records.models import Batch, BatchEvent, Contract, ContractVersion, TaskType
from procure.records.pricing import (
    LineBatch,
    PricedBatch,
    accepted_units,
    billable_units,
    frozen_top,
    price_at,
)
from procure.records.terms import BatchSpec, FrozenPriceSpec
from procure.records.versions import contract_versions, terms_for, terms_of
from procure.records.workspace import lock_contract, record_event

DECIDED = (BatchStatus.accepted, BatchStatus.rejected, BatchStatus.partially_accepted)


def get_batch(batch_id: int, *, session: Session) -> Batch:
    batch = session.get(Batch, batch_id)
    if batch is None:
        raise NotFoundError(f"no batch with id {batch_id}")
    return batch


def live_batches(
    contract_id: int | None, *, session: Session, with_voided: bool = False
) -> list[Batch]:
    """A contract's batches that count (``with_voided``: and the voided ones), in delivery order."""
    query = select(Batch).where(Batch.contract_id == contract_id)
    if not with_voided:
        query = query.where(col(Batch.voided_at).is_(None))
    return list(session.exec(query.order_by(col(Batch.delivered_on), col(Batch.id))))


def decided_batches(contract_id: int | None, *, session: Session) -> list[Batch]:
    """A contract's live batches with a decision (whose cost relies on its terms)."""
    return [
        b for b in live_batches(contract_id, session=session) if BatchStatus(b.status) in DECIDED
    ]


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


def _terms_snapshot(version: ContractVersion, task_type: str) -> dict[str, Any]:
    """The terms a decision froze, as kept with the batch (``Batch.priced_terms``)."""
    terms = terms_of(version)
    line = next(line for line in terms.price_lines if line.task_type == task_type)
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
            if d.task_type in (None, task_type)
        ],
    }


def freeze(batch: Batch, *, session: Session) -> None:
    """Freeze a decided batch's price: its accepted units take the tier positions after every
    position already frozen on its line (``pricing.price_line``), under the contract version in
    force on its delivery day."""
    contract = session.get(Contract, batch.contract_id)
    task_type = session.get(TaskType, batch.task_type_id)
    assert contract is not None and task_type is not None
    version, prices, discounts = terms_for(
        contract_versions(contract.id, session=session), task_type.key, batch.delivered_on
    )
    siblings = [
        LineBatch(b.id or 0, b.week, 0, prices, discounts, frozen_price(b))
        for b in live_batches(contract.id, session=session)
        if b.task_type_id == batch.task_type_id and b.id != batch.id
    ]
    units = billable_units(BatchStatus(batch.status), batch.quantity, batch.accepted_quantity)
    priced = price_at(
        LineBatch(batch.id or 0, batch.week, units, prices, discounts), frozen_top(siblings) + 1
    )
    batch.priced_units = priced.units
    batch.priced_first_unit = priced.first_unit
    batch.priced_list_cost = priced.list_cost
    batch.priced_cost = priced.cost
    batch.priced_currency = contract.currency
    batch.priced_terms = _terms_snapshot(version, task_type.key)
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
    kind: BatchEventKind,
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
    carried_price: FrozenPriceSpec | None = None,
) -> Batch:
    """Decide a batch (or reopen it for review), freezing the price of a decision.

    The event is ``decided``, ``re-decided``, ``reopened`` (a decided batch back to review) or
    ``in review``. Re-deciding or reopening a decided batch needs a ``reason``; ``evidence`` is
    what the decider was shown (reviewed items, errors, interval, rule), kept with the event. A
    decision that comes with its ``carried_price`` (a document moving a decided batch between
    workspaces) keeps that price instead of freezing a new one.
    """
    batch = get_batch(batch_id, session=session)
    lock_contract(batch.contract_id, session=session)  # tier positions are taken one at a time
    session.refresh(batch)  # as the writer before this one left it
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
    if new_status in DECIDED and carried_price is not None:
        _carry(batch, carried_price, session=session)
    elif new_status in DECIDED:
        freeze(batch, session=session)
    else:
        _thaw(batch)
    if new_status in DECIDED:
        kind = BatchEventKind.re_decided if decided_before else BatchEventKind.decided
    else:
        kind = BatchEventKind.reopened if decided_before else BatchEventKind.in_review
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


def _carry(batch: Batch, price: FrozenPriceSpec, *, session: Session) -> None:
    contract = session.get(Contract, batch.contract_id)
    assert contract is not None
    units = billable_units(BatchStatus(batch.status), batch.quantity, batch.accepted_quantity)
    if price.units != units or price.currency != contract.currency:
        raise InputError(
            f"batch {batch.ref!r}: its frozen price is for {price.units} units in "
            f"{price.currency}; the batch pays for {units} units in {contract.currency}",
            field="priced",
        )
    batch.priced_units, batch.priced_first_unit = price.units, price.first_unit
    batch.priced_list_cost, batch.priced_cost = price.list_cost, price.cost
    batch.priced_currency, batch.priced_terms = price.currency, price.terms
    session.add(batch)


def frozen_spec(batch: Batch) -> FrozenPriceSpec | None:
    """A frozen batch's price as a document carries it."""
    price = frozen_price(batch)
    if price is None:
        return None
    return FrozenPriceSpec(
        first_unit=price.first_unit,
        units=price.units,
        list_cost=price.list_cost,
        cost=price.cost,
        currency=batch.priced_currency or "",
        terms=batch.priced_terms or {},
    )


def _thaw(batch: Batch) -> None:
    batch.priced_units = batch.priced_first_unit = None
    batch.priced_cost = batch.priced_list_cost = None
    batch.priced_currency, batch.priced_terms = None, None


def latest_decision(batch: Batch, *, session: Session) -> BatchEvent | None:
    return session.exec(
        select(BatchEvent)
        .where(
            BatchEvent.batch_id == batch.id,
            col(BatchEvent.kind).in_([BatchEventKind.decided, BatchEventKind.re_decided]),
        )
        .order_by(col(BatchEvent.id).desc())
    ).first()


def accepted_value(batch: Batch) -> Decimal:
    """What the batch's decision made payable (zero while undecided or when voided)."""
    if batch.voided_at is not None or batch.priced_cost is None:
        return Decimal(0)
    return batch.priced_cost


def accepted_count(batch: Batch) -> int:
    """Units the batch's decision accepted (zero while undecided or when voided)."""
    if batch.voided_at is not None:
        return 0
    return accepted_units(BatchStatus(batch.status), batch.quantity, batch.accepted_quantity)
