"""The ``procure`` command line. Exit codes: 0 success, 2 bad input or usage, 1 internal error.

Commands with ``--json`` print one JSON object on stdout and nothing else there.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

import typer

from procure.cli._common import app
from procure.errors import ProcureError

__all__ = ["COMMAND_MODULES", "commands", "main", "run"]

# Each command (or group) and the module that registers it on the root app (--help lists plain
# commands first, then groups, each in the order their modules load). A run imports only its
# command's module: typer turns every registered command into a click command before it runs
# one, which would cost every command the start-up of all 72.
COMMAND_MODULES = {
    "init": "workspace",
    "sample": "workspace",
    "vendor": "catalog",
    "task-type": "catalog",
    "contract": "contracts",
    "batch": "batches",
    "invoice": "invoices",
    "fx": "fx",
    "labels": "labels",
    "quality": "quality",
    "review": "quality",
    "acceptance": "quality",
    "agreement": "quality",
    "preferences": "quality",
    "deliveries": "delivery",
    "spend": "delivery",
    "economics": "economics",
    "llm-price": "llm",
    "llm": "llm",
}
HOME_OPTION = "--home"  # the root's one option with a value


def commands(names: Sequence[str] | None = None) -> typer.Typer:
    """The root app with these commands registered (every command without ``names``)."""
    wanted = [COMMAND_MODULES[name] for name in names] if names else COMMAND_MODULES.values()
    for module in dict.fromkeys(wanted):
        importlib.import_module(f"procure.cli.{module}")
    return app


def command_named(args: Sequence[str]) -> str | None:
    """The command ``args`` run, when it is one procure has; ``None`` for the root's help (also
    ``procure --help quality``) or a typo, which need every command.

    >>> command_named(["--home", "ws", "spend", "--json"]), command_named(["--help", "spend"])
    ('spend', None)
    """
    values = iter(args)
    for arg in values:
        if arg == HOME_OPTION:
            next(values, None)
        elif arg.startswith(f"{HOME_OPTION}="):
            continue
        elif arg.startswith("-"):
            return None  # an option of the root itself, such as --help
        else:
            return arg if arg in COMMAND_MODULES else None
    return None


def run(args: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code; the one place errors become messages."""
    arguments = list(sys.argv[1:] if args is None else args)
    command = command_named(arguments)
    cli = commands([command] if command else None)
    try:
        result = cli(args=arguments, standalone_mode=False)
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
