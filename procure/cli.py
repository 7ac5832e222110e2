"""The ``procure`` command line. Exit codes: 0 success, 2 bad input or usage, 1 internal error.

Commands with ``--json`` print one JSON object on stdout and nothing else there.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from procure.errors import InputError, ProcureError
from procure.kinds import BatchStatus, LabelKind, LabelSource, Level, VendorKind
from procure.labels.adapters import Adapter

if TYPE_CHECKING:
    from sqlmodel import Session

    from procure.config import Settings
    from procure.records.workspace import Workspace

app = typer.Typer(
    name="procure",
    help="Contracts, deliveries, label quality and the economics of buying AI training data.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
vendor_app = typer.Typer(
    help="Vendors: managed workforces, platforms, marketplaces, in-house teams."
)
task_type_app = typer.Typer(help="Task types: what is bought, its unit and its labels.")
contract_app = typer.Typer(help="Contracts with price lines and schedules, as YAML or JSON.")
batch_app = typer.Typer(help="Delivered batches and their review status.")
fx_app = typer.Typer(help="The reporting currency and exchange rates used to add currencies.")
labels_app = typer.Typer(
    help="Label files in the label store: vendor batches, LLM runs, gold sets."
)
review_app = typer.Typer(
    help="The disagreement queue and reviewers' verdicts, which count as gold."
)
acceptance_app = typer.Typer(help="Acceptance rules and the evidence for accepting a batch.")
llm_price_app = typer.Typer(help="The dated LLM price table: prices per million tokens.")
llm_app = typer.Typer(help="Label items with an LLM (any OpenAI-compatible endpoint).")
prompt_app = typer.Typer(help="Prompt templates per task type, versioned.")
llm_app.add_typer(prompt_app, name="prompt")
app.add_typer(vendor_app, name="vendor")
app.add_typer(task_type_app, name="task-type")
app.add_typer(contract_app, name="contract")
app.add_typer(batch_app, name="batch")
app.add_typer(fx_app, name="fx")
app.add_typer(labels_app, name="labels")
app.add_typer(review_app, name="review")
app.add_typer(acceptance_app, name="acceptance")
app.add_typer(llm_price_app, name="llm-price")
app.add_typer(llm_app, name="llm")


class DocumentFormat(StrEnum):
    yaml = "yaml"
    json = "json"


JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
AsOf = Annotated[
    datetime | None,
    typer.Option(formats=["%Y-%m-%d"], help="Report as of this date (default: today)."),
]
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
    from procure.records.workspace import open_workspace

    workspace = open_workspace(_settings(ctx), create=create)
    try:
        yield workspace
    finally:
        workspace.engine.dispose()


@contextmanager
def _session(ctx: typer.Context, *, create: bool = False) -> Iterator[Session]:
    from procure.db import session_scope

    with _opened(ctx, create=create) as workspace, session_scope(workspace.engine) as session:
        yield session


def _print_json(payload: Any) -> None:
    typer.echo(json.dumps(payload, indent=2, default=str))


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


# --- workspace -------------------------------------------------------------------------------


@app.command()
def init(
    ctx: typer.Context,
    with_sample: Annotated[
        bool, typer.Option(help="Load the sample workspace if the workspace is new.")
    ] = False,
    today: AsOf = None,
) -> None:
    """Create the workspace (or upgrade its schema); safe to run again."""
    from procure.records.workspace import workspace_exists
    from procure.sample.loader import load_sample

    settings = _settings(ctx)
    new = not workspace_exists(settings)
    with _session(ctx, create=True) as session:
        summary = (
            load_sample(session, _today(today), settings.label_store)
            if new and with_sample
            else None
        )
    state = "created" if new else "up to date"
    typer.echo(f"workspace {state}: {settings.home.resolve()} ({settings.database_label})")
    if summary:
        typer.echo(f"sample workspace loaded: {summary}")


@app.command()
def sample(ctx: typer.Context, today: AsOf = None) -> None:
    """Load the demo workspace, its dates moved into the current week (idempotent)."""
    from procure.sample.loader import load_sample

    with _session(ctx, create=True) as session:
        summary = load_sample(session, _today(today), _settings(ctx).label_store)
    typer.echo(
        f"sample workspace loaded: {summary}" if summary else "sample workspace already loaded"
    )


# --- vendors and task types ------------------------------------------------------------------


@vendor_app.command("add")
def vendor_add(
    ctx: typer.Context,
    name: str,
    kind: Annotated[VendorKind, typer.Option(help="What sort of vendor.")],
    contact: str = "",
    notes: str = "",
) -> None:
    """Add a vendor."""
    from procure.records.catalog import save_vendor

    with _session(ctx) as session:
        vendor = save_vendor(
            session, {"name": name, "kind": kind, "contact": contact, "notes": notes}
        )
        typer.echo(f"vendor {vendor.id}: {vendor.name}")


@vendor_app.command("list")
def vendor_list(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List vendors."""
    from procure.records.catalog import list_vendors

    with _session(ctx) as session:
        vendors = [v.model_dump() for v in list_vendors(session)]
    if as_json:
        _print_json({"vendors": vendors})
    else:
        _table(
            [(v["id"], v["name"], v["kind"], v["contact"]) for v in vendors],
            ["id", "name", "kind", "contact"],
        )


@task_type_app.command("add")
def task_type_add(
    ctx: typer.Context,
    key: str,
    name: Annotated[str, typer.Option(help="Display name, e.g. 'Preference pair'.")],
    unit: Annotated[str, typer.Option(help="What one unit is, e.g. 'preference pair'.")],
    label_kind: Annotated[LabelKind, typer.Option(help="categorical, ordinal or rating.")],
    labels: Annotated[
        str, typer.Option(help="Allowed labels, comma-separated, in order for ordinal.")
    ] = "",
) -> None:
    """Add a task type."""
    from procure.records.catalog import save_task_type

    spec = {
        "key": key,
        "name": name,
        "unit": unit,
        "label_kind": label_kind,
        "labels": labels.split(","),
    }
    with _session(ctx) as session:
        task_type = save_task_type(session, spec)
        typer.echo(f"task type {task_type.id}: {task_type.key}")


@task_type_app.command("list")
def task_type_list(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List task types."""
    from procure.records.catalog import list_task_types

    with _session(ctx) as session:
        types = [t.model_dump() for t in list_task_types(session)]
    if as_json:
        _print_json({"task_types": types})
    else:
        rows = [
            (t["key"], t["name"], t["unit"], t["label_kind"], ", ".join(t["labels"])) for t in types
        ]
        _table(rows, ["key", "name", "unit", "label kind", "labels"])


# --- contracts -------------------------------------------------------------------------------


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
    from procure.records.transfer import import_document

    try:
        content = file.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror}", source=str(file)) from None
    with _session(ctx) as session:
        summary = import_document(session, content, file.name, force=force)
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
    from procure.records.transfer import export_document

    with _session(ctx) as session:
        text = export_document(session, contract, with_batches=with_batches, fmt=fmt.value)
    if output:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {output}")
    else:
        typer.echo(text, nl=False)


@contract_app.command("list")
def contract_list(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List contracts."""
    from procure.records.catalog import list_vendors
    from procure.records.contracts import list_contracts

    with _session(ctx) as session:
        names = {v.id: v.name for v in list_vendors(session)}
        contracts = [
            {**c.model_dump(mode="json"), "vendor": names[c.vendor_id]}
            for c in list_contracts(session)
        ]
    if as_json:
        _print_json({"contracts": contracts})
    else:
        rows = [
            (
                c["id"],
                c["vendor"],
                c["title"],
                c["status"],
                c["start_date"],
                c["end_date"],
                f"{c['committed_budget']} {c['currency']}",
            )
            for c in contracts
        ]
        _table(rows, ["id", "vendor", "title", "status", "start", "end", "budget"])


# --- batches ---------------------------------------------------------------------------------


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
    from procure.records.batches import record_batch

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
        batch = record_batch(session, contract_id, spec)
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
    from procure.records.batches import set_batch_status

    with _session(ctx) as session:
        batch = set_batch_status(
            session, batch_id, status, accepted_quantity=accepted_quantity, notes=notes
        )
        typer.echo(f"batch {batch.id} ({batch.ref}): {batch.status}")


@batch_app.command("list")
def batch_list(
    ctx: typer.Context, contract: ContractFilter = None, as_json: JsonFlag = False
) -> None:
    """List batches with their effective unit prices."""
    from procure.delivery.report import build_report, spend_payload

    with _session(ctx) as session:
        payload = spend_payload(build_report(session, _today(None), contract))
    batches = [{"contract_id": c["id"], **b} for c in payload["contracts"] for b in c["batches"]]
    if as_json:
        _print_json({"batches": batches})
        return
    rows = [
        (
            b["id"],
            b["contract_id"],
            b["ref"],
            b["task_type"],
            b["week"],
            b["delivered_on"],
            b["quantity"],
            b["status"],
            b["effective_unit_price"] or "-",
        )
        for b in batches
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


# --- exchange rates --------------------------------------------------------------------------


@fx_app.command("set")
def fx_set(
    ctx: typer.Context,
    currency: str,
    rate: Annotated[
        str, typer.Argument(help="Units of the reporting currency per unit of CURRENCY.")
    ],
    as_of: AsOf = None,
) -> None:
    """Set the exchange rate of a currency into the reporting currency."""
    from procure.records.workspace import set_exchange_rate

    with _session(ctx) as session:
        row = set_exchange_rate(session, currency, rate, _today(as_of))
        typer.echo(f"1 {row.currency} = {row.rate} (as of {row.as_of})")


@fx_app.command("reporting")
def fx_reporting(ctx: typer.Context, currency: str) -> None:
    """Set the reporting currency that totals are converted to."""
    from procure.records.workspace import set_reporting_currency

    with _session(ctx) as session:
        typer.echo(f"reporting currency: {set_reporting_currency(session, currency)}")


@fx_app.command("list")
def fx_list(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Show the reporting currency and the exchange rates."""
    from procure.records.workspace import exchange_rates, reporting_currency

    with _session(ctx) as session:
        base = reporting_currency(session)
        rates = [
            {"currency": r.currency, "rate": str(r.rate), "as_of": r.as_of.isoformat()}
            for r in exchange_rates(session)
        ]
    if as_json:
        _print_json({"reporting_currency": base, "rates": rates})
    else:
        typer.echo(f"reporting currency: {base}")
        _table(
            [(r["currency"], r["rate"], r["as_of"]) for r in rates],
            ["currency", f"rate ({base})", "as of"],
        )


# --- labels ----------------------------------------------------------------------------------


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
    from procure.labels.store import LlmRunSpec, import_labels

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
            session,
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
        )
        typer.echo(
            f"label set {label_set.id} ({label_set.name}): {label_set.rows:,} labels, "
            f"{label_set.items:,} items, {label_set.annotators} annotators"
        )


@labels_app.command("list")
def labels_list(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List the label sets in the store."""
    from procure.labels.store import label_sets

    with _session(ctx) as session:
        sets = [s.model_dump(mode="json") for s in label_sets(session)]
    if as_json:
        _print_json({"label_sets": sets})
        return
    rows = [
        (s["id"], s["source"], s["name"], s["rows"], s["items"], s["annotators"], s["filename"])
        for s in sets
    ]
    _table(rows, ["id", "source", "name", "labels", "items", "annotators", "file"])


@app.command()
def quality(
    ctx: typer.Context,
    task_type: Annotated[str, typer.Option(help="Task type key.")],
    batch: Annotated[
        list[int] | None, typer.Option(help="Only these batches' vendor labels (repeatable).")
    ] = None,
    llm_run: Annotated[
        int | None, typer.Option(help="The LLM label set to compare with (default: newest).")
    ] = None,
    dawid_skene: Annotated[
        bool,
        typer.Option(
            "--dawid-skene", help="Also estimate each annotator's reliability without gold."
        ),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Vendor consensus vs LLM vs gold, the vendor's own agreement, annotators and weeks."""
    from procure.quality.report import dawid_skene_report, quality_report, select_labels

    settings = _settings(ctx)
    with _session(ctx) as session:
        selection = select_labels(session, task_type, batch_ids=batch, llm_set_id=llm_run)
        report = quality_report(session, settings.label_store, selection)
        if dawid_skene:
            report["dawid_skene"] = dawid_skene_report(session, settings.label_store, selection)
    if as_json:
        _print_json(report)
        return

    def show(value: object) -> str:
        return "-" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)

    human = report["human"]
    if human:
        typer.echo(
            f"vendor annotators (human ceiling): {human['items']:,} items, agreement {show(human['percent_agreement'])}, "
            f"alpha {show(human['krippendorff_alpha'])}, AC1 {show(human['gwet_ac1'])}"
        )
    for name, pair in report["pairs"].items():
        ci = pair["cohen_kappa_ci95"]
        typer.echo(
            f"{name.replace('_', ' ')}: {pair['items']:,} items, agreement {show(pair['percent_agreement'])}, "
            f"kappa {show(pair['cohen_kappa'])}"
            + (f" [{show(ci[0])}, {show(ci[1])}]" if ci else "")
            + f", AC1 {show(pair['gwet_ac1'])}"
        )
    for week in report["weeks"]:
        typer.echo(
            f"  week {week['week']}: vendor vs LLM agreement {show(week['percent_agreement'])}, kappa {show(week['cohen_kappa'])} ({week['items']:,} items)"
        )
    estimate = report.get("dawid_skene")
    if estimate:
        typer.echo(
            f"Dawid-Skene ({estimate['iterations']} iterations): estimated annotator accuracy"
        )
        for annotator in estimate["annotators"]:
            typer.echo(f"  {annotator['annotator']}: {annotator['estimated_accuracy']:.3f}")
        gold = estimate["against_gold"]
        if gold:
            typer.echo(
                f"  against gold ({gold['items']} items): Dawid-Skene labels {show(gold['dawid_skene'])}, majority {show(gold['majority'])}"
            )
    if not report["pairs"] and not human:
        typer.echo("no labels imported for this selection yet (procure labels import)")


@review_app.command("queue")
def review_queue(
    ctx: typer.Context,
    task_type: Annotated[str, typer.Option(help="Task type key.")],
    batch: Annotated[
        list[int] | None, typer.Option(help="Only these batches (repeatable).")
    ] = None,
    limit: Annotated[int, typer.Option(help="How many items at most.")] = 50,
    as_json: JsonFlag = False,
) -> None:
    """Items where the vendor consensus and the LLM differ, most confident LLM first."""
    from procure.quality.report import disagreement_queue, select_labels

    settings = _settings(ctx)
    with _session(ctx) as session:
        queue = disagreement_queue(
            session, settings.label_store, select_labels(session, task_type, batch_ids=batch), limit
        )
    if as_json:
        _print_json({"items": queue})
        return
    rows = [
        (
            q["item_id"],
            q["vendor_votes"],
            q["llm_label"],
            "-" if q["llm_confidence"] is None else f"{q['llm_confidence']:.2f}",
            (q["text"] or "")[:60],
        )
        for q in queue
    ]
    _table(rows, ["item", "vendor votes", "LLM", "confidence", "text"])


@review_app.command("add")
def review_add(
    ctx: typer.Context,
    item_id: str,
    label: str,
    task_type: Annotated[str, typer.Option(help="Task type key.")],
    reviewer: str = "",
    note: str = "",
) -> None:
    """Record the correct label of an item; it counts as gold in every figure."""
    from procure.quality.report import add_review

    with _session(ctx) as session:
        review = add_review(session, task_type, item_id, label, reviewer=reviewer, note=note)
        typer.echo(f"review {review.id}: item {review.item_id} is {review.label}")


@acceptance_app.command("rule")
def acceptance_rule(
    ctx: typer.Context,
    contract_id: int,
    task_type: Annotated[str, typer.Option(help="Task type key.")],
    max_error_rate: Annotated[str, typer.Option(help="Largest acceptable error rate, e.g. 0.05.")],
    min_reviewed: Annotated[int, typer.Option(help="Reviewed items needed before deciding.")] = 30,
) -> None:
    """Set a contract's acceptance rule for a task type."""
    from procure.quality.report import set_rule

    with _session(ctx) as session:
        rule = set_rule(
            session,
            contract_id,
            task_type,
            max_error_rate=max_error_rate,
            min_reviewed=min_reviewed,
        )
        typer.echo(
            f"accept when the 95% upper bound of the error rate is at most {rule.max_error_rate} ({rule.min_reviewed} reviewed items)"
        )


@acceptance_app.command("check")
def acceptance_check(ctx: typer.Context, batch_id: int, as_json: JsonFlag = False) -> None:
    """The evidence for a batch (reviewed items, error rate and interval) and the recommendation."""
    from procure.quality.report import batch_evidence

    settings = _settings(ctx)
    with _session(ctx) as session:
        evidence = batch_evidence(session, settings.label_store, batch_id)
    if as_json:
        _print_json(evidence)
    else:
        typer.echo(f"batch {evidence['ref']}: {evidence['recommendation']}. {evidence['reason']}")


# --- reports ---------------------------------------------------------------------------------


@app.command()
def deliveries(
    ctx: typer.Context,
    contract: ContractFilter = None,
    as_of: AsOf = None,
    as_json: JsonFlag = False,
) -> None:
    """Planned vs delivered vs accepted by week; late, short and missing batches."""
    from procure.delivery.report import build_report, deliveries_payload

    with _session(ctx) as session:
        payload = deliveries_payload(build_report(session, _today(as_of), contract))
    if as_json:
        _print_json(payload)
        return
    for c in payload["contracts"]:
        typer.echo(
            f"\n#{c['id']} {c['vendor']}: {c['title']} ({c['status']}, {c['start_date']} to {c['end_date']})"
        )
        typer.echo(
            f"planned {c['planned']:,}  due so far {c['planned_due']:,}  delivered {c['delivered']:,}  accepted {c['accepted']:,}"
        )
        rows = [
            (
                r["week"],
                r["task_type"],
                r["due_date"],
                r["planned"],
                r["delivered"],
                r["accepted"],
                r["days_late"],
                r["short_by"],
                r["state"],
            )
            for r in c["schedule"]
        ]
        _table(
            rows,
            [
                "week",
                "task type",
                "due",
                "planned",
                "delivered",
                "accepted",
                "days late",
                "short by",
                "state",
            ],
        )
    if payload["alerts"]:
        typer.echo("\nAlerts:")
        for alert in payload["alerts"]:
            typer.echo(f"  [{alert['severity']}] {alert['message']}")


@app.command()
def spend(
    ctx: typer.Context,
    contract: ContractFilter = None,
    as_of: AsOf = None,
    as_json: JsonFlag = False,
) -> None:
    """Spend (accepted units at effective prices) against budget, with the projection."""
    from procure.delivery.report import build_report, spend_payload

    with _session(ctx) as session:
        payload = spend_payload(build_report(session, _today(as_of), contract))
    if as_json:
        _print_json(payload)
        return
    rows = [
        (
            c["id"],
            f"{c['vendor']}: {c['title']}",
            c["currency"],
            c["budget"],
            c["spent"],
            c["pending"],
            c["projected"],
            f"{c['spent_share']:.0%}" if c["spent_share"] is not None else "-",
        )
        for c in payload["contracts"]
    ]
    _table(rows, ["id", "contract", "cur", "budget", "spent", "pending", "projected", "spent %"])
    totals = payload["totals"]
    if totals:
        typer.echo(
            f"\nTotal in {payload['reporting_currency']}: budget {totals['budget']}, spent {totals['spent']}, pending {totals['pending']}, projected {totals['projected']}"
        )
    else:
        typer.echo(
            f"\nNo total: missing exchange rates for {', '.join(payload['missing_exchange_rates'])}"
        )


@app.command()
def agreement(
    file: Annotated[
        Path, typer.Argument(help="A label file (CSV, TSV, JSON Lines, JSON, Parquet; gzip ok).")
    ],
    against: Annotated[
        Path | None, typer.Option(help="Compare FILE's per-item consensus with this file's.")
    ] = None,
    level: Annotated[
        Level, typer.Option(help="Measurement level for Krippendorff's alpha.")
    ] = Level.nominal,
    labels: Annotated[
        str | None,
        typer.Option(
            help="Label order, comma-separated (ordinal data); numbers sort numerically otherwise."
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Agreement among FILE's annotators and, with --against, between two files. No workspace needed."""
    from procure.quality.files import file_agreement

    order = [label.strip() for label in labels.split(",") if label.strip()] if labels else None
    report = file_agreement(file, against, level=level, labels=order)
    if as_json:
        _print_json(report)
        return
    typer.echo(_agreement_text(report))


def _agreement_text(report: dict[str, Any]) -> str:
    def show(value: object) -> str:
        return "-" if value is None else f"{value:.4f}" if isinstance(value, float) else str(value)

    lines = [
        f"{report['items']:,} items, {report['annotators']} annotators, {report['ratings']:,} labels ({report['level']})",
        f"percent agreement   {show(report['percent_agreement'])}",
        f"Krippendorff alpha  {show(report['krippendorff_alpha'])}"
        + (
            f"  95% CI {show(report['krippendorff_alpha_ci95'][0])} to {show(report['krippendorff_alpha_ci95'][1])}"
            if report["krippendorff_alpha_ci95"]
            else ""
        ),
        f"Fleiss kappa        {show(report['fleiss_kappa'])}",
        f"Gwet AC1            {show(report['gwet_ac1'])}",
        f"Cohen kappa         {show(report['cohen_kappa'])}",
    ]
    other = report.get("against")
    if other:
        ci = other["cohen_kappa_ci95"]
        lines += [
            "",
            f"against: {other['items']:,} items in both",
            f"percent agreement   {show(other['percent_agreement'])}",
            f"Cohen kappa         {show(other['cohen_kappa'])}"
            + (f"  95% CI {show(ci[0])} to {show(ci[1])}" if ci else ""),
            f"weighted kappa      {show(other['weighted_kappa'])}",
            f"Gwet AC1            {show(other['gwet_ac1'])}",
            "confusion (rows FILE, columns --against):",
        ]
        names = other["confusion"]["labels"]
        width = (
            max(
                len(str(n))
                for n in [*names, *(c for row in other["confusion"]["counts"] for c in row)]
            )
            + 2
        )
        lines.append(" " * width + "".join(str(n).rjust(width) for n in names))
        for name, row in zip(names, other["confusion"]["counts"], strict=True):
            lines.append(str(name).rjust(width) + "".join(str(c).rjust(width) for c in row))
    return "\n".join(lines)


# --- economics -------------------------------------------------------------------------------


@app.command()
def economics(
    ctx: typer.Context,
    scenario: Annotated[
        Path | None,
        typer.Option(help="A scenario file (YAML or JSON); see the README for its fields."),
    ] = None,
    task_type: Annotated[
        str | None,
        typer.Option(help="Build the scenario from this task type's measured workspace figures."),
    ] = None,
    volume: Annotated[
        int | None, typer.Option(min=1, help="Labels wanted (overrides the scenario's volume).")
    ] = None,
    save_scenario: Annotated[
        Path | None,
        typer.Option(
            help="Write the scenario used (YAML, or JSON by extension) to edit and re-run."
        ),
    ] = None,
    as_of: AsOf = None,
    as_json: JsonFlag = False,
) -> None:
    """What a correct label costs from each vendor, LLM and hybrid: per label, per accepted and
    per correct label, totals, validation set, break-even, uncertainty bands."""
    from procure.economics import scenario as ec

    if (scenario is None) == (task_type is None):
        raise InputError("give either --scenario FILE or --task-type KEY")
    inputs: list[Any] = []
    if scenario is not None:
        if not scenario.is_file():
            raise InputError("no such file", source=str(scenario))
        model = ec.read_scenario(scenario.read_bytes(), str(scenario))
    else:
        from procure.economics.measured import measured_scenario

        with _session(ctx) as session:
            measured = measured_scenario(
                session, _settings(ctx).label_store, task_type or "", _today(as_of)
            )
        model, inputs = measured.scenario, measured.inputs
    if volume is not None:
        model = model.model_copy(update={"volume": volume})
    if save_scenario is not None:
        fmt = "json" if save_scenario.suffix.lower() == ".json" else "yaml"
        save_scenario.write_text(ec.scenario_text(model, fmt), encoding="utf-8")
    report = ec.report(model)
    report["inputs"] = [
        {"input": i.input, "value": i.value, "measured": i.measured, "note": i.note} for i in inputs
    ]
    if as_json:
        _print_json(report)
        return
    currency = report["currency"]
    _table(
        [
            (
                s["name"],
                f"{float(s['accuracy']):.1%}" + ("*" if s["accuracy_estimated"] else ""),
                _amount(s["cost_per_label"]),
                _amount(s["cost_per_accepted_label"]),
                _amount(s["all_in_cost_per_correct_label"]),
                _amount(s["all_in_cost"]),
                "-" if s["break_even_volume"] is None else f"{s['break_even_volume']:,}",
            )
            for s in report["strategies"]
        ],
        [
            "strategy",
            "accuracy",
            f"per label ({currency})",
            "per accepted",
            "per correct (all-in)",
            "all-in total",
            "break-even volume",
        ],
    )
    typer.echo("* estimated from the parts (see README: Economics)")
    typer.echo(report["summary"])
    for i in inputs:
        kind = "measured" if i.measured else "ASSUMED "
        typer.echo(f"  {kind} {i.input} = {_amount(i.value)}: {i.note}")


def _amount(text: str) -> str:
    """Four significant figures for the terminal; exact values are in --json."""
    from decimal import Decimal

    value = Decimal(text)
    if value == value.to_integral_value():
        return f"{value:,.0f}"
    return f"{value:,.{max(0, 3 - value.adjusted())}f}"


@llm_price_app.command("set")
def llm_price_set(
    ctx: typer.Context,
    model: str,
    price_in: Annotated[str, typer.Option("--in", help="Price per million input tokens.")],
    price_out: Annotated[str, typer.Option("--out", help="Price per million output tokens.")],
    currency: Annotated[str, typer.Option(help="Currency of the prices.")] = "USD",
    batch_discount: Annotated[
        str, typer.Option(help="Share off with the provider's batch API, 0-1.")
    ] = "0",
    provider: Annotated[str, typer.Option(help="Provider, for reference.")] = "",
    source: Annotated[str, typer.Option(help="Where the price was read.")] = "",
    read_on: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="The date the price was read (default: today)."),
    ] = None,
) -> None:
    """Add or update a model's price in the dated price table."""
    from procure.records.llm_prices import save_price

    with _session(ctx) as session:
        row = save_price(
            session,
            {
                "model": model,
                "provider": provider,
                "currency": currency,
                "price_in_per_mtok": price_in,
                "price_out_per_mtok": price_out,
                "batch_discount": batch_discount,
                "read_on": _today(read_on),
                "source": source,
            },
        )
        typer.echo(
            f"{row.model}: {row.price_in_per_mtok} in / {row.price_out_per_mtok} out "
            f"{row.currency} per 1M tokens (read on {row.read_on})"
        )


@llm_price_app.command("list")
def llm_price_list(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Show the price table."""
    from procure.records.llm_prices import list_prices

    with _session(ctx) as session:
        rows = [p.model_dump(mode="json", exclude={"id"}) for p in list_prices(session)]
    if as_json:
        _print_json({"prices": rows})
        return
    _table(
        [
            (
                r["model"],
                r["provider"],
                r["price_in_per_mtok"],
                r["price_out_per_mtok"],
                r["currency"],
                r["batch_discount"],
                r["read_on"],
            )
            for r in rows
        ],
        ["model", "provider", "in / 1M", "out / 1M", "currency", "batch discount", "read on"],
    )


@llm_price_app.command("delete")
def llm_price_delete(ctx: typer.Context, model: str) -> None:
    """Remove a model from the price table."""
    from procure.records.llm_prices import delete_price

    with _session(ctx) as session:
        delete_price(session, model)
    typer.echo(f"removed {model}")


# --- LLM labelling ---------------------------------------------------------------------------

TaskTypeOption = Annotated[str, typer.Option(help="Task type key.")]
BatchOption = Annotated[
    int | None, typer.Option(help="Label this batch's items (its labels carry the item text).")
]
ItemsOption = Annotated[
    Path | None, typer.Option(help="Or label the items of this file (columns item_id, text).")
]
ModelOption = Annotated[
    str, typer.Option(help="Model name, as the endpoint and price table know it.")
]
PromptOption = Annotated[
    str | None, typer.Option(help="Prompt version (default: the newest, or the built-in default).")
]
MaxOutputOption = Annotated[
    int, typer.Option(min=1, help="Most tokens an answer may use (bounds the worst-case cost).")
]


@prompt_app.command("add")
def llm_prompt_add(
    ctx: typer.Context,
    task_type: TaskTypeOption,
    version: Annotated[str, typer.Option(help="A new version name, e.g. v2.")],
    instructions: Annotated[str | None, typer.Option(help="What the LLM should judge.")] = None,
    instructions_file: Annotated[
        Path | None, typer.Option(help="Or read the instructions from this file.")
    ] = None,
    few_shot: Annotated[
        int, typer.Option(min=0, help="Examples drawn from gold items with text.")
    ] = 0,
) -> None:
    """Add a prompt version for a task type (the allowed labels are always appended)."""
    from procure.llm.jobs import save_template

    if (instructions is None) == (instructions_file is None):
        raise InputError("give either --instructions or --instructions-file")
    text = instructions if instructions is not None else _read_text(instructions_file)
    with _session(ctx) as session:
        row = save_template(session, task_type, version, text, few_shot)
        typer.echo(f"prompt {row.version} saved for {task_type}")


def _read_text(path: Path | None) -> str:
    assert path is not None
    if not path.is_file():
        raise InputError("no such file", source=str(path))
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", source=str(path)) from None


@prompt_app.command("list")
def llm_prompt_list(
    ctx: typer.Context, task_type: TaskTypeOption, as_json: JsonFlag = False
) -> None:
    """A task type's prompt versions."""
    from procure.llm.jobs import task_type_of, templates

    with _session(ctx) as session:
        rows: list[dict[str, Any]] = [
            {"version": t.version, "few_shot": t.few_shot, "instructions": t.instructions}
            for t in templates(session, task_type_of(session, task_type))
        ]
    if as_json:
        _print_json({"task_type": task_type, "prompts": rows})
        return
    _table(
        [(r["version"], r["few_shot"], r["instructions"][:70]) for r in rows],
        ["version", "few-shot", "instructions"],
    )


@llm_app.command("estimate")
def llm_estimate(
    ctx: typer.Context,
    task_type: TaskTypeOption,
    model: ModelOption,
    batch: BatchOption = None,
    items: ItemsOption = None,
    prompt_version: PromptOption = None,
    max_output_tokens: MaxOutputOption = 50,
    as_json: JsonFlag = False,
) -> None:
    """Estimated tokens and cost of labelling the items once, from the dated price table."""
    from procure.llm import jobs as llm

    settings = _settings(ctx)
    with _session(ctx) as session:
        source = llm.job_source(session, settings.label_store, batch_id=batch, items_file=items)
        kind = llm.task_type_of(session, task_type)
        prompt = llm.build_prompt(
            session, settings.label_store, kind, llm.template(session, kind, prompt_version)
        )
        figures = llm.estimate(
            prompt, source.items, llm.model_price(session, model), max_output_tokens
        )
    payload = {
        "items": figures.items,
        "estimated_input_tokens": figures.input_tokens,
        "estimated_output_tokens": figures.output_tokens,
        "estimated_cost": str(figures.cost),
        "worst_case_cost": str(figures.worst_case),
        "currency": figures.currency,
        "price_read_on": figures.price_read_on,
        "prompt_version": prompt.version,
    }
    if as_json:
        _print_json(payload)
        return
    typer.echo(
        f"{figures.items:,} items, about {figures.input_tokens:,} input and {figures.output_tokens:,} "
        f"output tokens (estimated: ~4 characters per token): about {_amount(str(figures.cost))} "
        f"{figures.currency}, at most {_amount(str(figures.worst_case))} (prices read on {figures.price_read_on})"
    )


@llm_app.command("run")
def llm_run(
    ctx: typer.Context,
    task_type: TaskTypeOption,
    model: ModelOption,
    batch: BatchOption = None,
    items: ItemsOption = None,
    prompt_version: PromptOption = None,
    base_url: Annotated[
        str,
        typer.Option(
            help="An OpenAI-compatible endpoint, e.g. http://localhost:11434/v1 (default: OpenAI)."
        ),
    ] = "",
    provider: Annotated[str, typer.Option(help="Provider name recorded with the run.")] = "",
    api_key_env: Annotated[
        str, typer.Option(help="Environment variable holding the API key (never stored).")
    ] = "OPENAI_API_KEY",
    concurrency: Annotated[int, typer.Option(min=1, help="Requests at a time.")] = 4,
    budget: Annotated[
        str | None, typer.Option(help="Stop before the job's spend would exceed this amount.")
    ] = None,
    max_retries: Annotated[int, typer.Option(min=0, help="Retries on 429, 5xx and timeouts.")] = 4,
    timeout: Annotated[float, typer.Option(min=0.01, help="Seconds per request.")] = 60.0,
    temperature: Annotated[float, typer.Option(min=0.0, max=2.0)] = 0.0,
    max_output_tokens: MaxOutputOption = 50,
    structured: Annotated[
        bool,
        typer.Option(
            "--structured-output/--no-structured-output", help="Ask for a JSON schema answer."
        ),
    ] = True,
    as_json: JsonFlag = False,
) -> None:
    """Label a batch (or an items file) with an LLM; resumes an unfinished run of the same
    items, model, prompt and endpoint; stores the labels as an LLM run when every item is answered."""
    import os
    from decimal import Decimal, InvalidOperation

    from procure.db import session_scope
    from procure.llm import jobs as llm

    settings = _settings(ctx)
    api_key = os.environ.get(api_key_env, "")
    if not base_url and not api_key:
        raise InputError(
            f"set {api_key_env} to your OpenAI API key, or give --base-url for a local server"
        )
    try:
        cap = Decimal(budget) if budget is not None else None
    except InvalidOperation:
        raise InputError(f"expected a decimal amount, got {budget!r}", field="budget") from None
    options = llm.RunOptions(
        model=model,
        base_url=base_url,
        api_key=api_key,
        concurrency=concurrency,
        budget=cap,
        max_retries=max_retries,
        timeout=timeout,
        temperature=temperature,
        max_output_tokens=max_output_tokens,
        structured=structured,
    )
    with _opened(ctx) as workspace:
        with session_scope(workspace.engine) as session:
            source = llm.job_source(session, settings.label_store, batch_id=batch, items_file=items)
            job, prompt, figures = llm.prepare_job(
                session, settings.label_store, task_type, source, options, prompt_version, provider
            )
            job_id = job.id or 0
        if not as_json:
            typer.echo(
                f"job {job_id}: {len(source.items):,} items, estimated {_amount(str(figures.cost))} {figures.currency} "
                "(press Ctrl-C to stop; run the same command again to resume)",
                err=True,
            )
        with typer.progressbar(length=len(source.items), label="labelling", file=sys.stderr) as bar:
            shown = 0

            def progress(row: Any) -> None:
                nonlocal shown
                answered = row.done + row.invalid
                bar.update(answered - shown)
                shown = answered

            result = llm.run_job(
                workspace.engine,
                settings.label_store,
                settings.llm_jobs,
                job_id,
                prompt,
                source.items,
                options,
                progress=None if as_json else progress,
            )
    payload = _job_payload(result)
    if as_json:
        _print_json(payload)
        return
    typer.echo(
        f"job {job_id} {result.status}: {result.done:,} labelled, {result.invalid:,} invalid, "
        f"{result.failed:,} failed, {result.retries:,} retries; {result.input_tokens:,} + {result.output_tokens:,} tokens, "
        f"{_amount(str(result.spent))} {result.currency} (estimated {_amount(str(result.estimated_cost))}). {result.message}"
    )


def _job_payload(job: Any) -> dict[str, Any]:
    data: dict[str, Any] = job.model_dump(mode="json")
    data["estimate_difference"] = str(job.spent - job.estimated_cost)
    return data


@llm_app.command("jobs")
def llm_jobs(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """LLM labelling jobs: progress, tokens, cost against the estimate."""
    from procure.llm.jobs import list_jobs

    with _session(ctx) as session:
        rows = [_job_payload(job) for job in list_jobs(session)]
    if as_json:
        _print_json({"jobs": rows})
        return
    _table(
        [
            (
                r["id"],
                r["model"],
                r["prompt_version"],
                r["status"],
                f"{r['done']}/{r['items']}",
                r["invalid"],
                r["failed"],
                r["spent"],
                r["estimated_cost"],
                r["label_set_id"] or "-",
            )
            for r in rows
        ],
        [
            "job",
            "model",
            "prompt",
            "status",
            "labelled",
            "invalid",
            "failed",
            "spent",
            "estimated",
            "LLM run",
        ],
    )


@llm_app.command("stop")
def llm_stop(ctx: typer.Context, job_id: int) -> None:
    """Ask a running job to stop (it finishes the requests in flight; resumable)."""
    from procure.llm.jobs import request_stop

    with _session(ctx) as session:
        job = request_stop(session, job_id)
        typer.echo(f"job {job_id}: {job.status}")


# --- entry point -----------------------------------------------------------------------------


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
