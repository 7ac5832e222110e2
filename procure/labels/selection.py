"""Which label sets a quality figure reads: a task type's vendor batches, one LLM run and the gold
sets (with the reviews, which count as gold)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from procure.errors import NotFoundError
from procure.kinds import LabelSource
from procure.records.catalog import get_task_type
from procure.records.models import Batch, LabelSet, TaskType


@dataclass(frozen=True)
class Selection:
    """Which labels of one task type to compare: vendor label sets (by batch), an LLM run and
    the task type's gold sets."""

    task_type: TaskType
    vendor: list[tuple[LabelSet, Batch]]
    llm: LabelSet | None
    gold: list[LabelSet]
    llm_runs: tuple[LabelSet, ...] = ()  # every LLM run of the task type, for test-retest


def select_labels(
    session: Session,
    task_type_key: str,
    *,
    batch_ids: list[int] | None = None,
    llm_set_id: int | None = None,
) -> Selection:
    """The vendor labels of the given batches (default: every labelled batch of the task type),
    the given LLM run (default: the newest) and all gold sets of the task type."""
    task_type = get_task_type(session, task_type_key)
    sets = list(
        session.exec(
            select(LabelSet).where(LabelSet.task_type_id == task_type.id).order_by(col(LabelSet.id))
        )
    )
    batches = {
        b.id: b for b in session.exec(select(Batch).where(Batch.task_type_id == task_type.id))
    }
    vendor = [
        (s, batches[s.batch_id])
        for s in sets
        if s.source == LabelSource.vendor
        and s.batch_id in batches
        and (not batch_ids or s.batch_id in batch_ids)
    ]
    runs = [s for s in sets if s.source == LabelSource.llm]
    if llm_set_id is not None:
        runs = [s for s in runs if s.id == llm_set_id]
        if not runs:
            raise NotFoundError(
                f"no LLM run {llm_set_id} for task type {task_type_key!r}", field="llm run"
            )
    gold = [s for s in sets if s.source == LabelSource.gold]
    every_run = tuple(s for s in sets if s.source == LabelSource.llm)
    return Selection(task_type, vendor, runs[-1] if runs else None, gold, every_run)
