"""Contracts as workspace documents (YAML or JSON)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from procure.cli._common import (
    ContractFilter,
    DocumentFormat,
    JsonFlag,
    _print_json,
    _session,
    _table,
    app,
)
from procure.errors import InputError

contract_app = typer.Typer(help="Contracts with price lines and schedules, as YAML or JSON.")
app.add_typer(contract_app, name="contract")


@contract_app.command("import")
def contract_import(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A YAML or JSON workspace document.")],
    force: Annotated[
        bool, typer.Option(help="Import even if this file was imported before.")
    ] = False,
) -> None:
    """Import vendors, task types and contracts (price lines, schedule, batches) from a document.

    Matches by vendor name, task type key, contract vendor + title and batch ref; all or nothing.
    """
    from procure.records import import_document

    try:
        content = file.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror}", source=str(file)) from None
    with _session(ctx) as session:
        summary = import_document(content, file.name, force=force, session=session)
    typer.echo(f"imported {file}: {summary}")


@contract_app.command("export")
def contract_export(
    ctx: typer.Context,
    contract: ContractFilter = None,
    fmt: Annotated[
        DocumentFormat, typer.Option("--format", help="yaml or json.")
    ] = DocumentFormat.yaml,
    with_batches: Annotated[bool, typer.Option(help="Include delivered batches.")] = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
    ] = None,
) -> None:
    """Export contracts (default: the whole workspace) as a document that imports back."""
    from procure.records import export_document

    with _session(ctx) as session:
        text = export_document(contract, with_batches=with_batches, fmt=fmt.value, session=session)
    if output:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {output}")
    else:
        typer.echo(text, nl=False)


@contract_app.command("list")
def contract_list(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List contracts."""
    from procure.records import list_contracts, list_vendors

    with _session(ctx) as session:
        names = {v.id: v.name for v in list_vendors(session=session)}
        contracts = list_contracts(session=session)
    if as_json:
        _print_json(
            {
                "contracts": [
                    {**c.model_dump(mode="json"), "vendor": names[c.vendor_id]} for c in contracts
                ]
            }
        )
    else:
        rows = [
            (
                c.id,
                names[c.vendor_id],
                c.title,
                c.status,
                c.start_date,
                c.end_date,
                f"{c.committed_budget:,.2f} {c.currency}",
            )
            for c in contracts
        ]
        _table(rows, ["id", "vendor", "title", "status", "start", "end", "budget"])
