"""Deliveries and spend as of a date."""

from __future__ import annotations

import typer

from procure.cli._common import (
    AsOf,
    ContractFilter,
    JsonFlag,
    _print_json,
    _session,
    _table,
    _today,
    app,
)


@app.command()
def deliveries(
    ctx: typer.Context,
    contract: ContractFilter = None,
    as_of: AsOf = None,
    as_json: JsonFlag = False,
) -> None:
    """Planned vs delivered vs accepted by week; late, short and missing batches."""
    from procure.delivery import build_report, deliveries_payload

    with _session(ctx) as session:
        report = build_report(_today(as_of), contract, session=session)
    if as_json:
        _print_json(deliveries_payload(report))
        return
    for r in report.contracts:
        c = r.contract
        typer.echo(f"\n#{c.id} {r.label} ({c.status}, {c.start_date} to {c.end_date})")
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
    """Spend (accepted units at effective prices) against budget, with the projection."""
    from procure.delivery import build_report, spend_payload

    with _session(ctx) as session:
        report = build_report(_today(as_of), contract, session=session)
    if as_json:
        _print_json(spend_payload(report))
        return
    rows = [
        (
            r.contract.id,
            r.label,
            r.spend.currency,
            *(
                f"{amount:,.2f}"  # cents on the terminal; every digit in --json
                for amount in (r.spend.budget, r.spend.spent, r.spend.pending, r.spend.projected)
            ),
            "-" if r.spend.spent_share is None else f"{r.spend.spent_share:.0%}",
        )
        for r in report.contracts
    ]
    _table(rows, ["id", "contract", "cur", "budget", "spent", "pending", "projected", "spent %"])
    totals = report.totals
    if totals:
        typer.echo(
            f"\nTotal in {report.currency}: budget {totals.budget:,.2f}, spent {totals.spent:,.2f}, "
            f"pending {totals.pending:,.2f}, projected {totals.projected:,.2f}"
        )
    else:
        typer.echo(f"\nNo total: missing exchange rates for {', '.join(report.missing_rates)}")
