"""Which label sets a quality figure reads: a task type's vendor batches, one LLM run and the gold
sets (with the reviews, which count as gold)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from procure.errors import NotFoundError
from procure.kinds import LabelSource
from procure.records.catalog import get_task_type
from procure.records.models import Batch, Contract, LabelSet, TaskType, Vendor


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
    task_type_key: str,
    *,
    session: Session,
    batch_ids: list[int] | None = None,
    llm_set_id: int | None = None,
) -> Selection:
    """The vendor labels of the given batches (default: every labelled batch of the task type),
    the given LLM run (default: the newest) and all gold sets of the task type."""
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
