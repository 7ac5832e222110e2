"""Vendors' invoices, and their reconciliation against the accepted units at their frozen prices.

For an invoice billing batches ``B`` (``amount`` for ``units`` units):

- ``accepted_value`` = the sum of the frozen costs of the accepted units of ``B``;
- ``difference = amount - accepted_value``, compared to the cent: matched when it rounds to
  zero, over-billed when positive, under-billed when negative; ``awaiting decision`` while a
  batch of ``B`` is undecided (its value is not known yet);
- ``credit_due = difference`` of an over-billed invoice, else zero: what the vendor owes back,
  whatever the cause (units billed but rejected, or billed above the contract price). The
  units are reported beside it, not used in it: ``rejected_units_billed = max(0, units -
  accepted units of B)``.

Money decides the state because money is what is paid; a unit count that disagrees with an
amount that matches is shown (``rejected_units_billed``) for the lead to query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from pydantic import Field, field_validator
from sqlmodel import Session, col, func, select

from procure.config import local_user, today
from procure.documents import Spec, validate
from procure.errors import InputError, NotFoundError
from procure.kinds import BatchStatus
from procure.money import check_amount, check_currency
from procure.records.decisions import accepted_count, accepted_value, live_batches
from procure.records.models import Batch, Contract, Invoice, InvoiceBatch
from procure.records.pricing import PENDING
from procure.records.terms import MAX_UNITS
from procure.records.workspace import lock_contract, record_event, withdraw

CENT = Decimal("0.01")


class InvoiceState(StrEnum):
    matched = "matched"
    over_billed = "over-billed"
    under_billed = "under-billed"
    awaiting_decision = "awaiting decision"


class InvoiceSpec(Spec):
    """An invoice as the vendor sent it: the batches it bills by ref, or a delivery period."""

    number: str = Field(min_length=1, max_length=120)
    issued_on: date
    units: int = Field(ge=0, le=MAX_UNITS)
    amount: Decimal = Field(ge=0, allow_inf_nan=False)
    currency: str | None = None  # the contract's when not given
    batches: list[str] = []
    period_start: date | None = None
    period_end: date | None = None
    paid_on: date | None = None
    notes: str = ""

    _amount = field_validator("amount")(check_amount)

    @field_validator("currency")
    @classmethod
    def _currency(cls, code: str | None) -> str | None:
        return None if code is None else check_currency(code)


@dataclass(frozen=True)
class Reconciliation:
    invoice: Invoice
    batches: tuple[Batch, ...]
    accepted_units: int
    accepted_value: Decimal
    state: InvoiceState

    @property
    def difference(self) -> Decimal:
        return self.invoice.amount - self.accepted_value

    @property
    def rejected_units_billed(self) -> int:
        return max(0, self.invoice.units - self.accepted_units)

    @property
    def credit_due(self) -> Decimal:
        return self.difference if self.state is InvoiceState.over_billed else Decimal(0)

    @property
    def disputed(self) -> bool:
        return self.state is InvoiceState.over_billed


def reconcile(invoice: Invoice, batches: tuple[Batch, ...]) -> Reconciliation:
    """Compare an invoice with its batches' frozen costs (see the module docstring)."""
    value = sum((accepted_value(b) for b in batches), Decimal(0))
    units = sum(accepted_count(b) for b in batches)
    difference = (invoice.amount - value).quantize(CENT)
    if any(BatchStatus(b.status) in PENDING for b in batches):
        state = InvoiceState.awaiting_decision
    elif difference > 0:
        state = InvoiceState.over_billed
    elif difference < 0:
        state = InvoiceState.under_billed
    else:
        state = InvoiceState.matched
    return Reconciliation(invoice, batches, units, value, state)


def _billed_batches(contract: Contract, spec: InvoiceSpec, *, session: Session) -> list[Batch]:
    batches = live_batches(contract.id, session=session)
    if spec.batches and (spec.period_start or spec.period_end):
        raise InputError(
            "an invoice bills the batches it names or those of a period, not both",
            field="period_start",
        )
    if spec.batches:
        repeated = sorted({ref for ref in spec.batches if spec.batches.count(ref) > 1})
        if repeated:
            raise InputError(f"batch {repeated[0]!r} is named twice", field="batches")
        by_ref = {b.ref: b for b in batches}
        unknown = [ref for ref in spec.batches if ref not in by_ref]
        if unknown:
            raise InputError(
                f"contract {contract.title!r} has no batch {unknown[0]!r}; expected one of "
                f"{', '.join(by_ref) or 'none yet'}",
                field="batches",
            )
        return [by_ref[ref] for ref in spec.batches]
    if spec.period_start is None or spec.period_end is None:
        raise InputError(
            "an invoice names the batches it bills (by ref) or a delivery period (start and end)",
            field="batches",
        )
    if spec.period_end < spec.period_start:
        raise InputError(
            f"the period ends on {spec.period_end}, before it starts on {spec.period_start}",
            field="period_end",
        )
    chosen = [b for b in batches if spec.period_start <= b.delivered_on <= spec.period_end]
    if not chosen:
        raise InputError(
            f"no batch of contract {contract.title!r} was delivered from {spec.period_start} "
            f"to {spec.period_end}",
            field="period",
        )
    return chosen


def add_invoice(
    contract_id: int,
    data: InvoiceSpec | dict[str, object],
    *,
    session: Session,
    as_of: date | None = None,
) -> Invoice:
    """Record an invoice; the same number twice for one vendor, or a batch billed twice, is
    refused."""
    spec = data if isinstance(data, InvoiceSpec) else validate(InvoiceSpec, data, "invoice")
    contract = lock_contract(contract_id, session=session, vendor=True)  # no batch billed twice
    currency = spec.currency or contract.currency
    if currency != contract.currency:
        raise InputError(
            f"the invoice is in {currency}, the contract in {contract.currency}; expected an "
            "invoice in the contract's currency",
            field="currency",
        )
    as_of = as_of or today()
    if not contract.start_date <= spec.issued_on <= as_of:
        raise InputError(
            f"issued on {spec.issued_on}; expected a day from the contract's start "
            f"({contract.start_date}) to the as-of date ({as_of})",
            field="issued_on",
        )
    if spec.paid_on is not None:
        _check_paid_on(spec.paid_on, spec.issued_on, as_of)
    same_number = session.exec(
        select(Invoice)
        .join(Contract, col(Contract.id) == col(Invoice.contract_id))
        .where(
            Contract.vendor_id == contract.vendor_id,
            func.lower(Invoice.number) == spec.number.lower(),
            col(Invoice.voided_at).is_(None),
        )
    ).first()
    if same_number is not None:
        raise InputError(
            f"invoice {spec.number!r} of this vendor is already recorded (invoice "
            f"{same_number.id}, issued on {same_number.issued_on})",
            field="number",
        )
    batches = _billed_batches(contract, spec, session=session)
    billed = billed_by(batches, session=session)
    if billed:
        ref, number = next(iter(billed.items()))
        raise InputError(f"batch {ref!r} is already billed by invoice {number!r}", field="batches")
    invoice = Invoice(
        contract_id=contract_id,
        number=spec.number,
        issued_on=spec.issued_on,
        units=spec.units,
        amount=spec.amount,
        currency=currency,
        period_start=spec.period_start,
        period_end=spec.period_end,
        paid_on=spec.paid_on,
        notes=spec.notes,
        recorded_by=local_user(),
    )
    session.add(invoice)
    session.flush()
    for batch in batches:
        session.add(InvoiceBatch(invoice_id=invoice.id or 0, batch_id=batch.id or 0))
    record_event(
        "create",
        "invoice",
        invoice.id,
        f"{spec.number}: {spec.amount} {currency} for {spec.units} units",
        session=session,
    )
    session.flush()
    return invoice


def billed_by(batches: list[Batch], *, session: Session) -> dict[str, str]:
    """Which of ``batches`` a live invoice already bills: batch ref -> invoice number."""
    ids = {b.id: b.ref for b in batches}
    rows = session.exec(
        select(InvoiceBatch.batch_id, Invoice.number)
        .join(Invoice, col(Invoice.id) == col(InvoiceBatch.invoice_id))
        .where(col(InvoiceBatch.batch_id).in_(list(ids)), col(Invoice.voided_at).is_(None))
    ).all()
    return {ids[batch_id]: number for batch_id, number in rows}


def get_invoice(invoice_id: int, *, session: Session) -> Invoice:
    invoice = session.get(Invoice, invoice_id)
    if invoice is None:
        raise NotFoundError(f"no invoice with id {invoice_id}")
    return invoice


def void_invoice(invoice_id: int, *, reason: str, session: Session) -> Invoice:
    """Take an invoice recorded by mistake out of every figure, keeping it with its reason."""
    invoice = get_invoice(invoice_id, session=session)
    kept = withdraw(invoice, reason, what=f"invoice {invoice.number!r}", noun="an invoice")
    session.add(invoice)
    record_event("void", "invoice", invoice.id, kept, session=session)
    return invoice


def _check_paid_on(paid_on: date, issued_on: date, as_of: date) -> None:
    if not issued_on <= paid_on <= as_of:
        raise InputError(
            f"paid on {paid_on}; expected a day from the invoice's date ({issued_on}) to the "
            f"as-of date ({as_of})",
            field="paid_on",
        )


def mark_paid(
    invoice_id: int, paid_on: date, *, session: Session, as_of: date | None = None
) -> Invoice:
    invoice = get_invoice(invoice_id, session=session)
    if invoice.voided_at is not None:
        raise InputError(f"invoice {invoice.number!r} is voided")
    if invoice.paid_on is not None:
        raise InputError(f"invoice {invoice.number!r} was already paid on {invoice.paid_on}")
    _check_paid_on(paid_on, invoice.issued_on, as_of or today())
    invoice.paid_on = paid_on
    session.add(invoice)
    record_event("paid", "invoice", invoice.id, str(paid_on), session=session)
    return invoice


def reconciliations(
    contract_ids: list[int | None], as_of: date, *, session: Session
) -> dict[int, list[Reconciliation]]:
    """Every live invoice of the contracts issued by ``as_of``, reconciled, by contract id
    (oldest first)."""
    invoices = session.exec(
        select(Invoice)
        .where(
            col(Invoice.contract_id).in_(contract_ids),
            col(Invoice.voided_at).is_(None),
            Invoice.issued_on <= as_of,
        )
        .order_by(col(Invoice.issued_on), col(Invoice.id))
    ).all()
    links = session.exec(
        select(InvoiceBatch, Batch)
        .join(Batch, col(Batch.id) == col(InvoiceBatch.batch_id))
        .where(col(InvoiceBatch.invoice_id).in_([i.id for i in invoices]))
        .order_by(col(Batch.delivered_on), col(Batch.id))
    ).all()
    result: dict[int, list[Reconciliation]] = {}
    for invoice in invoices:
        billed = tuple(batch for link, batch in links if link.invoice_id == invoice.id)
        result.setdefault(invoice.contract_id, []).append(reconcile(invoice, billed))
    return result
