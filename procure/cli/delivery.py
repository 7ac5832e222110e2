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
        payload = deliveries_payload(build_report(_today(as_of), contract, session=session))
    if as_json:
        _print_json(payload)
        return
    for c in payload["contracts"]:
        typer.echo(
            f"\n#{c['id']} {c['vendor']}: {c['title']} ({c['status']}, {c['start_date']} to {c['end_date']})"
        )
        typer.echo(
            f"planned {c['planned']:,}  due so far {c['planned_due']:,}  delivered {c['delivered']:,}  accepted {c['accepted']:,}"
        )
        rows = [
            (
                r["week"],
                r["task_type"],
                r["due_date"],
                r["planned"],
                r["delivered"],
                r["accepted"],
                r["days_late"],
                r["short_by"],
                r["state"],
            )
            for r in c["schedule"]
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
    if payload["alerts"]:
        typer.echo("\nAlerts:")
        for alert in payload["alerts"]:
            typer.echo(f"  [{alert['severity']}] {alert['message']}")


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
        payload = spend_payload(build_report(_today(as_of), contract, session=session))
    if as_json:
        _print_json(payload)
        return
    rows = [
        (
            c["id"],
            f"{c['vendor']}: {c['title']}",
            c["currency"],
            c["budget"],
            c["spent"],
            c["pending"],
            c["projected"],
            f"{c['spent_share']:.0%}" if c["spent_share"] is not None else "-",
        )
        for c in payload["contracts"]
    ]
    _table(rows, ["id", "contract", "cur", "budget", "spent", "pending", "projected", "spent %"])
    totals = payload["totals"]
    if totals:
        typer.echo(
            f"\nTotal in {payload['reporting_currency']}: budget {totals['budget']}, spent {totals['spent']}, pending {totals['pending']}, projected {totals['projected']}"
        )
    else:
        typer.echo(
            f"\nNo total: missing exchange rates for {', '.join(payload['missing_exchange_rates'])}"
        )
