"""Delivered batches."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from procure.cli._common import (
    ContractFilter,
    JsonFlag,
    YesFlag,
    _confirm,
    _money,
    _opened,
    _print_json,
    _session,
    _table,
    _today,
    app,
)
from procure.db import session_scope
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
    reason: Annotated[
        str, typer.Option(help="Why; required to re-decide a batch that was already decided.")
    ] = "",
    note: Annotated[str, typer.Option(help="A note kept with the decision.")] = "",
) -> None:
    """Decide a batch (accepted, rejected, partially_accepted) or reopen it (received, in_review).

    The decision freezes the batch's price and is kept in its history with the acceptance
    evidence at the time (reviewed items, errors, interval, rule).
    """
    from procure.quality import batch_evidence
    from procure.records import decide_batch
    from procure.results import to_json

    with _opened(ctx) as workspace, session_scope(workspace.engine) as session:
        evidence = batch_evidence(workspace.settings.label_store, batch_id, session=session)
        batch = decide_batch(
            batch_id,
            status,
            accepted_quantity=accepted_quantity,
            reason=reason,
            note=note,
            evidence=to_json(evidence),
            session=session,
        )
        cost = (
            ""
            if batch.priced_cost is None
            else f", {_money(batch.priced_cost)} {batch.priced_currency}"
        )
        typer.echo(f"batch {batch.id} ({batch.ref}): {batch.status}{cost}")


@batch_app.command("edit")
def batch_edit(
    ctx: typer.Context,
    batch_id: int,
    reason: Annotated[str, typer.Option(help="Why the batch is corrected (required).")],
    ref: Annotated[str | None, typer.Option(help="The vendor's batch id.")] = None,
    week: Annotated[int | None, typer.Option(help="Schedule week.")] = None,
    delivered_on: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Delivery date.")
    ] = None,
    quantity: Annotated[
        int | None, typer.Option(help="Units delivered (only while undecided).")
    ] = None,
    notes: Annotated[str | None, typer.Option(help="Replace the batch's notes.")] = None,
) -> None:
    """Correct a batch's ref, week, delivery date, quantity or notes; kept in its history."""
    from procure.records import BatchEdit, edit_batch

    edit = BatchEdit(
        ref=ref,
        week=week,
        delivered_on=delivered_on.date() if delivered_on else None,
        quantity=quantity,
        notes=notes,
    )
    with _session(ctx) as session:
        batch = edit_batch(batch_id, edit, reason=reason, session=session)
        typer.echo(f"batch {batch.id} ({batch.ref}) corrected")


@batch_app.command("void")
def batch_void(
    ctx: typer.Context,
    batch_id: int,
    reason: Annotated[str, typer.Option(help="Why the batch is voided (required).")],
    yes: YesFlag = False,
) -> None:
    """Void a batch recorded by mistake: it drops out of every figure and stays in the history."""
    from procure.records import void_batch

    with _session(ctx) as session:
        _confirm(f"Void batch {batch_id}?", yes)
        batch = void_batch(batch_id, reason=reason, session=session)
        typer.echo(f"batch {batch.id} ({batch.ref}) voided")


@batch_app.command("history")
def batch_history(ctx: typer.Context, batch_id: int, as_json: JsonFlag = False) -> None:
    """Everything that happened to a batch: recorded, decided, re-decided, edited, voided."""
    from procure.records import batch_history as history

    with _session(ctx, read_only=True) as session:
        events = history(batch_id, session=session)
    if as_json:
        _print_json({"batch_id": batch_id, "events": [e.model_dump(mode="json") for e in events]})
        return
    rows = [
        (
            f"{e.at:%Y-%m-%d %H:%M}",
            e.actor,
            e.kind,
            _change(e.before, e.after),
            e.reason or "-",
            e.note or "-",
        )
        for e in events
    ]
    _table(rows, ["when (UTC)", "who", "what", "change", "reason", "note"])


def _change(before: dict[str, object], after: dict[str, object]) -> str:
    keys = [k for k in after if before.get(k) != after.get(k)]
    return ", ".join(
        f"{k} {before[k]} -> {after[k]}" if k in before else f"{k} {after[k]}" for k in keys
    )


@batch_app.command("list")
def batch_list(
    ctx: typer.Context, contract: ContractFilter = None, as_json: JsonFlag = False
) -> None:
    """List batches with their cost and effective unit prices (frozen once decided)."""
    from procure.delivery import build_report, spend_payload

    with _session(ctx, read_only=True) as session:
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
            _money(cost.cost),
            "-" if cost.effective_unit_price is None else _money(cost.effective_unit_price, 4),
            r.contract.currency,
            "frozen" if batch.is_frozen else "pending",
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
            "cost",
            "unit price",
            "cur",
            "price",
        ],
    )
