"""Label items with an LLM through any OpenAI-compatible Chat Completions endpoint (OpenAI, vLLM,
Ollama, llama.cpp) using the official ``openai`` client, with cost accounting.

- **Prompt**: the task type's template (instructions, version) plus the allowed labels and
  optional few-shot examples from gold items with text; the version is recorded with the run.
- **Answers** are parsed strictly: a JSON object ``{"label": ..., "confidence": ...}`` (asked for
  as structured output where the endpoint supports it) or the bare label. A label outside the set
  is asked for once more, then recorded as *invalid*; never coerced.
- **Transient errors** (429, 5xx, timeouts, lost connections) are retried with exponential
  backoff, ``backoff x 2^attempt`` seconds (or the server's ``Retry-After``), up to
  ``max_retries`` times; then the item counts as *failed* and is retried when the run resumes.
- **Budget**: before a request is sent, the worst case of its item is held back: two calls (the
  answer and one re-ask) of ``upper bound of input tokens x price_in + max_output_tokens x
  price_out``. The upper bound is the prompt's UTF-8 byte count plus 4 per message, since a
  byte-level BPE token covers at least one byte. A request that could cross the cap is not sent,
  so the actual spend never exceeds the budget.
- **Estimate** before running: input tokens ~ characters / 4 (a rule of thumb for English; no
  tokenizer is available offline, so it is labelled an estimate) and the output of one JSON
  answer; afterwards the actual usage fields give the cost, and the difference is shown.
- **Resumable**: every item's outcome is appended to a journal (JSON Lines) as it arrives;
  running the same job again skips items already answered. When every item is answered, the
  valid labels are stored as an LLM run (``procure.labels.store``) whose tokens and cost are the
  job's actual totals, so the Quality and Economics pages use it at once.
"""

from __future__ import annotations

import json
import math
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from procure.db import session_scope
from procure.economics.scenario import llm_cost_per_label
from procure.errors import InputError, NotFoundError
from procure.kinds import JobStatus, LabelSource
from procure.labels.store import LlmRunSpec, import_labels
from procure.quality.report import parquet_columns
from procure.records.catalog import get_task_type
from procure.records.llm_prices import price_for
from procure.records.models import (
    Batch,
    LabelSet,
    LlmJob,
    LlmPrice,
    LlmRun,
    PromptTemplate,
    TaskType,
)
from procure.records.workspace import record_event

DEFAULT_VERSION = "default"
DEFAULT_INSTRUCTIONS = (
    "You label items for the task '{name}'; each item is one {unit}. Read the item and choose the "
    "single best label."
)
MESSAGE_OVERHEAD = 4  # tokens the chat format adds per message (an allowance, not exact)
EXPECTED_OUTPUT_TOKENS = 12  # {"label": "...", "confidence": 0.9}
OPENAI_URL = "https://api.openai.com/v1"


# --- prompts -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prompt:
    version: str
    system: str
    labels: tuple[str, ...]
    examples: tuple[tuple[str, str], ...] = ()  # (text, gold label)

    def messages(self, text: str) -> list[dict[str, str]]:
        shots = [
            message
            for example, label in self.examples
            for message in (
                {"role": "user", "content": example},
                {"role": "assistant", "content": json.dumps({"label": label, "confidence": 1.0})},
            )
        ]
        return [
            {"role": "system", "content": self.system},
            *shots,
            {"role": "user", "content": text},
        ]


def system_prompt(instructions: str, labels: tuple[str, ...]) -> str:
    allowed = ", ".join(json.dumps(label) for label in labels)
    return (
        f"{instructions.strip()}\n\nAllowed labels: {allowed}.\n"
        'Answer with a JSON object only: {"label": <one allowed label, exactly as written>, '
        '"confidence": <your probability that the label is right, 0 to 1>}.'
    )


def response_format(labels: tuple[str, ...]) -> dict[str, Any]:
    """Structured output: a JSON schema whose label must be one of the allowed labels."""
    return {
        "type": "json_schema",
        "json_schema": {
            "name": "label",
            "strict": True,
            "schema": {
                "type": "object",
                "properties": {
                    "label": {"type": "string", "enum": list(labels)},
                    "confidence": {"type": "number"},
                },
                "required": ["label", "confidence"],
                "additionalProperties": False,
            },
        },
    }


@dataclass(frozen=True)
class Answer:
    label: str | None
    confidence: float | None
    problem: str | None  # why the answer is not a valid label


def parse_answer(content: str | None, labels: tuple[str, ...]) -> Answer:
    """A JSON object with a ``label`` from the set (and an optional ``confidence`` in [0, 1]), or
    the bare label; anything else is a problem, never coerced.

    >>> parse_answer('{"label": "B", "confidence": 0.8}', ("A", "B"))
    Answer(label='B', confidence=0.8, problem=None)
    >>> parse_answer("b", ("A", "B")).problem
    "'b' is not one of the allowed labels"
    """
    text = (content or "").strip()
    if text in labels:
        return Answer(text, None, None)
    try:
        data = json.loads(text)
    except ValueError:
        shown = text if len(text) <= 80 else text[:77] + "..."
        return Answer(None, None, f"{shown!r} is not one of the allowed labels")
    if not isinstance(data, dict) or not isinstance(data.get("label"), str):
        return Answer(None, None, "the answer has no label")
    label = data["label"]
    if label not in labels:
        return Answer(None, None, f"{label!r} is not one of the allowed labels")
    confidence = data.get("confidence")
    if isinstance(confidence, int | float) and 0 <= confidence <= 1:
        return Answer(label, float(confidence), None)
    return Answer(label, None, None)


def estimate_tokens(text: str) -> int:
    """About four characters per token (English prose); an estimate, labelled as such."""
    return math.ceil(len(text) / 4)


def token_upper_bound(messages: list[dict[str, str]]) -> int:
    """At most one token per UTF-8 byte (byte-level BPE), plus the per-message allowance."""
    return sum(len(m["content"].encode()) + MESSAGE_OVERHEAD for m in messages)


def call_cost(price: LlmPrice, input_tokens: int, output_tokens: int) -> Decimal:
    """One call's cost: the economics' LLM cost formula for one run, at list price.

    >>> from datetime import date
    >>> p = LlmPrice(model="m", price_in_per_mtok=Decimal("0.15"), price_out_per_mtok=Decimal("0.6"), read_on=date(2025, 6, 2))
    >>> call_cost(p, 1000, 10)
    Decimal('0.000156')
    """
    cost: Decimal = llm_cost_per_label(
        Decimal(input_tokens),
        Decimal(output_tokens),
        price.price_in_per_mtok,
        price.price_out_per_mtok,
        runs=1,
        discount=Decimal(0),
    )
    return cost


# --- templates ---------------------------------------------------------------------------------


def task_type_of(session: Session, key: str) -> TaskType:
    task_type = get_task_type(session, key)
    if not task_type.labels:
        raise InputError(f"task type {key!r} has no label set to ask the LLM for")
    return task_type


def templates(session: Session, task_type: TaskType) -> list[PromptTemplate]:
    return list(
        session.exec(
            select(PromptTemplate)
            .where(PromptTemplate.task_type_id == task_type.id)
            .order_by(col(PromptTemplate.id))
        )
    )


def template(session: Session, task_type: TaskType, version: str | None) -> PromptTemplate:
    """The named version, else the newest, else the default template (not stored)."""
    known = templates(session, task_type)
    default = PromptTemplate(
        task_type_id=task_type.id or 0,
        version=DEFAULT_VERSION,
        instructions=DEFAULT_INSTRUCTIONS.format(name=task_type.name, unit=task_type.unit),
    )
    if version is None:
        return known[-1] if known else default
    for t in known:
        if t.version == version:
            return t
    if version == DEFAULT_VERSION:
        return default
    raise NotFoundError(
        f"no prompt version {version!r} for task type {task_type.key!r}", field="prompt version"
    )


def save_template(
    session: Session, task_type_key: str, version: str, instructions: str, few_shot: int = 0
) -> PromptTemplate:
    """Add a prompt version. Versions are immutable: runs refer to them."""
    task_type = task_type_of(session, task_type_key)
    version, instructions = version.strip(), instructions.strip()
    if not version or len(version) > 80:
        raise InputError("expected a version name of 1 to 80 characters", field="version")
    if not instructions:
        raise InputError("expected instructions for the LLM", field="instructions")
    if few_shot < 0:
        raise InputError(f"expected 0 or more few-shot examples, got {few_shot}", field="few_shot")
    if (
        any(t.version == version for t in templates(session, task_type))
        or version == DEFAULT_VERSION
    ):
        raise InputError(
            f"prompt version {version!r} exists already; versions are kept as runs used them, "
            "so save the change under a new version",
            field="version",
        )
    row = PromptTemplate(
        task_type_id=task_type.id or 0,
        version=version,
        instructions=instructions,
        few_shot=few_shot,
    )
    session.add(row)
    session.flush()
    record_event(session, "create", "prompt_template", row.id, f"{task_type.key} {version}")
    return row


GOLD_EXAMPLES = """
SELECT item_id, arg_max(label_code, n) AS code, any_value(text) AS text
FROM (SELECT item_id, label_code, text, count(*) OVER (PARTITION BY item_id, label_code) AS n
      FROM read_parquet($files, union_by_name = true) WHERE text IS NOT NULL)
GROUP BY item_id ORDER BY item_id LIMIT $limit
"""


def build_prompt(
    session: Session, store: Path, task_type: TaskType, chosen: PromptTemplate
) -> Prompt:
    labels = tuple(task_type.labels)
    examples: tuple[tuple[str, str], ...] = ()
    if chosen.few_shot:
        files = [
            str(store / s.path)
            for s in session.exec(
                select(LabelSet).where(
                    LabelSet.task_type_id == task_type.id, LabelSet.source == LabelSource.gold
                )
            )
        ]
        with duckdb.connect() as con:
            usable = [f for f in files if "text" in parquet_columns(con, f)]
            rows = (
                con.execute(GOLD_EXAMPLES, {"files": usable, "limit": chosen.few_shot}).fetchall()
                if usable
                else []
            )
        if len(rows) < chosen.few_shot:
            raise InputError(
                f"prompt {chosen.version!r} asks for {chosen.few_shot} few-shot examples but the "
                f"gold sets of {task_type.key!r} have {len(rows)} items with text"
            )
        examples = tuple((text, labels[code]) for _, code, text in rows)
    return Prompt(chosen.version, system_prompt(chosen.instructions, labels), labels, examples)


# --- items -------------------------------------------------------------------------------------

BATCH_ITEMS = """
SELECT item_id, min(text) AS text FROM read_parquet($files, union_by_name = true)
WHERE text IS NOT NULL GROUP BY item_id ORDER BY item_id
"""


def batch_items(session: Session, store: Path, batch_id: int) -> list[tuple[str, str]]:
    """(item_id, text) of a batch's vendor labels, one per item."""
    files = [
        str(store / s.path)
        for s in session.exec(select(LabelSet).where(LabelSet.batch_id == batch_id))
    ]
    if not files:
        raise InputError(
            f"batch {batch_id} has no labels imported; import them with their text first"
        )
    with duckdb.connect() as con:
        if not all("text" in parquet_columns(con, f) for f in files):
            raise InputError(
                f"batch {batch_id}'s labels have no text column; the LLM needs each item's text "
                "(import the labels with a text column, or give an items file)"
            )
        return [
            (item, text) for item, text in con.execute(BATCH_ITEMS, {"files": files}).fetchall()
        ]


def job_source(
    session: Session,
    store: Path,
    *,
    batch_id: int | None = None,
    items_file: Path | None = None,
    display_name: str | None = None,
) -> JobSource:
    """The items of a batch (from its labels' text) or of an items file (item_id, text)."""
    if (batch_id is None) == (items_file is None):
        raise InputError("give either a batch or an items file")
    if batch_id is not None:
        return JobSource(f"batch {batch_id}", batch_items(session, store, batch_id), batch_id)
    assert items_file is not None
    from procure.labels.files import read_items
    from procure.labels.store import file_sha256

    if not items_file.is_file():
        raise InputError("no such file", source=display_name or str(items_file))
    items = read_items(items_file, display_name)
    return JobSource(f"items {file_sha256(items_file)}", items)


# --- estimate ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Estimate:
    items: int
    input_tokens: int
    output_tokens: int
    cost: Decimal
    worst_case: Decimal
    currency: str
    price_read_on: str


def model_price(session: Session, model: str) -> LlmPrice:
    price = price_for(session, model)
    if price is None:
        raise InputError(
            f"no price for model {model!r} in the price table; add it first (Economics page, or "
            f"`procure llm-price set {model} --in PRICE --out PRICE`; 0 for a local model)",
            field="model",
        )
    return price


def estimate(
    prompt: Prompt, items: list[tuple[str, str]], price: LlmPrice, max_output_tokens: int
) -> Estimate:
    """Estimated tokens and cost of labelling ``items`` once (see the module docstring), and the
    worst case of one call per item (re-asks of invalid answers come on top). Costs are linear in
    tokens, so the per-item worst cases add up to the cost of the summed bounds."""
    inputs = upper = 0
    for _, text in items:
        messages = prompt.messages(text)
        inputs += sum(estimate_tokens(m["content"]) + MESSAGE_OVERHEAD for m in messages)
        upper += token_upper_bound(messages)
    outputs = EXPECTED_OUTPUT_TOKENS * len(items)
    worst = call_cost(price, upper, max_output_tokens * len(items))
    return Estimate(
        len(items),
        inputs,
        outputs,
        call_cost(price, inputs, outputs),
        worst,
        price.currency,
        str(price.read_on),
    )


# --- one item ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunOptions:
    model: str
    base_url: str = ""
    api_key: str = ""
    concurrency: int = 4
    budget: Decimal | None = None
    max_retries: int = 4
    timeout: float = 60.0
    temperature: float = 0.0
    max_output_tokens: int = 50
    structured: bool = True
    backoff: float = 1.0  # seconds before the first retry; doubles each time


@dataclass
class Outcome:
    item_id: str
    status: str  # "valid", "invalid" or "failed"
    label: str | None = None
    confidence: float | None = None
    problem: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost: str = "0"
    calls: int = 0
    retries: int = 0


class Cancelled(Exception):
    pass


def _retry_after(exc: Exception) -> float | None:
    response = getattr(exc, "response", None)
    value = response.headers.get("retry-after") if response is not None else None
    try:
        return min(float(value), 60.0) if value is not None else None
    except ValueError:
        return None


def label_item(
    client: Any,
    options: RunOptions,
    prompt: Prompt,
    price: LlmPrice,
    item: tuple[str, str],
    stop: threading.Event,
) -> Outcome:
    """Ask for one item's label: transient errors retried with backoff, an out-of-set answer
    asked once more, then recorded as invalid."""
    import openai

    item_id, text = item
    outcome = Outcome(item_id, "failed")
    cost = Decimal(0)
    transient = (
        openai.RateLimitError,
        openai.InternalServerError,
        openai.APITimeoutError,
        openai.APIConnectionError,
    )
    for _ask in range(2):
        for attempt in range(options.max_retries + 1):
            if stop.is_set():
                raise Cancelled
            try:
                kwargs: dict[str, Any] = {
                    "model": options.model,
                    "messages": prompt.messages(text),
                    "temperature": options.temperature,
                    "max_tokens": options.max_output_tokens,
                    "timeout": options.timeout,
                }
                if options.structured:
                    kwargs["response_format"] = response_format(prompt.labels)
                response = client.chat.completions.create(**kwargs)
                break
            except transient as exc:
                if attempt == options.max_retries:
                    outcome.problem = f"{type(exc).__name__}: {exc}"[:300]
                    outcome.cost = str(cost)
                    return outcome
                outcome.retries += 1
                delay = _retry_after(exc) or options.backoff * 2**attempt
                if stop.wait(delay):
                    raise Cancelled from None
            except openai.APIStatusError as exc:  # 4xx other than 429: the request itself is wrong
                outcome.problem = f"HTTP {exc.status_code}: {exc.message}"[:300]
                outcome.cost = str(cost)
                return outcome
        outcome.calls += 1
        usage = response.usage
        used_in = usage.prompt_tokens if usage else 0
        used_out = usage.completion_tokens if usage else 0
        outcome.input_tokens += used_in
        outcome.output_tokens += used_out
        cost += call_cost(price, used_in, used_out)
        content = response.choices[0].message.content if response.choices else None
        answer = parse_answer(content, prompt.labels)
        outcome.label, outcome.confidence, outcome.problem = (
            answer.label,
            answer.confidence,
            answer.problem,
        )
        if answer.label is not None:
            outcome.status = "valid"
            break
        outcome.status = "invalid"
    outcome.cost = str(cost)
    return outcome


# --- jobs ----------------------------------------------------------------------------------------


def journal_path(jobs_dir: Path, job_id: int) -> Path:
    return jobs_dir / f"job-{job_id}.jsonl"


def read_journal(path: Path) -> dict[str, list[dict[str, Any]]]:
    """item -> its outcomes so far; a torn last line (an interrupted write) is ignored."""
    outcomes: dict[str, list[dict[str, Any]]] = {}
    if not path.exists():
        return outcomes
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        outcomes.setdefault(entry["item_id"], []).append(entry)
    return outcomes


@dataclass(frozen=True)
class Totals:
    done: int
    invalid: int
    failed: int
    retries: int
    input_tokens: int
    output_tokens: int
    spent: Decimal
    answered: frozenset[str]


def totals(journal: dict[str, list[dict[str, Any]]]) -> Totals:
    """Counts from the journal: an item is done (valid) or invalid by its last final outcome;
    failed when it has only failed outcomes; every outcome's tokens and cost count."""
    entries = [e for item in journal.values() for e in item]
    final = {
        item: next((e["status"] for e in reversed(v) if e["status"] != "failed"), None)
        for item, v in journal.items()
    }
    return Totals(
        done=sum(1 for s in final.values() if s == "valid"),
        invalid=sum(1 for s in final.values() if s == "invalid"),
        failed=sum(1 for s in final.values() if s is None),
        retries=sum(e["retries"] for e in entries),
        input_tokens=sum(e["input_tokens"] for e in entries),
        output_tokens=sum(e["output_tokens"] for e in entries),
        spent=sum((Decimal(e["cost"]) for e in entries), Decimal(0)),
        answered=frozenset(item for item, s in final.items() if s is not None),
    )


@dataclass(frozen=True)
class JobSource:
    """The items to label and what identifies them for resuming."""

    key: str
    items: list[tuple[str, str]] = field(repr=False)
    batch_id: int | None = None


def prepare_job(
    session: Session,
    store: Path,
    task_type_key: str,
    source: JobSource,
    options: RunOptions,
    prompt_version: str | None = None,
    provider: str = "",
) -> tuple[LlmJob, Prompt, Estimate]:
    """The job to run: an unfinished job of the same task, items, model, prompt and endpoint
    (resumed), else a new one. Raises when such a job is running elsewhere."""
    task_type = task_type_of(session, task_type_key)
    chosen = template(session, task_type, prompt_version)
    prompt = build_prompt(session, store, task_type, chosen)
    price = model_price(session, options.model)
    if options.budget is not None and options.budget <= 0:
        raise InputError(f"expected a budget above 0, got {options.budget}", field="budget")
    if options.concurrency < 1:
        raise InputError(
            f"expected a concurrency of 1 or more, got {options.concurrency}", field="concurrency"
        )
    figures = estimate(prompt, source.items, price, options.max_output_tokens)
    existing = session.exec(
        select(LlmJob).where(
            LlmJob.task_type_id == task_type.id,
            LlmJob.items_source == source.key,
            LlmJob.model == options.model,
            LlmJob.prompt_version == prompt.version,
            LlmJob.base_url == options.base_url,
            col(LlmJob.status) != JobStatus.finished,
        )
    ).first()
    if existing is not None:
        if existing.status in (JobStatus.running, JobStatus.stopping) and _recent(existing):
            raise InputError(f"job {existing.id} is running this already; stop it first")
        job = existing
    else:
        job = LlmJob(
            task_type_id=task_type.id or 0,
            batch_id=source.batch_id,
            items_source=source.key,
            model=options.model,
            provider=provider,
            base_url=options.base_url,
            prompt_version=prompt.version,
            items=len(source.items),
            currency=price.currency,
            estimated_cost=figures.cost,
            estimated_input_tokens=figures.input_tokens,
        )
    job.status, job.budget, job.message = JobStatus.running, options.budget, ""
    job.updated_at = datetime.now(UTC)
    session.add(job)
    session.flush()
    record_event(session, "run", "llm_job", job.id, f"{options.model} on {source.key}")
    return job, prompt, figures


def _recent(job: LlmJob, seconds: float = 30) -> bool:
    updated = job.updated_at if job.updated_at.tzinfo else job.updated_at.replace(tzinfo=UTC)
    return (datetime.now(UTC) - updated).total_seconds() < seconds


Progress = Callable[[LlmJob], None]


def run_job(
    engine: Engine,
    store: Path,
    jobs_dir: Path,
    job_id: int,
    prompt: Prompt,
    items: list[tuple[str, str]],
    options: RunOptions,
    *,
    stop: threading.Event | None = None,
    progress: Progress | None = None,
    client: Any = None,
) -> LlmJob:
    """Label the job's items not yet answered, at most ``concurrency`` requests at a time,
    within the budget; store the labels as an LLM run once every item is answered. Stops early
    when ``stop`` is set or the job's status is set to ``stopping`` (the page's stop button)."""
    stop = stop or threading.Event()
    jobs_dir.mkdir(parents=True, exist_ok=True)
    path = journal_path(jobs_dir, job_id)
    with session_scope(engine) as session:
        job = session.get(LlmJob, job_id)
        if job is None:
            raise NotFoundError(f"no LLM job {job_id}")
        price = LlmPrice.model_validate(model_price(session, job.model).model_dump())
    if client is None:
        import openai

        client = openai.OpenAI(
            base_url=options.base_url or OPENAI_URL,
            api_key=options.api_key or "not-needed",
            max_retries=0,
        )
    journal = read_journal(path)
    state = totals(journal)
    todo = [item for item in items if item[0] not in state.answered]
    spent, held = state.spent, Decimal(0)
    reason = ""
    last_saved = 0.0

    def worst(item: tuple[str, str]) -> Decimal:
        return 2 * call_cost(
            price, token_upper_bound(prompt.messages(item[1])), options.max_output_tokens
        )

    def save(status: JobStatus | None = None, message: str = "") -> LlmJob:
        nonlocal last_saved
        current = totals(journal)
        with session_scope(engine) as session:
            row = session.get(LlmJob, job_id)
            assert row is not None
            if row.status == JobStatus.stopping:
                stop.set()
            row.done, row.invalid, row.failed, row.retries = (
                current.done,
                current.invalid,
                current.failed,
                current.retries,
            )
            row.input_tokens, row.output_tokens, row.spent = (
                current.input_tokens,
                current.output_tokens,
                current.spent,
            )
            if status is not None:
                row.status, row.message = status, message
            row.updated_at = datetime.now(UTC)
            session.add(row)
            session.flush()
            session.expunge(row)
        last_saved = time.monotonic()
        if progress is not None:
            progress(row)
        return row

    pending: dict[Future[Outcome], Decimal] = {}
    queue = list(reversed(todo))
    with (
        ThreadPoolExecutor(max_workers=options.concurrency) as pool,
        path.open("a", encoding="utf-8") as out,
    ):
        try:
            while queue or pending:
                while (
                    queue
                    and len(pending) < options.concurrency
                    and not stop.is_set()
                    and not reason
                ):
                    item = queue[-1]
                    need = worst(item)
                    if options.budget is not None and spent + held + need > options.budget:
                        if not pending:
                            reason = f"budget of {options.budget} {price.currency} reached"
                        break
                    queue.pop()
                    held += need
                    pending[pool.submit(label_item, client, options, prompt, price, item, stop)] = (
                        need
                    )
                if not pending:
                    break
                finished, _ = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                for future in finished:
                    held -= pending.pop(future)
                    try:
                        outcome = future.result()
                    except Cancelled:
                        continue
                    entry = asdict(outcome)
                    out.write(json.dumps(entry) + "\n")
                    out.flush()
                    journal.setdefault(outcome.item_id, []).append(entry)
                    spent += Decimal(outcome.cost)
                if time.monotonic() - last_saved > 0.5:
                    save()
                if stop.is_set() and not reason:
                    reason = "stopped"
        except KeyboardInterrupt:
            stop.set()
            reason = "interrupted"
            wait(pending)
    state = totals(journal)
    if not reason and state.failed:
        reason = f"{state.failed} items failed; run again to retry them"
    if reason:
        return save(JobStatus.stopped, reason)
    save()
    with session_scope(engine) as session:
        job = session.get(LlmJob, job_id)
        assert job is not None
        label_set = store_run(session, store, job, path, state)
        job.label_set_id, job.status = label_set.id, JobStatus.finished
        job.message = f"{state.done:,} labels stored as LLM run {label_set.id}" + (
            f"; {state.invalid:,} invalid answers kept out" if state.invalid else ""
        )
        session.add(job)
        session.flush()
        session.expunge(job)
    if progress is not None:
        progress(job)
    return job


# The valid labels of a journal with every item's tokens and cost (re-asks and invalid answers
# included: they were paid for); a torn last line from an interrupted write is skipped.
RUN_LABELS = """
COPY (
    SELECT item_id,
           any_value(label) FILTER (WHERE status = 'valid') AS label,
           any_value(confidence) FILTER (WHERE status = 'valid') AS confidence,
           sum(input_tokens) AS input_tokens,
           sum(output_tokens) AS output_tokens,
           sum(CAST(cost AS DECIMAL(38, 18))) AS cost
    FROM read_json($journal, format = 'newline_delimited', ignore_errors = true, columns = {
        item_id: 'VARCHAR', status: 'VARCHAR', label: 'VARCHAR', confidence: 'DOUBLE',
        input_tokens: 'BIGINT', output_tokens: 'BIGINT', cost: 'VARCHAR'})
    GROUP BY item_id HAVING count(*) FILTER (WHERE status = 'valid') > 0
) TO $target (FORMAT parquet)
"""


def store_run(session: Session, store: Path, job: LlmJob, journal: Path, state: Totals) -> LabelSet:
    """The journal's valid labels as an LLM run; the run's tokens and cost are the job's actual
    totals (invalid answers and re-asks included)."""
    task_type = session.get(TaskType, job.task_type_id)
    assert task_type is not None
    with tempfile.TemporaryDirectory(prefix="procure-llm-") as scratch:
        path = Path(scratch) / f"llm-job-{job.id}.parquet"
        with duckdb.connect() as con:
            written = con.execute(
                RUN_LABELS, {"journal": str(journal), "target": str(path)}
            ).fetchone()
        if not written or not written[0]:
            raise InputError(f"job {job.id} has no valid labels to store")
        label_set = import_labels(
            session,
            store,
            path,
            source=LabelSource.llm,
            task_type_key=task_type.key,
            llm=LlmRunSpec(job.model, job.provider, job.prompt_version, job.currency),
            name=f"{job.model} {job.prompt_version} (job {job.id})",
            force=True,
        )
    run = session.exec(select(LlmRun).where(LlmRun.label_set_id == label_set.id)).one()
    run.input_tokens, run.output_tokens = state.input_tokens, state.output_tokens
    run.cost = state.spent
    session.add(run)
    return label_set


def list_jobs(session: Session) -> list[LlmJob]:
    return list(session.exec(select(LlmJob).order_by(col(LlmJob.id).desc())))


def request_stop(session: Session, job_id: int) -> LlmJob:
    job = session.get(LlmJob, job_id)
    if job is None:
        raise NotFoundError(f"no LLM job {job_id}")
    if job.status == JobStatus.running:
        job.status = JobStatus.stopping
        session.add(job)
        record_event(session, "stop", "llm_job", job_id)
    return job


def run_job_recording_failure(
    engine: Engine, store: Path, jobs_dir: Path, job_id: int, prompt: Prompt, **kwargs: Any
) -> None:
    """``run_job`` for a background thread: an error ends the job as failed, with its message,
    instead of dying unseen."""
    try:
        run_job(engine, store, jobs_dir, job_id, prompt, **kwargs)
    except Exception as exc:
        with session_scope(engine) as session:
            job = session.get(LlmJob, job_id)
            if job is not None:
                job.status, job.message = JobStatus.failed, f"{type(exc).__name__}: {exc}"[:500]
                session.add(job)


def labelled_batches(session: Session, task_type: TaskType) -> list[Batch]:
    """The task type's batches whose vendor labels are imported (their text is the items)."""
    return list(
        session.exec(
            select(Batch)
            .join(LabelSet, col(LabelSet.batch_id) == col(Batch.id))
            .where(Batch.task_type_id == task_type.id, LabelSet.source == LabelSource.vendor)
            .distinct()
            .order_by(col(Batch.delivered_on), col(Batch.id))
        )
    )
