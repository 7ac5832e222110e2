"""LLM labelling: the price table, prompts, estimates and jobs."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from procure.cli._common import (
    AsOf,
    JsonFlag,
    _amount,
    _opened,
    _print_json,
    _session,
    _settings,
    _table,
    _today,
    app,
)
from procure.errors import InputError

if TYPE_CHECKING:
    from procure.llm import Estimate, JobRow, Problem

llm_price_app = typer.Typer(help="The dated LLM price table: prices per million tokens.")
llm_app = typer.Typer(help="Label items with an LLM (any OpenAI-compatible endpoint).")
prompt_app = typer.Typer(help="Prompt templates per task type, versioned.")
llm_app.add_typer(prompt_app, name="prompt")
app.add_typer(llm_price_app, name="llm-price")
app.add_typer(llm_app, name="llm")


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
    from procure.records import save_price

    with _session(ctx) as session:
        row = save_price(
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
            session=session,
        )
        typer.echo(
            f"{row.model}: {row.price_in_per_mtok} in / {row.price_out_per_mtok} out "
            f"{row.currency} per 1M tokens (read on {row.read_on})"
        )


@llm_price_app.command("list")
def llm_price_list(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Show the price table."""
    from procure.records import list_prices

    with _session(ctx, read_only=True) as session:
        prices = list_prices(session=session)
    if as_json:
        _print_json({"prices": [p.model_dump(mode="json", exclude={"id"}) for p in prices]})
        return
    _table(
        [
            (
                p.model,
                p.provider,
                p.price_in_per_mtok,
                p.price_out_per_mtok,
                p.currency,
                p.batch_discount,
                p.read_on,
            )
            for p in prices
        ],
        ["model", "provider", "in / 1M", "out / 1M", "currency", "batch discount", "read on"],
    )


@llm_price_app.command("delete")
def llm_price_delete(ctx: typer.Context, model: str) -> None:
    """Remove a model from the price table."""
    from procure.records import delete_price

    with _session(ctx) as session:
        delete_price(model, session=session)
    typer.echo(f"removed {model}")


TaskTypeOption = Annotated[str, typer.Option(help="Task type key.")]
BatchOption = Annotated[
    int | None, typer.Option(help="Label this batch's items (its labels carry the item text).")
]
ItemsOption = Annotated[
    Path | None, typer.Option(help="Or label the items of this file (columns item_id, text).")
]
BothOrdersOption = Annotated[
    bool,
    typer.Option(
        "--both-orders",
        help="Preference pairs: judge each pair twice, with A and with B shown first (twice "
        "the calls; the labels need text, response_a and response_b).",
    ),
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
    from procure.llm import save_template

    if (instructions is None) == (instructions_file is None):
        raise InputError("give either --instructions or --instructions-file")
    text = instructions if instructions is not None else _read_text(instructions_file)
    with _session(ctx) as session:
        row = save_template(task_type, version, text, few_shot, session=session)
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
    from procure.llm import task_type_of, templates

    with _session(ctx, read_only=True) as session:
        prompts = templates(task_type_of(task_type, session=session), session=session)
    if as_json:
        rows = [
            {"version": t.version, "few_shot": t.few_shot, "instructions": t.instructions}
            for t in prompts
        ]
        _print_json({"task_type": task_type, "prompts": rows})
        return
    _table(
        [(t.version, t.few_shot, t.instructions[:70]) for t in prompts],
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
    both_orders: BothOrdersOption = False,
    as_of: AsOf = None,
    as_json: JsonFlag = False,
) -> None:
    """Estimated tokens and cost of labelling the items once, from the dated price table (a
    price read more than 90 days before the estimate's date is flagged)."""
    from procure import llm

    settings = _settings(ctx)
    with _session(ctx, read_only=True) as session:
        source = llm.job_source(
            settings.label_store,
            batch_id=batch,
            items_file=items,
            both_orders=both_orders,
            session=session,
        )
        planned = llm.plan(
            settings.label_store,
            task_type,
            source,
            model,
            prompt_version=prompt_version,
            max_output_tokens=max_output_tokens,
            today=_today(as_of),
            session=session,
        )
    prompt, figures = planned.prompt, planned.estimate
    payload = {
        "items": figures.items,
        "estimated_input_tokens": figures.input_tokens,
        "estimated_output_tokens": figures.output_tokens,
        "estimated_cost": str(figures.cost),
        "worst_case_cost": str(figures.worst_case),
        "currency": figures.currency,
        "price_read_on": figures.price_read_on,
        "price_age_days": figures.price_age_days,
        "price_stale": figures.price_stale,
        "prompt_version": prompt.version,
    }
    _price_note(model, figures)
    if as_json:
        _print_json(payload)
        return
    typer.echo(
        f"{figures.items:,} items, about {figures.input_tokens:,} input and {figures.output_tokens:,} "
        f"output tokens (estimated: ~4 characters per token): about {_amount(figures.cost)} "
        f"{figures.currency}, at most {_amount(figures.worst_case)} (prices read on {figures.price_read_on})"
    )


def _price_note(model: str, figures: Estimate) -> None:
    if figures.price_warning:
        typer.echo(f"procure: note: {model}: {figures.price_warning}", err=True)


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
            help="An OpenAI-compatible endpoint, e.g. http://localhost:11434/v1 (default: the "
            "endpoint of the model's provider in the price table)."
        ),
    ] = "",
    provider: Annotated[
        str, typer.Option(help="Provider name recorded with the run (default: the price table's).")
    ] = "",
    api_key_env: Annotated[
        str | None,
        typer.Option(
            help="Environment variable holding the API key, never stored (default: the "
            "provider's, e.g. ANTHROPIC_API_KEY; else OPENAI_API_KEY)."
        ),
    ] = None,
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
    repeat: Annotated[
        bool, typer.Option(help="Run again what a finished job labelled (a test-retest run).")
    ] = False,
    both_orders: BothOrdersOption = False,
    as_of: AsOf = None,
    as_json: JsonFlag = False,
) -> None:
    """Label a batch (or an items file) with an LLM; resumes an unfinished run of the same
    items, model, prompt and endpoint; refuses to repeat a finished one unless --repeat; stores
    the labels as an LLM run when every item is answered."""
    import os
    from decimal import Decimal, InvalidOperation

    from procure import llm
    from procure.db import session_scope

    settings = _settings(ctx)
    try:
        cap = Decimal(budget) if budget is not None else None
    except InvalidOperation:
        raise InputError(f"expected a decimal amount, got {budget!r}", field="budget") from None
    with _opened(ctx) as workspace:
        with session_scope(workspace.engine, read_only=True) as session:
            price = llm.model_price(model, session=session)
        url = llm.base_url_for(base_url, price)  # refuses a provider with no known endpoint
        known = llm.hosted_endpoint(url)  # given or the provider's: its key is needed
        key_name = api_key_env or (known.key_name if known else "OPENAI_API_KEY")
        api_key = os.environ.get(key_name, "")
        if known and not api_key:
            raise InputError(
                f"set {key_name} to your {known.provider} API key, or give --base-url for a "
                "local server"
            )
        options = llm.RunOptions(
            model=model,
            base_url=url,
            api_key=api_key,
            concurrency=concurrency,
            budget=cap,
            max_retries=max_retries,
            timeout=timeout,
            temperature=temperature,
            max_output_tokens=max_output_tokens,
            structured=structured,
            repeat=repeat,
        )
        with session_scope(workspace.engine) as session:
            source = llm.job_source(
                settings.label_store,
                batch_id=batch,
                items_file=items,
                both_orders=both_orders,
                session=session,
            )
            job, prompt, figures = llm.prepare_job(
                settings.label_store,
                task_type,
                source,
                options,
                prompt_version,
                provider,
                session=session,
                today=_today(as_of),
            )
            job_id = job.id or 0
        _price_note(model, figures)
        if not as_json:
            typer.echo(
                f"job {job_id} ({source.name or source.key}): {len(source.items):,} items, estimated {_amount(figures.cost)} {figures.currency} "
                f"on {job.base_url} (press Ctrl-C to stop; run the same command again to resume)",
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
        with session_scope(workspace.engine, read_only=True) as session:
            (row,) = llm.job_rows([result], session=session)
    payload = _job_payload(row)
    if as_json:
        _print_json(payload)
    else:
        typer.echo(
            f"job {job_id} {result.status}: {result.done:,} labelled, {result.invalid:,} invalid, "
            f"{result.failed:,} failed, {result.retries:,} retries; {result.input_tokens:,} + {result.output_tokens:,} tokens, "
            f"{_amount(result.spent)} {result.currency} (estimated {_amount(result.estimated_cost)}). {result.message}"
        )
    if result.failed and not (result.done or result.invalid):  # nothing came back at all
        typer.echo(f"procure: job {job_id}: {result.message}", err=True)
        raise typer.Exit(1)


def _job_payload(row: JobRow) -> dict[str, Any]:
    job = row.job
    data: dict[str, Any] = job.model_dump(mode="json")
    data["estimate_difference"] = str(job.spent - job.estimated_cost)
    data |= {"batch_ref": row.batch_ref, "items_file": row.items_file, "items_name": row.items_name}
    return data


@llm_app.command("jobs")
def llm_jobs(
    ctx: typer.Context,
    problems_of: Annotated[
        int | None,
        typer.Option(
            "--problems",
            metavar="JOB_ID",
            help="List this job's invalid and failed items with the raw answer or the error.",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """LLM labelling jobs: their items, progress, tokens, cost against the estimate; or one
    job's invalid and failed items."""
    from procure import llm

    with _session(ctx, read_only=True) as session:
        if problems_of is not None:
            jobs = [llm.get_job(problems_of, session=session)]
        else:
            jobs = llm.list_jobs(session=session)
        rows = llm.job_rows(jobs, session=session)
    if problems_of is not None:
        _job_problems(rows[0], llm.problems(_settings(ctx).llm_jobs, problems_of), as_json)
        return
    if as_json:
        _print_json({"jobs": [_job_payload(row) for row in rows]})
        return
    _table(
        [
            (
                r.job.id,
                r.items_name,
                r.job.model,
                r.job.prompt_version,
                r.job.status,
                f"{r.job.done}/{r.job.items}",
                r.job.invalid,
                r.job.failed,
                r.job.spent,
                r.job.estimated_cost,
                r.job.label_set_id or "-",
            )
            for r in rows
        ],
        [
            "job",
            "items",
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


def _job_problems(row: JobRow, found: list[Problem], as_json: bool) -> None:
    if as_json:
        _print_json({"job": _job_payload(row), "problems": found})
        return
    job = row.job
    typer.echo(
        f"job {job.id} ({row.items_name}, {job.model}): {job.invalid:,} invalid, "
        f"{job.failed:,} failed"
    )
    # What the LLM or the endpoint wrote, with control characters (newlines, terminal escapes)
    # shown escaped so they cannot break the table or drive the terminal; --json has it as is.
    _table(
        [
            (p.item_id, p.status, "-" if p.answer is None else _plain(p.answer), _plain(p.problem))
            for p in found
        ],
        ["item", "status", "answer", "problem or error"],
    )


def _plain(text: str, width: int = 80) -> str:
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return shown if len(shown) <= width else shown[: width - 3] + "..."


@llm_app.command("stop")
def llm_stop(ctx: typer.Context, job_id: int) -> None:
    """Ask a running job to stop (it finishes the requests in flight; resumable)."""
    from procure.llm import request_stop

    with _session(ctx) as session:
        job = request_stop(job_id, session=session)
        typer.echo(f"job {job_id}: {job.status}")
