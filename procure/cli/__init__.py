"""The ``procure`` command line. Exit codes: 0 success, 2 bad input or usage, 1 internal error.

Commands with ``--json`` print one JSON object on stdout and nothing else there.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import typer

# Each module registers its commands on the root app, imported in the order --help lists them.
# isort: off
from procure.cli import workspace, catalog, contracts, batches, fx, labels
from procure.cli import quality, delivery, economics, llm

# isort: on
from procure.cli._common import app
from procure.errors import ProcureError

__all__ = ["app", "main", "run"]


def run(args: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code; the one place errors become messages."""
    try:
        result = app(args=list(args) if args is not None else None, standalone_mode=False)
    except typer.Exit as exc:
        return exc.exit_code
    except typer.TyperException as exc:  # usage errors: bad options and values
        if exc.format_message():
            typer.echo(f"procure: {exc.format_message()} (see --help)", err=True)
        return exc.exit_code
    except typer.Abort:
        typer.echo("aborted", err=True)
        return 1
    except ProcureError as exc:
        typer.echo(f"procure: {exc}", err=True)
        return 2
    return result if isinstance(result, int) else 0


def main() -> None:
    sys.exit(run())
