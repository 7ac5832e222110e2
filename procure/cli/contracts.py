"""Contracts as workspace documents (YAML or JSON)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from procure.cli._common import (
    ContractFilter,
    DocumentFormat,
    JsonFlag,
    YesFlag,
    _confirm,
    _money,
    _print_json,
    _session,
    _table,
    app,
)
from procure.errors import InputError

contract_app = typer.Typer(help="Contracts with price lines and schedules, as YAML or JSON.")
app.add_typer(contract_app, name="contract")


def _read(file: Path) -> bytes:
    try:
        return file.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror}", source=str(file)) from None


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

    content = _read(file)
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

    with _session(ctx, read_only=True) as session:
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

    with _session(ctx, read_only=True) as session:
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
                f"{_money(c.committed_budget)} {c.currency}",
            )
            for c in contracts
        ]
        _table(rows, ["id", "vendor", "title", "status", "start", "end", "budget"])


@contract_app.command("amend")
def contract_amend(
    ctx: typer.Context,
    contract_id: Annotated[int, typer.Argument(help="Contract id (see `procure contract list`).")],
    file: Annotated[
        Path,
        typer.Argument(
            help="The contract's new terms: a document as `procure contract export -c ID` "
            "writes it, edited."
        ),
    ],
    effective: Annotated[
        datetime,
        typer.Option(formats=["%Y-%m-%d"], help="First day the new terms apply (required)."),
    ],
    reason: Annotated[str, typer.Option(help="Why the terms change (required).")],
) -> None:
    """Amend a contract's terms (price lines, tiers, discounts, budget, end date, quantities,
    schedule) from a date; units delivered before it keep the terms then in force."""
    from procure.documents import parse_file
    from procure.records import Amendment, contract_spec, get_contract, save_contract
    from procure.records.transfer import validate_document

    data, tree = parse_file(_read(file), file.name, "document")
    contracts = data.get("contracts") if isinstance(data, dict) else None
    for spec in contracts if isinstance(contracts, list) else []:
        if isinstance(spec, dict):
            spec.pop("versions", None)  # the history as exported; the new terms are what counts
    document, _ = validate_document(data, file.name, tree)
    with _session(ctx) as session:
        contract = get_contract(contract_id, session=session)
        if [c.title for c in document.contracts] != [contract.title]:
            raise InputError(
                f"expected the document to hold contract {contract.title!r} alone, as "
                f"`procure contract export -c {contract_id}` writes it",
                source=file.name,
            )
        stored = contract_spec(contract, session=session)
        [new] = document.contracts
        for name in ("vendor", "start_date", "currency", "status", "notes"):
            if getattr(new, name) != getattr(stored, name):
                raise InputError(
                    f"an amendment changes the terms only; {name} differs from the contract's "
                    "(change it with `procure contract import` or in the app)",
                    source=file.name,
                    field=f"contracts[0].{name}",
                )
        save_contract(
            new,
            contract_id=contract_id,
            amendment=Amendment(effective.date(), reason),
            source=file.name,
            session=session,
        )
        typer.echo(f"contract {contract_id} amended from {effective.date()}")


@contract_app.command("history")
def contract_history(ctx: typer.Context, contract_id: int, as_json: JsonFlag = False) -> None:
    """The contract's amendment timeline: each version, from when, why, by whom, what changed."""
    from procure.records import amendment_timeline, get_contract

    with _session(ctx, read_only=True) as session:
        get_contract(contract_id, session=session)
        timeline = amendment_timeline(contract_id, session=session)
    if as_json:
        _print_json({"contract_id": contract_id, "versions": timeline})
        return
    for version in timeline:
        typer.echo(
            f"version {version.number}, effective from {version.effective_from} "
            f"(recorded {version.recorded_at:%Y-%m-%d %H:%M} UTC by {version.author}): "
            f"{version.reason}"
        )
        for change in version.changes:
            typer.echo(f"  - {change}")


@contract_app.command("delete")
def contract_delete(ctx: typer.Context, contract_id: int, yes: YesFlag = False) -> None:
    """Delete a contract recorded by mistake (only before any batch is recorded against it)."""
    from procure.records import delete_contract

    with _session(ctx) as session:
        _confirm(f"Delete contract {contract_id}?", yes)
        delete_contract(contract_id, session=session)
        typer.echo(f"contract {contract_id} deleted")
