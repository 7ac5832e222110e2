"""Deliveries and spend as of a date."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import typer

from procure.cli._common import (
    AsOf,
    ContractFilter,
    JsonFlag,
    _money,
    _print_json,
    _session,
    _table,
    _today,
    app,
)

if TYPE_CHECKING:
    from procure.delivery import ContractReport


@app.command()
def deliveries(
    ctx: typer.Context,
    contract: ContractFilter = None,
    as_of: AsOf = None,
    as_json: JsonFlag = False,
) -> None:
    """Planned vs delivered vs accepted by week; late, short and missing batches."""
    from procure.delivery import build_report, deliveries_payload

    with _session(ctx, read_only=True) as session:
        report = build_report(_today(as_of), contract, session=session)
    if as_json:
        _print_json(deliveries_payload(report))
        return
    for r in report.contracts:
        c = r.contract
        typer.echo(f"\n#{c.id} {r.label} ({r.state.value}, {c.start_date} to {c.end_date})")
        typer.echo(
            f"planned {r.planned:,}  due so far {r.planned_due(report.as_of):,}  delivered {r.delivered:,}  accepted {r.accepted:,}"
        )
        rows = [
            (
                row.week,
                row.task_type,
                row.due_date,
                row.planned,
                row.delivered,
                row.accepted,
                row.days_late,
                row.short_by,
                row.state.value,
            )
            for row in r.rows
        ]
        _table(
            rows,
            [
                "week",
                "task type",
                "due",
                "planned",
                "delivered",
                "accepted",
                "days late",
                "short by",
                "state",
            ],
        )
    if report.alerts:
        typer.echo("\nAlerts:")
        for alert in report.alerts:
            typer.echo(f"  [{alert.severity.value}] {alert.message}")


@app.command()
def spend(
    ctx: typer.Context,
    contract: ContractFilter = None,
    as_of: AsOf = None,
    as_json: JsonFlag = False,
) -> None:
    """Spend (accepted units at their frozen prices) against budget, with the projection, what is
    invoiced, accrued (accepted, not invoiced) and the credit due."""
    from procure.delivery import build_report, spend_payload

    with _session(ctx, read_only=True) as session:
        report = build_report(_today(as_of), contract, session=session)
    if as_json:
        _print_json(spend_payload(report))
        return
    fields = ("budget", "spent", "pending", "projected", "invoiced", "accrued", "credit_due")
    rows = [
        (
            r.contract.id,
            r.label,
            r.state.value,
            r.spend.currency,
            *(_money(amount) for amount in _figures(r, fields)),
            "-" if r.spend.spent_share is None else f"{r.spend.spent_share:.0%}",
        )
        for r in report.contracts
    ]
    _table(
        rows,
        ["id", "contract", "state", "cur", *(f.replace("_", " ") for f in fields), "spent %"],
    )
    totals = report.totals
    if totals:
        typer.echo(
            f"\nTotal in {report.currency}: "
            + ", ".join(
                f"{name.replace('_', ' ')} {_money(getattr(totals, name))}" for name in fields
            )
        )
    else:
        typer.echo(f"\nNo total: missing exchange rates for {', '.join(report.missing_rates)}")


def _figures(report: ContractReport, fields: tuple[str, ...]) -> list[Decimal]:
    from procure.delivery import money_of

    money = money_of(report) | {"projected": report.spend.projected}
    return [money[name] for name in fields]
