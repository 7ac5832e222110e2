"""Delivered batches."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from procure.cli._common import (
    ContractFilter,
    JsonFlag,
    _print_json,
    _session,
    _table,
    _today,
    app,
)
from procure.kinds import BatchStatus

batch_app = typer.Typer(help="Delivered batches and their review status.")
app.add_typer(batch_app, name="batch")


@batch_app.command("add")
def batch_add(
    ctx: typer.Context,
    contract_id: Annotated[int, typer.Argument(help="Contract id (see `procure contract list`).")],
    task_type: Annotated[str, typer.Option(help="Task type key.")],
    week: Annotated[int, typer.Option(help="Schedule week the batch is for (1 = first week).")],
    quantity: Annotated[int, typer.Option(help="Units delivered.")],
    delivered_on: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Delivery date (default: today).")
    ] = None,
    status: BatchStatus = BatchStatus.received,
    accepted_quantity: Annotated[
        int | None, typer.Option(help="For partially_accepted batches.")
    ] = None,
    ref: Annotated[
        str | None, typer.Option(help="The vendor's batch id (default: generated).")
    ] = None,
    notes: str = "",
) -> None:
    """Record a delivered batch."""
    from procure.records import record_batch

    spec = {
        "ref": ref,
        "task_type": task_type,
        "week": week,
        "delivered_on": _today(delivered_on),
        "quantity": quantity,
        "status": status,
        "accepted_quantity": accepted_quantity,
        "notes": notes,
    }
    with _session(ctx) as session:
        batch = record_batch(contract_id, spec, session=session)
        typer.echo(
            f"batch {batch.id} ({batch.ref}) recorded: {batch.quantity} units, {batch.status}"
        )


@batch_app.command("status")
def batch_status(
    ctx: typer.Context,
    batch_id: int,
    status: BatchStatus,
    accepted_quantity: Annotated[int | None, typer.Option(help="For partially_accepted.")] = None,
    notes: Annotated[str | None, typer.Option(help="Replace the batch notes.")] = None,
) -> None:
    """Set a batch's review status: received, in_review, accepted, rejected, partially_accepted."""
    from procure.records import set_batch_status

    with _session(ctx) as session:
        batch = set_batch_status(
            batch_id, status, accepted_quantity=accepted_quantity, notes=notes, session=session
        )
        typer.echo(f"batch {batch.id} ({batch.ref}): {batch.status}")


@batch_app.command("list")
def batch_list(
    ctx: typer.Context, contract: ContractFilter = None, as_json: JsonFlag = False
) -> None:
    """List batches with their effective unit prices."""
    from procure.delivery import build_report, spend_payload

    with _session(ctx) as session:
        report = build_report(_today(None), contract, session=session)
    if as_json:
        payload = spend_payload(report)
        batches = [
            {"contract_id": c["id"], **b} for c in payload["contracts"] for b in c["batches"]
        ]
        _print_json({"batches": batches})
        return
    rows = [
        (
            batch.id,
            batch.contract_id,
            batch.ref,
            r.task_types[batch.task_type_id].key,
            batch.week,
            batch.delivered_on,
            batch.quantity,
            batch.status,
            "-" if cost.effective_unit_price is None else cost.effective_unit_price,
        )
        for r in report.contracts
        for batch, cost in zip(r.batches, r.batch_costs, strict=True)
    ]
    _table(
        rows,
        [
            "id",
            "contract",
            "ref",
            "task type",
            "week",
            "delivered",
            "units",
            "status",
            "unit price",
        ],
    )
