"""Batch quality from the label store: vendor consensus against LLM labels and gold labels,
the vendor's own annotators' agreement as the human ceiling, per-annotator figures and the
trend by delivery week. DuckDB reduces the stored labels to confusion matrices and count
patterns; the statistics are those of ``procure.agreement`` (choices documented there and in
``procure.compare``: consensus is the most frequent label, ties to the first in the label order).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
from sqlmodel import Session, col, select

from procure import agreement as ag
from procure.compare import against_report
from procure.errors import InputError, NotFoundError
from procure.kinds import LabelKind, LabelSource, Level
from procure.models import Batch, LabelSet, LlmRun, TaskType

LABELS = """
CREATE OR REPLACE TEMP TABLE {name} AS
SELECT l.item_id, l.annotator_id, l.label_code AS code, m.week
FROM read_parquet($paths_{name}, filename = true) AS l
JOIN (SELECT unnest($files_{name}) AS filename, unnest($weeks_{name}) AS week) AS m USING (filename)
"""
CONSENSUS = """
CREATE OR REPLACE TEMP TABLE {name}_consensus AS
SELECT item_id, arg_max(code, n * $k - code) AS code, min(week) AS week
FROM (SELECT item_id, code, count(*) AS n, min(week) AS week FROM {name} GROUP BY ALL)
GROUP BY item_id
"""
PAIR = """
SELECT a.code, b.code, count(*) FROM {a}_consensus AS a JOIN {b}_consensus AS b USING (item_id)
GROUP BY ALL
"""
PAIR_BY_WEEK = """
SELECT a.week, a.code, b.code, count(*) FROM {a}_consensus AS a JOIN {b}_consensus AS b USING (item_id)
GROUP BY ALL ORDER BY 1
"""
PER_ANNOTATOR = """
SELECT v.annotator_id, v.code, r.code, count(*) FROM vendor AS v JOIN {reference}_consensus AS r USING (item_id)
GROUP BY ALL
"""
VOLUME = "SELECT annotator_id, count(*) FROM vendor GROUP BY annotator_id ORDER BY 2 DESC, 1"
ITEM_COUNTS = """
SELECT string_agg(code || ':' || n, ',' ORDER BY code) AS key FROM (
    SELECT item_id, code, count(*) AS n FROM vendor GROUP BY ALL
) GROUP BY item_id
"""
PATTERNS = f"SELECT key, count(*) FROM ({ITEM_COUNTS}) GROUP BY key ORDER BY key"


@dataclass(frozen=True)
class Selection:
    """Which labels of one task type to compare: vendor label sets (by batch), an LLM run and
    the task type's gold sets."""

    task_type: TaskType
    vendor: list[tuple[LabelSet, Batch]]
    llm: LabelSet | None
    gold: list[LabelSet]


def select_labels(
    session: Session,
    task_type_key: str,
    *,
    batch_ids: list[int] | None = None,
    llm_set_id: int | None = None,
) -> Selection:
    """The vendor labels of the given batches (default: every labelled batch of the task type),
    the given LLM run (default: the newest) and all gold sets of the task type."""
    task_type = session.exec(select(TaskType).where(TaskType.key == task_type_key)).first()
    if task_type is None:
        raise NotFoundError(f"no task type {task_type_key!r}", field="task type")
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
    return Selection(
        task_type,
        vendor,
        runs[-1] if runs else None,
        [s for s in sets if s.source == LabelSource.gold],
    )


def _load(
    con: duckdb.DuckDBPyConnection, name: str, store: Path, sets: list[tuple[LabelSet, int | None]]
) -> None:
    files = [str(store / s.path) for s, _ in sets]
    con.execute(
        LABELS.format(name=name),
        {
            f"paths_{name}": files,
            f"files_{name}": files,
            f"weeks_{name}": [week for _, week in sets],
        },
    )


def _matrix(rows: list[tuple[Any, ...]], k: int) -> ag.IntArray:
    matrix = np.zeros((k, k), dtype=np.int64)
    for a, b, n in rows:  # at most k x k rows
        matrix[a, b] += n
    return matrix


def _patterns(rows: list[tuple[str, int]], k: int) -> tuple[ag.IntArray, ag.IntArray]:
    patterns = np.zeros((len(rows), k), dtype=np.int64)
    for i, (key, _) in enumerate(rows):  # one row per distinct count pattern
        for part in key.split(","):
            code, n = part.split(":")
            patterns[i, int(code)] = int(n)
    return patterns, np.array([n for _, n in rows], dtype=np.int64)


def _short(confusion: ag.IntArray) -> dict[str, Any]:
    estimate = ag.cohen_kappa_ci(confusion)
    return {
        "items": int(confusion.sum()),
        "percent_agreement": ag.confusion_percent_agreement(confusion),
        "cohen_kappa": None if estimate is None else estimate.kappa,
        "cohen_kappa_ci95": None if estimate is None else [estimate.ci95.low, estimate.ci95.high],
        "gwet_ac1": ag.confusion_gwet_ac1(confusion),
    }


def quality_report(session: Session, store: Path, selection: Selection) -> dict[str, Any]:
    """Everything the Quality page and ``procure quality --json`` show for one selection."""
    task_type = selection.task_type
    order = list(task_type.labels)
    if not order:
        raise InputError(f"task type {task_type.key!r} has no label set to compare labels on")
    k = len(order)
    level = Level.ordinal if task_type.label_kind == LabelKind.ordinal else Level.nominal
    report: dict[str, Any] = {
        "task_type": task_type.key,
        "labels": order,
        "vendor_label_sets": [s.id for s, _ in selection.vendor],
        "llm_label_set": selection.llm.id if selection.llm else None,
        "gold_label_sets": [s.id for s in selection.gold],
        "human": None,
        "pairs": {},
        "annotators": [],
        "weeks": [],
    }
    if selection.llm is not None:
        run = session.exec(select(LlmRun).where(LlmRun.label_set_id == selection.llm.id)).first()
        report["llm"] = None if run is None else run.model_dump(mode="json", exclude={"id"})
    with duckdb.connect() as con:
        sources = {
            "vendor": [(s, b.week) for s, b in selection.vendor],
            "llm": [(selection.llm, None)] if selection.llm else [],
            "gold": [(s, None) for s in selection.gold],
        }
        present = [name for name, sets in sources.items() if sets]
        for name in present:
            _load(con, name, store, sources[name])  # type: ignore[arg-type]
            con.execute(CONSENSUS.format(name=name), {"k": k})
        for a, b in (("vendor", "llm"), ("vendor", "gold"), ("llm", "gold")):
            if a in present and b in present:
                confusion = _matrix(con.execute(PAIR.format(a=a, b=b)).fetchall(), k)
                report["pairs"][f"{a}_vs_{b}"] = against_report(confusion, order, level)
        if "vendor" in present:
            patterns, frequency = _patterns(con.execute(PATTERNS).fetchall(), k)
            report["human"] = {
                "items": int(frequency.sum()),
                "percent_agreement": ag.percent_agreement(patterns, frequency),
                "krippendorff_alpha": ag.krippendorff_alpha(patterns, level, None, frequency),
                "gwet_ac1": ag.gwet_ac1(patterns, frequency),
                "fleiss_kappa": ag.fleiss_kappa(patterns, frequency),
            }
            report["annotators"] = _annotators(con, present, k)
            if "llm" in present:
                weeks: dict[int, list[tuple[int, int, int]]] = {}
                for week, a, b, n in con.execute(
                    PAIR_BY_WEEK.format(a="vendor", b="llm")
                ).fetchall():
                    weeks.setdefault(int(week), []).append((a, b, n))
                report["weeks"] = [
                    {"week": week, **_short(_matrix(rows, k))}
                    for week, rows in sorted(weeks.items())
                ]
    return report


def _annotators(con: duckdb.DuckDBPyConnection, present: list[str], k: int) -> list[dict[str, Any]]:
    """Each vendor annotator's volume and agreement with the LLM and with gold."""
    volume = dict(con.execute(VOLUME).fetchall())
    figures: dict[str, dict[str, Any]] = {
        who: {"annotator": who, "labels": n} for who, n in volume.items()
    }
    for reference in ("llm", "gold"):
        if reference not in present:
            continue
        cells: dict[str, list[tuple[int, int, int]]] = {}
        for who, a, b, n in con.execute(PER_ANNOTATOR.format(reference=reference)).fetchall():
            cells.setdefault(who, []).append((a, b, n))
        for who, rows in cells.items():
            figures[who][f"vs_{reference}"] = _short(_matrix(rows, k))
    return list(figures.values())
