"""What the command modules share: the root app, common options and the workspace they open."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from procure.results import to_json

if TYPE_CHECKING:
    from sqlmodel import Session

    from procure.config import Settings
    from procure.records import Workspace

app = typer.Typer(
    name="procure",
    help="Contracts, deliveries, label quality and the economics of buying AI training data.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


class DocumentFormat(StrEnum):
    yaml = "yaml"
    json = "json"


JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
AsOf = Annotated[
    datetime | None,
    typer.Option(formats=["%Y-%m-%d"], help="Report as of this date (default: today)."),
]
YesFlag = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask to confirm.")]
ContractFilter = Annotated[
    list[int] | None, typer.Option("--contract", "-c", help="Only this contract id (repeatable).")
]


@app.callback()
def _workspace(
    ctx: typer.Context,
    home: Annotated[
        Path | None,
        typer.Option(help="Workspace folder (default: $PROCURE_HOME or ./procure_data)."),
    ] = None,
) -> None:
    ctx.obj = home  # Settings are built by the commands that need the workspace


def _settings(ctx: typer.Context) -> Settings:
    from procure.config import Settings

    return Settings(home=ctx.obj) if ctx.obj else Settings()


@contextmanager
def _opened(ctx: typer.Context, *, create: bool = False) -> Iterator[Workspace]:
    from procure.records import open_workspace

    workspace = open_workspace(_settings(ctx), create=create)
    try:
        yield workspace
    finally:
        workspace.engine.dispose()


@contextmanager
def _session(
    ctx: typer.Context, *, create: bool = False, read_only: bool = False
) -> Iterator[Session]:
    """A unit of work on the workspace; a command that only reports passes ``read_only`` and
    neither waits for nor holds up writers."""
    from procure.db import session_scope

    with (
        _opened(ctx, create=create) as workspace,
        session_scope(workspace.engine, read_only=read_only) as session,
    ):
        yield session


def _print_json(payload: Any) -> None:
    typer.echo(json.dumps(to_json(payload), indent=2, default=str))


def _table(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> None:
    cells = [[str(c) for c in header], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for n, row in enumerate(cells):
        typer.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
        if n == 0:
            typer.echo("  ".join("-" * width for width in widths))


def _today(as_of: datetime | None) -> date:
    from procure.config import today

    return as_of.date() if as_of else today()


def _amount(amount: Decimal | str) -> str:
    """Four significant figures for the terminal; exact values are in --json."""
    value = Decimal(amount)
    if value == value.to_integral_value():
        return f"{value:,.0f}"
    return f"{value:,.{max(0, 3 - value.adjusted())}f}"


def _money(amount: Decimal, places: int = 2) -> str:
    """Money on the terminal: grouped, to ``places`` decimals (half-even); --json has every digit."""
    from procure.money import format_amount

    return format_amount(amount, places)


def _confirm(question: str, yes: bool) -> None:
    """Ask before a destructive action (``--yes`` skips); without a yes, nothing is done."""
    from procure.errors import InputError

    try:
        confirmed = yes or typer.confirm(question, default=False)
    except typer.Abort:  # no answer (no terminal)
        confirmed = False
    if not confirmed:
        raise InputError("not confirmed, nothing was changed (pass --yes to confirm)")
