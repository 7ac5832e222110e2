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
- **Resumable**: every item's outcome is appended to a journal (JSON Lines) as it arrives (an
  invalid answer with its raw text); running the same job again skips items already answered.
  When every item is answered, the valid labels are stored as an LLM run
  (``procure.labels.store``) whose tokens and cost are the job's actual totals, so the Quality
  and Economics pages use it at once.
- **Once**: a job's settings are its task type, items, model, prompt version and endpoint (by
  default, the endpoint of the model's provider in the price table). Running the settings of a
  finished job again is refused unless asked for as a repeat (a test-retest run): it would pay
  for the same labels twice.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable, Collection
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from procure.db import session_scope
from procure.errors import InputError, NotFoundError
from procure.kinds import JobStatus, LabelSource
from procure.labels.store import LlmRunSpec, import_labels
from procure.llm.client import Cancelled, Outcome, RunOptions, label_item, redact, redact_url
from procure.llm.endpoints import OPENAI_URL, base_url_for, normal_url
from procure.llm.estimates import Estimate, JobSource, model_price, plan
from procure.llm.prompts import (
    Prompt,
    call_cost,
    task_type_of,
    template,
    token_upper_bound,
)
from procure.records.models import (
    Batch,
    LabelSet,
    LlmJob,
    LlmPrice,
    LlmRun,
    TaskType,
)
from procure.records.workspace import record_event
from procure.workfiles import PRIVATE_FILE, make_private_folder

# --- jobs ----------------------------------------------------------------------------------------


def journal_path(jobs_dir: Path, job_id: int) -> Path:
    return jobs_dir / f"job-{job_id}.jsonl"


SENT, CANCELLED = "sent", "cancelled"  # journal entries around a request, beside its outcome


def read_journal(path: Path) -> dict[str, list[dict[str, Any]]]:
    """item -> its journal entries so far; a torn last line (an interrupted write) is ignored,
    so that item is asked again."""
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


def repair_journal(path: Path) -> None:
    """Cut a torn last line (a crash mid-write) before appending: the next entry would otherwise
    be glued to it, and both lost when the journal is stored."""
    if not path.exists():
        return
    with path.open("rb+") as handle:
        content = handle.read()
        if content and not content.endswith(b"\n"):
            handle.truncate(content.rfind(b"\n") + 1)


def open_journal(path: Path) -> Any:
    """The journal for appending, created readable by its owner only."""
    repair_journal(path)
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, PRIVATE_FILE)
    return os.fdopen(descriptor, "a", encoding="utf-8")


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


def totals(
    journal: dict[str, list[dict[str, Any]]], pending: Collection[str] = frozenset()
) -> Totals:
    """Counts from the journal: an item is done (valid) or invalid by its last final outcome;
    failed when it has only failed outcomes; every outcome's tokens and cost count.

    A request is journalled as *sent* with the worst case held for it before it goes out; one
    whose outcome never arrived (the process was killed while it was in flight) may have been
    paid at the endpoint, so its held worst case counts as spent: the spend is never
    understated, and the budget stays a cap across a crash. ``pending`` are the items whose
    request is out now (still to be answered).
    """
    outcomes = {
        item: [e for e in entries if e["status"] not in (SENT, CANCELLED)]
        for item, entries in journal.items()
    }
    entries = [e for item in outcomes.values() for e in item]
    final = {
        item: next((e["status"] for e in reversed(v) if e["status"] != "failed"), None)
        for item, v in outcomes.items()
        if v
    }
    lost = Decimal(0)
    for item, item_entries in journal.items():
        unanswered: Decimal | None = None  # an item has one request out at a time
        for entry in item_entries:
            if entry["status"] == SENT and unanswered is not None:
                lost += unanswered  # sent again: the earlier request never came back
            unanswered = Decimal(entry["held"]) if entry["status"] == SENT else None
        if unanswered is not None and item not in pending:
            lost += unanswered
    return Totals(
        done=sum(1 for s in final.values() if s == "valid"),
        invalid=sum(1 for s in final.values() if s == "invalid"),
        failed=sum(1 for s in final.values() if s is None),
        retries=sum(e["retries"] for e in entries),
        input_tokens=sum(e["input_tokens"] for e in entries),
        output_tokens=sum(e["output_tokens"] for e in entries),
        spent=sum((Decimal(e["cost"]) for e in entries), lost),
        answered=frozenset(item for item, s in final.items() if s is not None),
    )


def last_problem(journal: dict[str, list[dict[str, Any]]]) -> str:
    """The most recent failure's reason (already without secrets; see ``client.redact``)."""
    problems = [e.get("problem") for v in journal.values() for e in v if e["status"] == "failed"]
    return next((p for p in reversed(problems) if p), "")


def running_key(task_type_id: int, items_source: str, model: str, version: str, url: str) -> str:
    """What a job labels, as the digest the database keeps unique while the job runs."""
    identity = "\x1f".join([str(task_type_id), items_source, model, version, redact_url(url)])
    return hashlib.sha256(identity.encode()).hexdigest()


def _same_job(
    task_type_id: int | None, items_source: str, model: str, version: str, url: str
) -> SelectOfScalar[LlmJob]:
    """The jobs of these settings (task type, items, model, prompt version, endpoint); a job
    stored with no endpoint (before the price table's provider chose it) ran on OpenAI's."""
    stored = redact_url(url)  # normal (base_url_for); older jobs may end in a slash
    urls = {stored, stored + "/"} | ({""} if normal_url(stored) == OPENAI_URL else set())
    return select(LlmJob).where(
        LlmJob.task_type_id == task_type_id,
        LlmJob.items_source == items_source,
        LlmJob.model == model,
        LlmJob.prompt_version == version,
        col(LlmJob.base_url).in_(urls),
    )


class DuplicateJobError(InputError):
    """A run of what a finished job labelled already, not asked for as a repeat."""

    def __init__(self, job: LlmJob) -> None:
        self.job_id = job.id
        super().__init__(
            f"job {job.id} labelled these items already ({job.model}, prompt "
            f"{job.prompt_version}, {job.done:,} labels; finished {job.updated_at:%Y-%m-%d}); "
            "to run them again for a test-retest, ask for a repeat (--repeat, or Repeat on the "
            "page)"
        )


def finished_duplicate(
    task_type_key: str,
    source: JobSource,
    options: RunOptions,
    prompt_version: str | None = None,
    *,
    session: Session,
) -> LlmJob | None:
    """The newest finished job of these settings, which a new run would repeat; ``None`` when
    there is none or the endpoint is unknown (the run itself then says so)."""
    task_type = task_type_of(task_type_key, session=session)
    version = template(task_type, prompt_version, session=session).version
    try:
        url = base_url_for(options.base_url, model_price(options.model, session=session))
    except InputError:
        return None
    query = _same_job(task_type.id, source.key, options.model, version, url)
    return session.exec(_finished(query)).first()


def _finished(query: SelectOfScalar[LlmJob]) -> SelectOfScalar[LlmJob]:
    return query.where(LlmJob.status == JobStatus.finished).order_by(col(LlmJob.id).desc())


def prepare_job(
    store: Path,
    task_type_key: str,
    source: JobSource,
    options: RunOptions,
    prompt_version: str | None = None,
    provider: str = "",
    *,
    session: Session,
    today: date | None = None,
) -> tuple[LlmJob, Prompt, Estimate]:
    """The job to run: an unfinished job of the same task, items, model, prompt and endpoint
    (resumed), else a new one. Raises when such a job is running elsewhere, and when such a job
    finished already unless ``options.repeat`` asks for a test-retest run. The endpoint is
    ``options.base_url``, else the one of the model's provider in the price table; the provider
    recorded is ``provider``, else the price table's."""
    if options.budget is not None and options.budget <= 0:
        raise InputError(f"expected a budget above 0, got {options.budget}", field="budget")
    if options.concurrency < 1:
        raise InputError(
            f"expected a concurrency of 1 or more, got {options.concurrency}", field="concurrency"
        )
    planned = plan(
        store,
        task_type_key,
        source,
        options.model,
        prompt_version=prompt_version,
        max_output_tokens=options.max_output_tokens,
        today=today,
        session=session,
    )
    prompt, figures = planned.prompt, planned.estimate
    url = base_url_for(options.base_url, planned.price)
    base_url = redact_url(url)  # a password in the URL is never stored
    key = running_key(planned.task_type.id or 0, source.key, options.model, prompt.version, url)
    same = _same_job(planned.task_type.id, source.key, options.model, prompt.version, url)
    existing = session.exec(
        same.where(col(LlmJob.status) != JobStatus.finished).order_by(
            col(LlmJob.running_key).is_(None), col(LlmJob.id)
        )
    ).first()
    if existing is None and not options.repeat:
        done = session.exec(_finished(same)).first()
        if done is not None:
            raise DuplicateJobError(done)
    now = datetime.now(UTC)
    if existing is not None:
        if existing.status in (JobStatus.running, JobStatus.stopping) and _recent(existing):
            raise _running(existing.id)
        # Claimed only if nobody else resumed it since it was read (compare and set), so two
        # processes resuming one stale job at once do not both run it.
        claimed = session.execute(
            update(LlmJob)
            .where(col(LlmJob.id) == existing.id, col(LlmJob.updated_at) == existing.updated_at)
            .values(running_key=key, status=JobStatus.running, updated_at=now)
        )
        if getattr(claimed, "rowcount", 1) != 1:
            raise _running(existing.id)
        session.refresh(existing)
        job = existing
    else:
        job = LlmJob(
            task_type_id=planned.task_type.id or 0,
            batch_id=source.batch_id,
            items_source=source.key,
            items_name="" if source.batch_id is not None else source.name,
            model=options.model,
            provider=provider or planned.price.provider,
            base_url=base_url,
            prompt_version=prompt.version,
            items=len(source.items),
            currency=planned.price.currency,
            estimated_cost=figures.cost,
            estimated_input_tokens=figures.input_tokens,
        )
    job.status, job.budget, job.message = JobStatus.running, options.budget, ""
    job.running_key, job.updated_at = key, now
    try:
        with session.begin_nested():  # added inside: a savepoint flushes what was pending first
            session.add(job)
    except IntegrityError:  # another process started the same job a moment ago
        other = session.exec(select(LlmJob.id).where(LlmJob.running_key == key)).first()
        raise _running(other) from None
    record_event("run", "llm_job", job.id, f"{options.model} on {source.key}", session=session)
    return job, prompt, figures


def _running(job_id: int | None) -> InputError:
    return InputError(f"job {job_id} is running this already; stop it first")


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
    make_private_folder(jobs_dir)
    path = journal_path(jobs_dir, job_id)
    with session_scope(engine) as session:
        job = session.get(LlmJob, job_id)
        if job is None:
            raise NotFoundError(f"no LLM job {job_id}")
        price = LlmPrice.model_validate(model_price(job.model, session=session).model_dump())
    if client is None:
        import openai

        client = openai.OpenAI(
            base_url=base_url_for(options.base_url, price),
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
        current = totals(journal, set(requested.values()))
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
                row.running_key = None  # stopped: it may be started again
            row.updated_at = datetime.now(UTC)
            session.add(row)
            session.flush()
            session.expunge(row)
        last_saved = time.monotonic()
        if progress is not None:
            progress(row)
        return row

    pending: dict[Future[Outcome], Decimal] = {}
    requested: dict[Future[Outcome], str] = {}
    queue = list(reversed(todo))
    with (
        ThreadPoolExecutor(max_workers=options.concurrency) as pool,
        open_journal(path) as out,
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
                    sent = {"item_id": item[0], "status": SENT, "held": str(need)}
                    out.write(json.dumps(sent) + "\n")
                    out.flush()
                    journal.setdefault(item[0], []).append(sent)
                    future = pool.submit(label_item, client, options, prompt, price, item, stop)
                    pending[future] = need
                    requested[future] = item[0]
                if not pending:
                    break
                finished, _ = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                for future in finished:
                    held -= pending.pop(future)
                    item_id = requested.pop(future)
                    try:
                        outcome = future.result()
                    except Cancelled:
                        entry = {"item_id": item_id, "status": CANCELLED}
                        out.write(json.dumps(entry) + "\n")
                        journal[item_id].append(entry)
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
    if not reason and state.failed and not (state.done or state.invalid):
        reason = f"every request failed ({state.failed:,} items): {last_problem(journal)}"
    elif not reason and state.failed:
        reason = f"{state.failed} items failed; run again to retry them"
    if reason:
        return save(JobStatus.stopped, reason)
    save()
    with session_scope(engine) as session:
        job = session.get(LlmJob, job_id)
        assert job is not None
        label_set = store_run(store, job, path, state, session=session)
        job.label_set_id, job.status, job.running_key = label_set.id, JobStatus.finished, None
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
# A both-orders job's requests are ``<item>\x1f<shown first>``: the item, an annotator per
# order, and the judge's A (the response shown first) mapped back to B when B was shown first.
RUN_LABELS = """
COPY (
    SELECT split_part(request, chr(31), 1) AS item_id,
           CASE WHEN shown_first <> '' THEN $model || ' (' || shown_first || ' shown first)'
           END AS annotator_id,
           CASE WHEN shown_first = 'B' AND label IN ('A', 'B') THEN CASE label WHEN 'A' THEN 'B' ELSE 'A' END
                ELSE label END AS label,
           NULLIF(shown_first, '') AS shown_first,
           confidence, input_tokens, output_tokens, cost
    FROM (SELECT *, split_part(request, chr(31), 2) AS shown_first FROM (
    SELECT item_id AS request,
           any_value(label) FILTER (WHERE status = 'valid') AS label,
           any_value(confidence) FILTER (WHERE status = 'valid') AS confidence,
           sum(input_tokens) AS input_tokens,
           sum(output_tokens) AS output_tokens,
           sum(CAST(cost AS DECIMAL(38, 18))) AS cost
    FROM read_json($journal, format = 'newline_delimited', ignore_errors = true, columns = {
        item_id: 'VARCHAR', status: 'VARCHAR', label: 'VARCHAR', confidence: 'DOUBLE',
        input_tokens: 'BIGINT', output_tokens: 'BIGINT', cost: 'VARCHAR'})
    GROUP BY item_id HAVING count(*) FILTER (WHERE status = 'valid') > 0))
) TO $target (FORMAT parquet)
"""


def store_run(
    store: Path, job: LlmJob, journal: Path, state: Totals, *, session: Session
) -> LabelSet:
    """The journal's valid labels as an LLM run; the run's tokens and cost are the job's actual
    totals (invalid answers and re-asks included)."""
    task_type = session.get(TaskType, job.task_type_id)
    assert task_type is not None
    with tempfile.TemporaryDirectory(prefix="procure-llm-") as scratch:
        path = Path(scratch) / f"llm-job-{job.id}.parquet"
        with duckdb.connect() as con:
            written = con.execute(
                RUN_LABELS,
                {"journal": str(journal), "target": str(path), "model": job.model},
            ).fetchone()
        if not written or not written[0]:
            raise InputError(f"job {job.id} has no valid labels to store")
        label_set = import_labels(
            store,
            path,
            source=LabelSource.llm,
            task_type_key=task_type.key,
            llm=LlmRunSpec(job.model, job.provider, job.prompt_version, job.currency),
            name=f"{job.model} {job.prompt_version} (job {job.id})",
            force=True,
            session=session,
        )
    run = session.exec(select(LlmRun).where(LlmRun.label_set_id == label_set.id)).one()
    run.input_tokens, run.output_tokens = state.input_tokens, state.output_tokens
    run.cost = state.spent
    session.add(run)
    return label_set


def list_jobs(*, session: Session) -> list[LlmJob]:
    return list(session.exec(select(LlmJob).order_by(col(LlmJob.id).desc())))


def get_job(job_id: int, *, session: Session) -> LlmJob:
    job = session.get(LlmJob, job_id)
    if job is None:
        raise NotFoundError(f"no LLM job {job_id}")
    return job


def request_stop(job_id: int, *, session: Session) -> LlmJob:
    job = get_job(job_id, session=session)
    if job.status == JobStatus.running:
        job.status = JobStatus.stopping
        session.add(job)
        record_event("stop", "llm_job", job_id, session=session)
    return job


def run_job_recording_failure(
    engine: Engine,
    store: Path,
    jobs_dir: Path,
    job_id: int,
    prompt: Prompt,
    *,
    items: list[tuple[str, str]],
    options: RunOptions,
) -> None:
    """``run_job`` for a background thread: an error ends the job as failed, with its message
    (without the API key), instead of dying unseen."""
    try:
        run_job(engine, store, jobs_dir, job_id, prompt, items, options)
    except Exception as exc:
        with session_scope(engine) as session:
            job = session.get(LlmJob, job_id)
            if job is not None:
                job.status, job.running_key = JobStatus.failed, None
                job.message = redact(f"{type(exc).__name__}: {exc}", options.api_key)[:500]
                session.add(job)


def labelled_batches(task_type: TaskType, *, session: Session) -> list[Batch]:
    """The task type's batches whose vendor labels are imported (their text is the items)."""
    return list(
        session.exec(
            select(Batch)
            .join(LabelSet, col(LabelSet.batch_id) == col(Batch.id))
            .where(
                Batch.task_type_id == task_type.id,
                LabelSet.source == LabelSource.vendor,
                col(Batch.voided_at).is_(None),
                col(LabelSet.retired_at).is_(None),
            )
            .distinct()
            .order_by(col(Batch.delivered_on), col(Batch.id))
        )
    )
