"""The workspace: create it, load the sample."""

from __future__ import annotations

from typing import Annotated

import typer

from procure.cli._common import (
    AsOf,
    _session,
    _settings,
    _today,
    app,
)


@app.command()
def init(
    ctx: typer.Context,
    with_sample: Annotated[
        bool, typer.Option(help="Load the sample workspace if the workspace is new.")
    ] = False,
    today: AsOf = None,
) -> None:
    """Create the workspace (or upgrade its schema); safe to run again."""
    from procure.records import is_empty, workspace_exists
    from procure.sample import load_sample

    settings = _settings(ctx)
    new = not workspace_exists(settings)
    with _session(ctx, create=True) as session:
        # An empty workspace counts as new: a sample load killed half way committed nothing, so
        # running the command again loads it.
        summary = (
            load_sample(_today(today), settings.label_store, session=session)
            if with_sample and (new or is_empty(session=session))
            else None
        )
    state = "created" if new else "up to date"
    typer.echo(f"workspace {state}: {settings.home.resolve()} ({settings.database_label})")
    if summary:
        typer.echo(f"sample workspace loaded: {summary}")


@app.command()
def sample(ctx: typer.Context, today: AsOf = None) -> None:
    """Load the demo workspace, its dates moved by whole weeks to end by today (idempotent)."""
    from procure.sample import load_sample

    with _session(ctx, create=True) as session:
        summary = load_sample(_today(today), _settings(ctx).label_store, session=session)
    typer.echo(
        f"sample workspace loaded: {summary}" if summary else "sample workspace already loaded"
    )
