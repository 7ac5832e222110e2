"""Jobs as the page and the CLI show them: their items by name, and the items they could not
label with the raw answer or the error."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session, col, select

from procure.llm.jobs import CANCELLED, SENT, journal_path, read_journal
from procure.records.models import Batch, LlmJob


@dataclass(frozen=True)
class JobRow:
    """A job as the page and the CLI list it: its items by the name a person knows them by
    (the batch's ref, or the items file's name), not by a record id or a digest."""

    job: LlmJob
    batch_ref: str | None = None

    @property
    def items_file(self) -> str | None:
        return None if self.job.batch_id is not None else (self.job.items_name or None)

    @property
    def items_name(self) -> str:
        if self.batch_ref is not None:
            return f"batch {self.batch_ref}"
        if self.items_file is not None:
            return self.items_file
        # a file labelled before its name was kept: a short digest to tell files apart
        return self.job.items_source.removeprefix("items ")[:12] + " (items file)"


def job_rows(jobs: Sequence[LlmJob], *, session: Session) -> list[JobRow]:
    """``jobs`` with their batches' refs."""
    batch_ids = {j.batch_id for j in jobs if j.batch_id is not None}
    refs = dict(session.exec(select(Batch.id, Batch.ref).where(col(Batch.id).in_(batch_ids))).all())
    return [JobRow(j, refs.get(j.batch_id) if j.batch_id is not None else None) for j in jobs]


@dataclass(frozen=True)
class Problem:
    """An item a job could not label: its last answer was outside the label set (``invalid``,
    with that raw answer), or every request for it failed (``failed``, with the last error).
    Both are data to read, as the LLM or the endpoint wrote them."""

    item_id: str
    status: str  # "invalid" or "failed"
    answer: str | None  # the raw answer of an invalid item (None from journals before it was kept)
    problem: str  # why it is invalid, or the error


def problems(jobs_dir: Path, job_id: int) -> list[Problem]:
    """The job's invalid and failed items from its journal, by the rules of ``totals``: invalid
    items first, each group by item id."""
    found = []
    for item, entries in read_journal(journal_path(jobs_dir, job_id)).items():
        outcomes = [e for e in entries if e["status"] not in (SENT, CANCELLED)]
        final = next((e for e in reversed(outcomes) if e["status"] != "failed"), None)
        if final is not None and final["status"] == "invalid":
            found.append(Problem(item, "invalid", final.get("answer"), final.get("problem") or ""))
        elif final is None and outcomes:
            found.append(Problem(item, "failed", None, outcomes[-1].get("problem") or ""))
    return sorted(found, key=lambda p: (p.status != "invalid", p.item_id))
