"""Label files in the label store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from procure.cli._common import (
    JsonFlag,
    YesFlag,
    _confirm,
    _print_json,
    _session,
    _settings,
    _table,
    app,
)
from procure.errors import InputError
from procure.kinds import Adapter, LabelSource

labels_app = typer.Typer(
    help="Label files in the label store: vendor batches, LLM runs, gold sets."
)
app.add_typer(labels_app, name="labels")


@labels_app.command("import")
def labels_import(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Argument(help="Label file: CSV, TSV, JSON Lines, JSON or Parquet (gzip ok).")
    ],
    task_type: Annotated[str, typer.Option(help="Task type key; labels must be in its label set.")],
    batch: Annotated[
        int | None, typer.Option(help="Vendor labels: the id of the delivered batch.")
    ] = None,
    llm_model: Annotated[
        str | None, typer.Option(help="LLM labels: the model that produced them.")
    ] = None,
    provider: Annotated[str, typer.Option(help="LLM provider, e.g. openai.")] = "",
    prompt_version: Annotated[str, typer.Option(help="LLM prompt version.")] = "",
    currency: Annotated[str, typer.Option(help="Currency of the file's cost column.")] = "USD",
    gold: Annotated[bool, typer.Option("--gold", help="Gold or reviewed labels.")] = False,
    name: Annotated[str | None, typer.Option(help="A name for the label set.")] = None,
    adapter: Annotated[
        Adapter | None,
        typer.Option(help="The file is an annotation tool's export: label-studio or labelbox."),
    ] = None,
    field: Annotated[
        str | None,
        typer.Option(
            help="With --adapter: the field that holds the labels (from_name / classification)."
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Import even if this file was imported before.")
    ] = False,
) -> None:
    """Import labels into the store (exactly one of --batch, --llm-model, --gold); all or nothing."""
    from procure.labels import LlmRunSpec, import_labels

    chosen = [
        option
        for option, given in (
            ("--batch", batch is not None),
            ("--llm-model", llm_model),
            ("--gold", gold),
        )
        if given
    ]
    if len(chosen) != 1:
        raise InputError(
            f"give exactly one of --batch, --llm-model, --gold (got {', '.join(chosen) or 'none'})"
        )
    source = (
        LabelSource.vendor
        if batch is not None
        else LabelSource.llm
        if llm_model
        else LabelSource.gold
    )
    llm = LlmRunSpec(llm_model, provider, prompt_version, currency) if llm_model else None
    settings = _settings(ctx)
    with _session(ctx) as session:
        label_set = import_labels(
            settings.label_store,
            file,
            source=source,
            task_type_key=task_type,
            batch_id=batch,
            name=name,
            llm=llm,
            force=force,
            adapter=adapter,
            field=field,
            session=session,
        )
        typer.echo(
            f"label set {label_set.id} ({label_set.name}): {label_set.rows:,} labels, "
            f"{label_set.items:,} items, {label_set.annotators} annotators"
        )


@labels_app.command("list")
def labels_list(
    ctx: typer.Context,
    as_json: JsonFlag = False,
    retired: Annotated[bool, typer.Option(help="Include retired label sets.")] = False,
) -> None:
    """List the label sets in the store."""
    from procure.labels import label_sets

    with _session(ctx, read_only=True) as session:
        sets = label_sets(session=session, with_retired=retired)
    if as_json:
        _print_json({"label_sets": [s.model_dump(mode="json") for s in sets]})
        return
    rows = [
        (
            s.id,
            s.source,
            s.name,
            s.rows,
            s.items,
            s.annotators,
            s.filename,
            "-" if s.retired_at is None else f"retired: {s.retire_reason}",
        )
        for s in sets
    ]
    _table(rows, ["id", "source", "name", "labels", "items", "annotators", "file", "state"])


@labels_app.command("retire")
def labels_retire(
    ctx: typer.Context,
    label_set_id: int,
    reason: Annotated[str, typer.Option(help="Why the label set is retired (required).")],
    yes: YesFlag = False,
) -> None:
    """Retire a label set (a stray LLM run, labels attached to the wrong batch): it drops out of
    every figure; its file and record stay."""
    from procure.labels import retire_label_set

    with _session(ctx) as session:
        _confirm(f"Retire label set {label_set_id}?", yes)
        label_set = retire_label_set(label_set_id, reason=reason, session=session)
        typer.echo(f"label set {label_set.id} ({label_set.name}) retired")
