"""Vendors' invoices, reconciled against the accepted units at their frozen prices."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

from procure.cli._common import (
    AsOf,
    ContractFilter,
    JsonFlag,
    YesFlag,
    _confirm,
    _money,
    _print_json,
    _session,
    _table,
    _today,
    app,
)
from procure.errors import InputError

if TYPE_CHECKING:
    from procure.records import Reconciliation

invoice_app = typer.Typer(help="Vendors' invoices and their reconciliation.")
app.add_typer(invoice_app, name="invoice")


@invoice_app.command("add")
def invoice_add(
    ctx: typer.Context,
    contract_id: Annotated[int, typer.Argument(help="Contract id (see `procure contract list`).")],
    number: Annotated[str, typer.Option(help="The vendor's invoice number.")],
    units: Annotated[int, typer.Option(help="Units billed.")],
    amount: Annotated[str, typer.Option(help="Amount billed, a decimal number.")],
    issued_on: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="Invoice date (default: today)."),
    ] = None,
    batch: Annotated[
        list[str] | None, typer.Option("--batch", "-b", help="Ref of a billed batch (repeatable).")
    ] = None,
    period_start: Annotated[
        datetime | None,
        typer.Option("--from", formats=["%Y-%m-%d"], help="Bills the batches delivered from..."),
    ] = None,
    period_end: Annotated[
        datetime | None, typer.Option("--to", formats=["%Y-%m-%d"], help="...to this day.")
    ] = None,
    currency: Annotated[
        str | None, typer.Option(help="The invoice's currency (default: the contract's).")
    ] = None,
    paid_on: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="When it was paid.")
    ] = None,
    notes: str = "",
) -> None:
    """Record an invoice for some batches (by ref) or a delivery period, and reconcile it."""
    from procure.delivery import build_report
    from procure.records import add_invoice

    spec = {
        "number": number,
        "issued_on": _today(issued_on),
        "units": units,
        "amount": amount,
        "currency": currency,
        "batches": batch or [],
        "period_start": period_start.date() if period_start else None,
        "period_end": period_end.date() if period_end else None,
        "paid_on": paid_on.date() if paid_on else None,
        "notes": notes,
    }
    with _session(ctx) as session:
        invoice = add_invoice(contract_id, spec, session=session)
        report = build_report(_today(None), [contract_id], session=session)
    [contract] = report.contracts
    reconciled = next(r for r in contract.invoices if r.invoice.id == invoice.id)
    typer.echo(
        f"invoice {invoice.id} ({invoice.number}) recorded: {_money(invoice.amount)} "
        f"{invoice.currency} for {invoice.units:,} units; {_verdict(reconciled)}"
    )


def _verdict(reconciled: Reconciliation) -> str:
    from procure.records import InvoiceState

    state, difference = reconciled.state, reconciled.difference
    if state in (InvoiceState.matched, InvoiceState.awaiting_decision):
        return state.value
    return f"{state.value} by {_money(abs(difference))}"


@invoice_app.command("list")
def invoice_list(
    ctx: typer.Context,
    contract: ContractFilter = None,
    as_of: AsOf = None,
    as_json: JsonFlag = False,
) -> None:
    """Invoices with their reconciliation: matched, over-billed, under-billed, credit due."""
    from procure.delivery import build_report, invoices_payload

    with _session(ctx, read_only=True) as session:
        report = build_report(_today(as_of), contract, session=session)
    if as_json:
        _print_json(invoices_payload(report))
        return
    rows = [
        (
            rec.invoice.id,
            r.contract.id,
            rec.invoice.number,
            rec.invoice.issued_on,
            rec.invoice.units,
            _money(rec.invoice.amount),
            _money(rec.accepted_value),
            _money(rec.difference),
            _money(rec.credit_due),
            rec.invoice.currency,
            rec.state.value,
            "-" if rec.invoice.paid_on is None else rec.invoice.paid_on,
        )
        for r in report.contracts
        for rec in r.invoices
    ]
    _table(
        rows,
        [
            "id",
            "contract",
            "number",
            "issued",
            "units",
            "billed",
            "accepted",
            "difference",
            "credit due",
            "cur",
            "state",
            "paid",
        ],
    )


@invoice_app.command("reconcile")
def invoice_reconcile(
    ctx: typer.Context,
    invoice_id: int,
    as_json: JsonFlag = False,
) -> None:
    """One invoice against its batches: each batch's accepted units and frozen cost."""
    from procure.delivery import build_report, invoices_payload
    from procure.records import get_invoice

    with _session(ctx) as session:
        invoice = get_invoice(invoice_id, session=session)
        if invoice.voided_at is not None:
            raise InputError(
                f"invoice {invoice.number!r} was voided ({invoice.void_reason}); nothing to "
                "reconcile"
            )
        report = build_report(
            max(_today(None), invoice.issued_on), [invoice.contract_id], session=session
        )
    [contract] = report.contracts
    if as_json:
        [row] = [i for i in invoices_payload(report)["invoices"] if i["id"] == invoice_id]
        _print_json(row)
        return
    rec = next(r for r in contract.invoices if r.invoice.id == invoice_id)
    cur = rec.invoice.currency
    typer.echo(
        f"invoice {rec.invoice.number} of {contract.label}, issued {rec.invoice.issued_on}: "
        f"{_money(rec.invoice.amount)} {cur} for {rec.invoice.units:,} units"
    )
    _table(
        [
            (
                b.ref,
                b.status,
                b.quantity,
                "-" if b.priced_cost is None else _money(b.priced_cost),
            )
            for b in rec.batches
        ],
        ["batch", "status", "units", f"accepted value ({cur})"],
    )
    typer.echo(
        f"accepted {rec.accepted_units:,} units worth {_money(rec.accepted_value)} {cur}; "
        f"{_verdict(rec)}; rejected units billed "
        f"{rec.rejected_units_billed:,}; credit due {_money(rec.credit_due)} {cur}"
    )


@invoice_app.command("void")
def invoice_void(
    ctx: typer.Context,
    invoice_id: int,
    reason: Annotated[str, typer.Option(help="Why the invoice is voided (required).")],
    yes: YesFlag = False,
) -> None:
    """Void an invoice recorded by mistake (kept with its reason; out of every figure)."""
    from procure.records import void_invoice

    with _session(ctx) as session:
        _confirm(f"Void invoice {invoice_id}?", yes)
        invoice = void_invoice(invoice_id, reason=reason, session=session)
        typer.echo(f"invoice {invoice.id} ({invoice.number}) voided")


@invoice_app.command("paid")
def invoice_paid(
    ctx: typer.Context,
    invoice_id: int,
    on: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Payment date (default: today).")
    ] = None,
) -> None:
    """Record that an invoice was paid."""
    from procure.records import mark_paid

    with _session(ctx) as session:
        invoice = mark_paid(invoice_id, _today(on), session=session)
        typer.echo(f"invoice {invoice.id} ({invoice.number}) paid on {invoice.paid_on}")
