"""Which label sets a quality figure reads: a task type's vendor batches, one LLM run and the gold
sets (with the reviews, which count as gold).

The LLM run is a choice the user makes; by default it is the run that labels the most of the
selected items (the vendor batches' items, else the gold items), the newest among equals: a run
on unrelated items never takes over a comparison just by being newer."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import duckdb
from sqlmodel import Session, col, select

from procure.errors import NotFoundError
from procure.kinds import LabelSource
from procure.records.catalog import get_task_type
from procure.records.models import Batch, Contract, LabelSet, LlmRun, TaskType, Vendor

# How many items the selection has, and how many of them each run labels: one pass over the
# selected files, one over the runs.
COVERAGE = """
WITH selected AS MATERIALIZED (SELECT DISTINCT item_id FROM read_parquet($selected)),
labelled AS (SELECT DISTINCT filename, item_id FROM read_parquet($runs, filename = true))
SELECT NULL, count(*) FROM selected
UNION ALL
SELECT filename, count(*) FROM labelled SEMI JOIN selected USING (item_id) GROUP BY filename
"""


@dataclass(frozen=True)
class LlmRunChoice:
    """An LLM run a comparison may read, and how much of the selection it covers: ``covered``
    of the ``selected`` items (vendor items, else gold items; ``None`` when there are none)."""

    label_set_id: int
    name: str
    model: str
    prompt_version: str
    imported_at: datetime
    items: int
    covered: int | None
    selected: int | None
    chosen: bool  # the user picked it (else it is the default)

    @property
    def title(self) -> str:
        """How every heading names the run."""
        prompt = f", prompt {self.prompt_version}" if self.prompt_version else ""
        cover = (
            f"{self.items:,} items"
            if self.covered is None
            else f"labels {self.covered:,} of the {self.selected:,} selected items"
        )
        return f"LLM run {self.label_set_id} ({self.model}{prompt}, {self.imported_at:%Y-%m-%d}): {cover}"


@dataclass(frozen=True)
class Selection:
    """Which labels of one task type to compare: vendor label sets (by batch), an LLM run and
    the task type's gold sets."""

    task_type: TaskType
    vendor: list[tuple[LabelSet, Batch]]
    llm: LabelSet | None
    gold: list[LabelSet]
    llm_runs: tuple[LabelSet, ...] = ()  # every LLM run of the task type, for test-retest
    llm_choice: LlmRunChoice | None = None  # ``llm`` as the headings name it


def select_labels(
    task_type_key: str,
    *,
    session: Session,
    store: Path,
    batch_ids: list[int] | None = None,
    llm_set_id: int | None = None,
    with_llm: bool = True,
    llm_choices: list[LlmRunChoice] | None = None,
) -> Selection:
    """The vendor labels of the given batches (``None``: every labelled batch of the task type;
    an empty list: none),
    the given LLM run (default: the one covering the most selected items; none without
    ``with_llm``) and all gold sets of the task type. ``llm_choices`` are the runs'
    ``llm_run_choices`` for the same batches, when the caller has them already."""
    task_type = get_task_type(task_type_key, session=session)
    sets = list(
        session.exec(
            select(LabelSet)
            .where(LabelSet.task_type_id == task_type.id, col(LabelSet.retired_at).is_(None))
            .order_by(col(LabelSet.id))
        )
    )
    batches = {
        b.id: b
        for b in session.exec(
            select(Batch).where(Batch.task_type_id == task_type.id, col(Batch.voided_at).is_(None))
        )
    }
    unknown = sorted(set(batch_ids or ()) - set(batches))
    if unknown:
        raise NotFoundError(
            f"no batch {', '.join(map(str, unknown))} of task type {task_type_key!r} (voided "
            "batches are not compared)",
            field="batch",
        )
    vendor = [
        (s, batches[s.batch_id])
        for s in sets
        if s.source == LabelSource.vendor
        and s.batch_id in batches
        and (batch_ids is None or s.batch_id in batch_ids)
    ]
    runs = tuple(s for s in sets if s.source == LabelSource.llm)
    gold = [s for s in sets if s.source == LabelSource.gold]
    selection = Selection(task_type, vendor, None, gold, runs)
    if llm_set_id is not None and not any(s.id == llm_set_id for s in runs):
        raise NotFoundError(
            f"no LLM run {llm_set_id} for task type {task_type_key!r} (retired runs are not "
            f"compared); runs: {', '.join(str(s.id) for s in runs) or 'none'}",
            field="llm run",
        )
    if not with_llm or not runs:
        return selection
    if llm_choices is None:
        llm_choices = llm_run_choices(store, selection, session=session)
    choice = next((c for c in llm_choices if c.label_set_id == llm_set_id), None)
    choice = llm_choices[0] if choice is None else replace(choice, chosen=True)
    run = next(s for s in runs if s.id == choice.label_set_id)
    return Selection(task_type, vendor, run, gold, runs, choice)


def llm_run_choices(store: Path, selection: Selection, *, session: Session) -> list[LlmRunChoice]:
    """Every LLM run of the selection's task type with how many of the selected items it
    labels, the default first: the most items covered, then the newest."""
    runs = selection.llm_runs
    if not runs:
        return []
    details = {
        r.label_set_id: r
        for r in session.exec(
            select(LlmRun).where(col(LlmRun.label_set_id).in_([s.id for s in runs]))
        )
    }
    selected_sets = [s for s, _ in selection.vendor] or selection.gold
    covered: dict[str, int] = {}
    selected = None
    if selected_sets:
        files = [str(store / s.path) for s in selected_sets]
        with duckdb.connect() as con:
            params = {"runs": [str(store / s.path) for s in runs], "selected": files}
            counts = dict(con.execute(COVERAGE, params).fetchall())
        selected = int(counts.pop(None))
        covered = {name: int(n) for name, n in counts.items()}
    choices = [
        LlmRunChoice(
            label_set_id=s.id or 0,
            name=s.name,
            model=details[s.id].model if s.id in details else s.name,
            prompt_version=details[s.id].prompt_version if s.id in details else "",
            imported_at=s.created_at,
            items=s.items,
            covered=None if selected is None else covered.get(str(store / s.path), 0),
            selected=selected,
            chosen=False,
        )
        for s in runs
    ]
    return sorted(choices, key=lambda c: (-(c.covered or 0), -c.label_set_id))


def batches_of(task_type_key: str, *, session: Session) -> list[Batch]:
    """The delivered batches of a task type, newest first (vendor labels attach to one)."""
    return list(
        session.exec(
            select(Batch)
            .join(TaskType, col(TaskType.id) == col(Batch.task_type_id))
            .where(TaskType.key == task_type_key, col(Batch.voided_at).is_(None))
            .order_by(col(Batch.delivered_on).desc(), col(Batch.id).desc())
        )
    )


def batch_vendors(batch_ids: list[int], *, session: Session) -> dict[int, str]:
    """The vendor name of each batch (batches belong to contracts, contracts to vendors)."""
    rows = session.exec(
        select(Batch.id, Vendor.name)
        .join(Contract, col(Contract.id) == col(Batch.contract_id))
        .join(Vendor, col(Vendor.id) == col(Contract.vendor_id))
        .where(col(Batch.id).in_(batch_ids))
    ).all()
    return {int(batch_id): name for batch_id, name in rows if batch_id is not None}


@dataclass(frozen=True)
class BatchFilter:
    """The batches of a selection that have vendor labels, with each one's vendor: what the
    Labels & quality page filters by vendor and delivery week."""

    batches: list[Batch]
    vendor_of: dict[int, str]

    @property
    def vendors(self) -> list[str]:
        return sorted(set(self.vendor_of.values()))

    @property
    def weeks(self) -> list[int]:
        return sorted({b.week for b in self.batches})

    def chosen(self, vendors: list[str], weeks: list[int]) -> tuple[int, ...] | None:
        """The ids of the batches of these vendors in these weeks (an empty list means any);
        ``None`` when nothing is filtered, so the selection keeps every batch."""
        if not vendors and not weeks:
            return None
        return tuple(
            b.id or 0
            for b in self.batches
            if (not vendors or self.vendor_of.get(b.id or 0) in vendors)
            and (not weeks or b.week in weeks)
        )


def batch_filter(selection: Selection, *, session: Session) -> BatchFilter:
    """The batches of the selection that have vendor labels, with their vendors (to filter by)."""
    labelled = {s.batch_id for s, _ in selection.vendor}
    batches = [b for b in batches_of(selection.task_type.key, session=session) if b.id in labelled]
    return BatchFilter(batches, batch_vendors([b.id or 0 for b in batches], session=session))
