"""Vendors and task types."""

from __future__ import annotations

from typing import Annotated

import typer

from procure.cli._common import (
    JsonFlag,
    _print_json,
    _session,
    _table,
    app,
)
from procure.kinds import LabelKind, VendorKind

vendor_app = typer.Typer(
    help="Vendors: managed workforces, platforms, marketplaces, in-house teams."
)
task_type_app = typer.Typer(help="Task types: what is bought, its unit and its labels.")
app.add_typer(vendor_app, name="vendor")
app.add_typer(task_type_app, name="task-type")


@vendor_app.command("add")
def vendor_add(
    ctx: typer.Context,
    name: str,
    kind: Annotated[VendorKind, typer.Option(help="What sort of vendor.")],
    contact: str = "",
    notes: str = "",
) -> None:
    """Add a vendor."""
    from procure.records import save_vendor

    with _session(ctx) as session:
        vendor = save_vendor(
            {"name": name, "kind": kind, "contact": contact, "notes": notes}, session=session
        )
        typer.echo(f"vendor {vendor.id}: {vendor.name}")


@vendor_app.command("list")
def vendor_list(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List vendors."""
    from procure.records import list_vendors

    with _session(ctx, read_only=True) as session:
        vendors = list_vendors(session=session)
    if as_json:
        _print_json({"vendors": [v.model_dump() for v in vendors]})
    else:
        _table(
            [(v.id, v.name, v.kind, v.contact) for v in vendors],
            ["id", "name", "kind", "contact"],
        )


@task_type_app.command("add")
def task_type_add(
    ctx: typer.Context,
    key: str,
    name: Annotated[str, typer.Option(help="Display name, e.g. 'Preference pair'.")],
    unit: Annotated[str, typer.Option(help="What one unit is, e.g. 'preference pair'.")],
    label_kind: Annotated[
        LabelKind,
        typer.Option(
            help="categorical, ordinal, rating or preference (labels A, B, optionally tie, both_bad)."
        ),
    ],
    labels: Annotated[
        str, typer.Option(help="Allowed labels, comma-separated, in order for ordinal.")
    ] = "",
) -> None:
    """Add a task type."""
    from procure.records import save_task_type

    spec = {
        "key": key,
        "name": name,
        "unit": unit,
        "label_kind": label_kind,
        "labels": labels.split(","),
    }
    with _session(ctx) as session:
        task_type = save_task_type(spec, session=session)
        typer.echo(f"task type {task_type.id}: {task_type.key}")


@task_type_app.command("tie-break")
def task_type_tie_break(
    ctx: typer.Context,
    key: str,
    labels: Annotated[
        list[str] | None,
        typer.Argument(help="Labels in tie-break order (first wins); none: leave ties out."),
    ] = None,
) -> None:
    """Set which label a tied consensus goes to, for every figure of this task type."""
    from procure.records import set_tie_break

    with _session(ctx) as session:
        task_type = set_tie_break(key, labels or [], session=session)
        typer.echo(
            f"task type {task_type.key}: "
            + (
                f"a tie goes to the first of {', '.join(task_type.tie_break)}"
                if task_type.tie_break
                else "ties are left out of the consensus comparisons"
            )
        )


@task_type_app.command("list")
def task_type_list(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List task types."""
    from procure.records import list_task_types

    with _session(ctx, read_only=True) as session:
        types = list_task_types(session=session)
    if as_json:
        _print_json({"task_types": [t.model_dump() for t in types]})
    else:
        rows = [(t.key, t.name, t.unit, t.label_kind, ", ".join(t.labels)) for t in types]
        _table(rows, ["key", "name", "unit", "label kind", "labels"])
