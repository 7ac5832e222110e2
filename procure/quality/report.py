"""Batch quality from the label store: vendor consensus against LLM labels and gold labels,
the vendor's own annotators' agreement as the human ceiling, per-annotator figures and the
trend by delivery week. DuckDB reduces the stored labels to confusion matrices and count
patterns; the statistics are those of ``procure.quality.stats.agreement`` (choices documented there and in
``procure.quality.files``: consensus is the most frequent label, ties to the first in the label order).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
from sqlmodel import Session, col, select

from procure.errors import InputError, NotFoundError
from procure.kinds import LabelKind, LabelSource, Level
from procure.quality.files import PatternCodec, against_report, consensus
from procure.quality.stats import agreement as ag
from procure.quality.stats.acceptance import recommend
from procure.records.catalog import get_task_type
from procure.records.models import AcceptanceRule, Batch, LabelSet, LlmRun, Review, TaskType
from procure.records.workspace import record_event

# A view, not a table: the labels stay in their Parquet files and are read where needed. Views
# cannot take parameters, so the store's own file paths are written in as quoted literals.
# Each file's week is a constant of its own scan (no join on file names).
LABELS = "CREATE OR REPLACE TEMP VIEW {name} AS {scans}"
LABEL_SCAN = "SELECT item_id, annotator_id, label_code AS code, {week}::BIGINT AS week FROM read_parquet({file})"
REVIEWS = """
CREATE OR REPLACE TEMP TABLE reviews AS
SELECT unnest(CAST($review_items AS VARCHAR[])) AS item_id, unnest(CAST($review_codes AS INTEGER[])) AS code
"""
# Reviews are gold; the newest review of an item wins over the gold files.
GOLD = """
CREATE OR REPLACE TEMP TABLE gold_consensus AS
SELECT item_id, code, NULL::BIGINT AS week FROM reviews {files}
"""
GOLD_FILES = """
UNION ALL
SELECT item_id, code, week FROM gold_files_consensus WHERE item_id NOT IN (SELECT item_id FROM reviews)
"""
# Each item's count vector as one number (see procure.quality.files), in one grouping of the labels;
# the consensus of each distinct vector is worked out once and joined back.
ITEM_KEYS = """
CREATE OR REPLACE TEMP TABLE {name}_items AS
SELECT item_id, sum(CAST($weights AS {key_type}[])[code + 1]) AS key, min(week) AS week
FROM {name} GROUP BY item_id
"""
# The same with the count vector written as text, when base^k does not fit in 128 bits.
TEXT_ITEM_KEYS = """
CREATE OR REPLACE TEMP TABLE {name}_items AS
SELECT item_id, string_agg(code || ':' || n, ',' ORDER BY code) AS key, min(week) AS week
FROM (SELECT item_id, code, count(*) AS n, min(week) AS week FROM {name} GROUP BY ALL)
GROUP BY item_id
"""
DISTINCT_KEYS = "SELECT DISTINCT key FROM {name}_items"
KEY_CONSENSUS = """
CREATE OR REPLACE TEMP TABLE {name}_consensus AS
SELECT item_id, c.code, week FROM {name}_items
JOIN (SELECT unnest(CAST($keys AS {key_type}[])) AS key, unnest($codes) AS code) AS c USING (key)
"""
# One label set of one annotator holds one label per item (the import drops an annotator's
# repeats and refuses conflicts): its rows are the consensus, read in place.
ONE_ANNOTATOR_CONSENSUS = (
    "CREATE OR REPLACE TEMP VIEW {name}_consensus AS SELECT item_id, code, week FROM {name}"
)
PATTERNS = "SELECT key, count(*) FROM vendor_items GROUP BY key ORDER BY key"
# By the first source's week (a vendor batch's delivery week; none for LLM and gold labels).
PAIR = """
SELECT a.week, a.code, b.code, count(*) FROM {a}_consensus AS a JOIN {b}_consensus AS b USING (item_id)
GROUP BY ALL ORDER BY 1
"""
PER_ANNOTATOR = """
SELECT v.annotator_id, v.code, r.code, count(*) FROM vendor AS v JOIN {reference}_consensus AS r USING (item_id)
GROUP BY ALL
"""
VOLUME = "SELECT annotator_id, count(*) FROM vendor GROUP BY annotator_id ORDER BY 2 DESC, 1"
# The base of a source's keys: one more than its annotators, the most labels an item can have.
BASE = "CREATE OR REPLACE TEMP TABLE {name}_base AS SELECT count(DISTINCT annotator_id) + 1 AS base FROM {name}"


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


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _load(
    con: duckdb.DuckDBPyConnection, name: str, store: Path, sets: list[tuple[LabelSet, int | None]]
) -> None:
    scans = " UNION ALL ".join(
        LABEL_SCAN.format(
            file=_literal(str(store / s.path)), week="NULL" if week is None else int(week)
        )
        for s, week in sets
    )
    con.execute(LABELS.format(name=name, scans=scans))


def _codec(con: duckdb.DuckDBPyConnection, name: str, k: int) -> PatternCodec:
    """How ``{name}_items`` keys are written (``_consensus`` fixed the base)."""
    row = con.execute(f"SELECT base FROM {name}_base").fetchone()
    assert row is not None
    return PatternCodec(k, int(row[0]))


def _consensus(con: duckdb.DuckDBPyConnection, name: str, k: int) -> None:
    """``{name}_items`` (each item's count vector as a key) and ``{name}_consensus`` (each
    item's consensus code and week)."""
    con.execute(BASE.format(name=name))
    codec = _codec(con, name, k)
    if codec.numeric:
        con.execute(
            ITEM_KEYS.format(name=name, key_type=codec.key_type), {"weights": codec.weights}
        )
    else:
        con.execute(TEXT_ITEM_KEYS.format(name=name))
    keys = [row[0] for row in con.execute(DISTINCT_KEYS.format(name=name)).fetchall()]
    con.execute(
        KEY_CONSENSUS.format(name=name, key_type=codec.key_type if codec.numeric else "VARCHAR"),
        {
            "keys": [str(key) for key in keys],
            "codes": [consensus(codec.decode(key)) for key in keys],
        },
    )


def _vendor_patterns(con: duckdb.DuckDBPyConnection, k: int) -> tuple[ag.IntArray, ag.IntArray]:
    """The vendor's per-item count vectors as distinct patterns and their frequencies."""
    codec = _codec(con, "vendor", k)
    rows = con.execute(PATTERNS).fetchall()
    patterns = np.array([codec.decode(key) for key, _ in rows], dtype=np.int64).reshape(
        len(rows), k
    )
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


Loaded = tuple[duckdb.DuckDBPyConnection, list[str]]
ALL_SOURCES = ("vendor", "llm", "gold")


@contextmanager
def loaded_labels(
    session: Session, store: Path, selection: Selection, sources: tuple[str, ...] = ALL_SOURCES
) -> Iterator[Loaded]:
    """One DuckDB connection with the selection's labels and consensus loaded, for several
    reports to share; yields the connection and which sources are present."""
    with duckdb.connect() as con:
        yield (
            con,
            _load_all(con, session, store, selection, len(selection.task_type.labels), sources),
        )


def quality_report(
    session: Session, store: Path, selection: Selection, loaded: Loaded | None = None
) -> dict[str, Any]:
    """Everything the Quality page and ``procure quality --json`` show for one selection."""
    task_type = selection.task_type
    order = list(task_type.labels)
    if not order:
        raise InputError(f"task type {task_type.key!r} has no label set to compare labels on")
    if loaded is None:
        with loaded_labels(session, store, selection) as fresh:
            return quality_report(session, store, selection, fresh)
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
        "llm_test_retest": test_retest(session, store, selection.llm_runs, k),
    }
    if selection.llm is not None:
        run = session.exec(select(LlmRun).where(LlmRun.label_set_id == selection.llm.id)).first()
        report["llm"] = None if run is None else run.model_dump(mode="json", exclude={"id"})
    con, present = loaded
    by_week: list[tuple[Any, ...]] = []
    for a, b in (("vendor", "llm"), ("vendor", "gold"), ("llm", "gold")):
        if a in present and b in present:
            rows = con.execute(PAIR.format(a=a, b=b)).fetchall()
            by_week = rows if (a, b) == ("vendor", "llm") else by_week
            confusion = ag.confusion_from_counts((row[1:] for row in rows), k)
            report["pairs"][f"{a}_vs_{b}"] = against_report(confusion, order, level)
    if "vendor" in present:
        patterns, frequency = _vendor_patterns(con, k)
        report["human"] = {
            "items": int(frequency.sum()),
            "percent_agreement": ag.percent_agreement(patterns, frequency),
            "krippendorff_alpha": ag.krippendorff_alpha(patterns, level, None, frequency),
            "gwet_ac1": ag.gwet_ac1(patterns, frequency),
            "fleiss_kappa": ag.fleiss_kappa(patterns, frequency),
        }
        report["annotators"] = _annotators(con, present, k)
        if by_week:
            weeks: dict[int, list[tuple[int, int, int]]] = {}
            for week, a, b, n in by_week:
                weeks.setdefault(int(week), []).append((a, b, n))
            report["weeks"] = [
                {"week": week, **_short(ag.confusion_from_counts(rows, k))}
                for week, rows in sorted(weeks.items())
            ]
    return report


RUN_PAIR = """
SELECT a.label_code, b.label_code, count(*)
FROM read_parquet($first) AS a JOIN read_parquet($second) AS b USING (item_id, annotator_id)
GROUP BY ALL
"""


def test_retest(
    session: Session, store: Path, runs: tuple[LabelSet, ...], k: int
) -> list[dict[str, Any]]:
    """Consistency of repeated LLM runs: each repeat of a model and prompt version against its
    first run, on the items both labelled (same item and annotator)."""
    details = {
        r.label_set_id: r
        for r in session.exec(
            select(LlmRun).where(col(LlmRun.label_set_id).in_([s.id for s in runs]))
        )
    }
    groups: dict[tuple[str, str], list[LabelSet]] = {}
    for label_set in runs:
        run = details.get(label_set.id or 0)
        if run is not None:
            groups.setdefault((run.model, run.prompt_version), []).append(label_set)
    results = []
    with duckdb.connect() as con:
        for (model, prompt), sets in groups.items():
            first = sets[0]
            for repeat in sets[1:]:
                rows = con.execute(
                    RUN_PAIR, {"first": str(store / first.path), "second": str(store / repeat.path)}
                ).fetchall()
                results.append(
                    {
                        "model": model,
                        "prompt_version": prompt,
                        "runs": [first.id, repeat.id],
                        **_short(ag.confusion_from_counts(rows, k)),
                    }
                )
    return results


def _load_all(
    con: duckdb.DuckDBPyConnection,
    session: Session,
    store: Path,
    selection: Selection,
    k: int,
    sources: tuple[str, ...] = ALL_SOURCES,
) -> list[str]:
    """Load vendor, LLM and gold labels (those in ``sources``) with a consensus per item; gold is
    the gold files plus the reviews, the newest review of an item winning. Returns which of the
    three are present."""
    sets: dict[str, list[tuple[LabelSet, int | None]]] = {
        "vendor": [(s, b.week) for s, b in selection.vendor] if "vendor" in sources else [],
        "llm": [(selection.llm, None)] if selection.llm and "llm" in sources else [],
        "gold_files": [(s, None) for s in selection.gold] if "gold" in sources else [],
    }
    for name, files in sets.items():
        if files:
            _load(con, name, store, files)
            # The vendor's item keys are kept for the patterns and the queue.
            if name != "vendor" and len(files) == 1 and files[0][0].annotators == 1:
                con.execute(ONE_ANNOTATOR_CONSENSUS.format(name=name))
            else:
                _consensus(con, name, k)
    reviews = latest_reviews(session, selection.task_type) if "gold" in sources else {}
    con.execute(REVIEWS, {"review_items": list(reviews), "review_codes": list(reviews.values())})
    has_gold = bool(reviews or sets["gold_files"])
    if has_gold:
        con.execute(GOLD.format(files=GOLD_FILES if sets["gold_files"] else ""))
    return [name for name in ("vendor", "llm") if sets[name]] + (["gold"] if has_gold else [])


def latest_reviews(session: Session, task_type: TaskType) -> dict[str, int]:
    """item -> label code of the newest review of each item of a task type."""
    code = {label: i for i, label in enumerate(task_type.labels)}
    rows = session.exec(
        select(Review)
        .where(Review.task_type_id == task_type.id)
        .order_by(col(Review.created_at), col(Review.id))
    ).all()
    return {review.item_id: code[review.label] for review in rows if review.label in code}


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
            figures[who][f"vs_{reference}"] = _short(ag.confusion_from_counts(rows, k))
    return list(figures.values())


# --- reviews and the disagreement queue ------------------------------------------------------

# The vendor's votes are its count vector (the key in vendor_items), decoded by the caller.
QUEUE = """
WITH candidates AS (
    SELECT v.item_id, v.code AS vendor_code, l.code AS llm_code, {confidence} AS confidence
    FROM vendor_consensus AS v JOIN llm_consensus AS l USING (item_id) {confidence_join}
    WHERE v.code <> l.code AND v.item_id NOT IN (SELECT item_id FROM reviews)
    ORDER BY confidence DESC NULLS LAST, v.item_id
    LIMIT $limit
)
SELECT c.item_id, c.vendor_code, c.llm_code, votes.key, c.confidence, {text} AS text
FROM candidates AS c
JOIN vendor_items AS votes USING (item_id) {text_join}
ORDER BY c.confidence DESC NULLS LAST, c.item_id
"""
CONFIDENCE_JOIN = """
LEFT JOIN (SELECT item_id, max(confidence) AS confidence FROM read_parquet($llm_path) GROUP BY item_id)
    AS c USING (item_id)
"""
TEXT_JOIN = """
LEFT JOIN (SELECT item_id, any_value(text) AS text FROM read_parquet($text_paths, union_by_name = true)
           WHERE item_id IN (SELECT item_id FROM candidates) GROUP BY item_id) AS texts USING (item_id)
"""


def add_review(
    session: Session,
    task_type_key: str,
    item_id: str,
    label: str,
    *,
    reviewer: str = "",
    note: str = "",
) -> Review:
    """Record the correct label of an item; it counts as gold in every figure from now on."""
    task_type = get_task_type(session, task_type_key)
    if not item_id.strip():
        raise InputError("expected the id of the reviewed item", field="item")
    if label not in task_type.labels:
        raise InputError(
            f"{label!r} is not a label of {task_type_key!r}; expected one of {', '.join(task_type.labels)}",
            field="label",
        )
    review = Review(
        task_type_id=task_type.id or 0,
        item_id=item_id.strip(),
        label=label,
        reviewer=reviewer.strip(),
        note=note,
    )
    session.add(review)
    session.flush()
    record_event(session, "review", "item", item_id, f"{task_type_key}: {label}")
    return review


def disagreement_queue(
    session: Session,
    store: Path,
    selection: Selection,
    limit: int = 50,
    loaded: Loaded | None = None,
) -> list[dict[str, Any]]:
    """Items where the vendor consensus and the LLM differ and nobody has reviewed yet, the LLM's
    most confident disagreements first (when its file has a confidence column)."""
    if not selection.vendor or selection.llm is None:
        return []
    if loaded is None:
        with loaded_labels(session, store, selection) as fresh:
            return disagreement_queue(session, store, selection, limit, fresh)
    order = list(selection.task_type.labels)
    con, _ = loaded
    llm_path = str(store / selection.llm.path)
    text_paths = [str(store / s.path) for s, _ in selection.vendor] + [llm_path]
    has_confidence = "confidence" in parquet_columns(con, llm_path)
    text_paths = [path for path in text_paths if "text" in parquet_columns(con, path)]
    sql = QUEUE.format(  # files without the optional columns give NULLs
        confidence="c.confidence" if has_confidence else "NULL::DOUBLE",
        confidence_join=CONFIDENCE_JOIN if has_confidence else "",
        text="texts.text" if text_paths else "NULL::VARCHAR",
        text_join=TEXT_JOIN if text_paths else "",
    )
    params: dict[str, object] = {"limit": limit}
    if has_confidence:
        params["llm_path"] = llm_path
    if text_paths:
        params["text_paths"] = text_paths
    rows = con.execute(sql, params).fetchall()
    codec = _codec(con, "vendor", len(order))
    return [
        {
            "item_id": item,
            "vendor_consensus": order[vendor],
            "llm_label": order[llm],
            "vendor_votes": ", ".join(
                f"{order[code]} x{n}" for code, n in enumerate(codec.decode(key)) if n
            ),
            "llm_confidence": confidence,
            "text": text,
        }
        for item, vendor, llm, key, confidence, text in rows
    ]


def parquet_columns(con: duckdb.DuckDBPyConnection, path: str) -> set[str]:
    """The column names of a stored label file (optional columns vary by file)."""
    return {
        row[0]
        for row in con.execute("DESCRIBE SELECT * FROM read_parquet($p)", {"p": path}).fetchall()
    }


# --- figures for the economics model ---------------------------------------------------------

GOLD_MATCHES = """
SELECT count(*), count(*) FILTER (WHERE s.code = g.code)
FROM {name}_consensus AS s JOIN gold_consensus AS g USING (item_id)
"""
# The LLM's errors against gold, and how many of them fall among its least confident share.
ERROR_CAPTURE = """
WITH scored AS (
    SELECT l.label_code <> g.code AS wrong,
           row_number() OVER (ORDER BY l.confidence, l.item_id) AS rank,
           count(*) OVER () AS n
    FROM read_parquet($path) AS l JOIN gold_consensus AS g USING (item_id)
    WHERE l.confidence IS NOT NULL
)
SELECT count(*) FILTER (WHERE wrong), count(*) FILTER (WHERE wrong AND rank <= $share * n)
FROM scored
"""


def gold_matches(
    session: Session, store: Path, selection: Selection, source: str
) -> tuple[int, int]:
    """(items with gold, items whose ``source`` consensus equals gold) for ``vendor`` or ``llm``."""
    with loaded_labels(session, store, selection, (source, "gold")) as (con, present):
        if source not in present or "gold" not in present:
            return 0, 0
        row = con.execute(GOLD_MATCHES.format(name=source)).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def error_capture(
    session: Session, store: Path, selection: Selection, share: float
) -> tuple[int, int] | None:
    """(LLM errors against gold, those among its ``share`` least confident items), or ``None``
    when the run has no confidence column or no gold overlap."""
    if selection.llm is None:
        return None
    path = str(store / selection.llm.path)
    with loaded_labels(session, store, selection, ("gold",)) as (con, present):
        if "gold" not in present or "confidence" not in parquet_columns(con, path):
            return None
        row = con.execute(ERROR_CAPTURE, {"path": path, "share": share}).fetchone()
    return (int(row[0]), int(row[1])) if row and row[0] else None


# --- batch acceptance ------------------------------------------------------------------------

EVIDENCE = """
SELECT count(*), count(*) FILTER (WHERE v.code <> g.code)
FROM vendor_consensus AS v JOIN gold_consensus AS g USING (item_id)
"""


def set_rule(
    session: Session,
    contract_id: int,
    task_type_key: str,
    *,
    max_error_rate: Decimal | float | str,
    min_reviewed: int = 30,
) -> AcceptanceRule:
    """The acceptance rule of a contract's task type (one per pair, replaced when set again)."""
    task_type = get_task_type(session, task_type_key)
    try:
        rate = Decimal(str(max_error_rate))
    except ArithmeticError:
        raise InputError(
            f"expected a share between 0 and 1, got {max_error_rate!r}", field="max error rate"
        ) from None
    if not rate.is_finite() or not 0 <= rate < 1:
        raise InputError(
            f"expected a share between 0 and 1 (0.05 is 5%), got {max_error_rate}",
            field="max error rate",
        )
    if min_reviewed < 1:
        raise InputError(
            f"expected at least 1 reviewed item, got {min_reviewed}", field="min reviewed"
        )
    rule = session.exec(
        select(AcceptanceRule).where(
            AcceptanceRule.contract_id == contract_id, AcceptanceRule.task_type_id == task_type.id
        )
    ).first() or AcceptanceRule(
        contract_id=contract_id, task_type_id=task_type.id or 0, max_error_rate=rate
    )
    rule.max_error_rate, rule.min_reviewed = rate, min_reviewed
    session.add(rule)
    session.flush()
    record_event(
        session,
        "set",
        "acceptance_rule",
        rule.id,
        f"{task_type_key}: {rate} ({min_reviewed} items)",
    )
    return rule


DEFAULT_RULE = (Decimal("0.05"), 30)


def batch_evidence(session: Session, store: Path, batch_id: int) -> dict[str, Any]:
    """The reviewed items of a batch, its error rate against gold and reviews, the contract's
    rule (5% with 30 items when none is set) and the recommendation."""
    batch = session.get(Batch, batch_id)
    if batch is None:
        raise NotFoundError(f"no batch with id {batch_id}", field="batch")
    task_type = session.get(TaskType, batch.task_type_id)
    assert task_type is not None
    rule = session.exec(
        select(AcceptanceRule).where(
            AcceptanceRule.contract_id == batch.contract_id,
            AcceptanceRule.task_type_id == task_type.id,
        )
    ).first()
    max_rate, min_reviewed = (rule.max_error_rate, rule.min_reviewed) if rule else DEFAULT_RULE
    selection = select_labels(session, task_type.key, batch_ids=[batch_id])
    reviewed = errors = 0
    if selection.vendor and (selection.gold or latest_reviews(session, task_type)):
        with loaded_labels(session, store, selection, ("vendor", "gold")) as (con, present):
            if "gold" in present:
                row = con.execute(EVIDENCE).fetchone()
                reviewed, errors = (int(v or 0) for v in (row or (0, 0)))
    advice = recommend(
        errors,
        reviewed,
        max_error_rate=float(max_rate),
        min_reviewed=min_reviewed,
        quantity=batch.quantity,
    )
    return {
        "batch_id": batch.id,
        "ref": batch.ref,
        "quantity": batch.quantity,
        "status": str(batch.status),
        "labelled": bool(selection.vendor),
        "rule": {
            "max_error_rate": float(max_rate),
            "min_reviewed": min_reviewed,
            "default": rule is None,
        },
        "reviewed": advice.reviewed,
        "errors": advice.errors,
        "error_rate": advice.error_rate,
        "error_rate_ci95": None
        if advice.interval is None
        else [advice.interval.low, advice.interval.high],
        "recommendation": advice.verdict.value,
        "suggested_accepted_quantity": advice.suggested_accepted_quantity,
        "reason": advice.reason,
    }


# --- Dawid-Skene -----------------------------------------------------------------------------

CODED_VENDOR = """
SELECT dense_rank() OVER (ORDER BY item_id) - 1 AS item, dense_rank() OVER (ORDER BY annotator_id) - 1 AS annotator,
       code, item_id, annotator_id
FROM vendor ORDER BY item, annotator
"""
DS_AGAINST_GOLD = """
SELECT count(*), count(*) FILTER (WHERE e.code = g.code), count(*) FILTER (WHERE v.code = g.code)
FROM estimates AS e JOIN gold_consensus AS g USING (item_id) JOIN vendor_consensus AS v USING (item_id)
"""


def dawid_skene_report(
    session: Session, store: Path, selection: Selection
) -> dict[str, Any] | None:
    """Dawid-Skene over the vendor's annotators: each one's estimated accuracy and confusion
    matrix, and, where gold exists, how often the estimated labels and the majority agree with it."""
    from procure.quality.stats.dawid_skene import dawid_skene

    if not selection.vendor:
        return None
    order = list(selection.task_type.labels)
    with duckdb.connect() as con:
        present = _load_all(con, session, store, selection, len(order))
        coded = con.execute(CODED_VENDOR).fetchnumpy()
        fit = dawid_skene(
            coded["item"].astype(np.int64),
            coded["annotator"].astype(np.int64),
            coded["code"].astype(np.int64),
            len(order),
        )
        item_ids = np.unique(coded["item_id"])  # dense_rank order is sorted order
        annotators = np.unique(coded["annotator_id"])
        against_gold = None
        if "gold" in present:
            con.execute(
                "CREATE TEMP TABLE estimates AS SELECT unnest($items) AS item_id, unnest($codes) AS code",
                {"items": item_ids.tolist(), "codes": fit.labels.tolist()},
            )
            n, estimated, majority = con.execute(DS_AGAINST_GOLD).fetchone() or (0, 0, 0)
            against_gold = {
                "items": n,
                "dawid_skene": estimated / n if n else None,
                "majority": majority / n if n else None,
            }
    return {
        "iterations": fit.iterations,
        "converged": fit.converged,
        "priors": dict(zip(order, fit.priors.tolist(), strict=True)),
        "annotators": [
            {
                "annotator": str(who),
                "estimated_accuracy": float(accuracy),
                "confusion": confusion.tolist(),
            }
            for who, accuracy, confusion in zip(
                annotators, fit.annotator_accuracy, fit.confusion, strict=True
            )
        ],
        "against_gold": against_gold,
    }


def quality_page(
    session: Session, store: Path, selection: Selection, queue_limit: int = 100
) -> dict[str, Any]:
    """The report and the disagreement queue from one load of the labels (what the page shows)."""
    with loaded_labels(session, store, selection) as loaded:
        return {
            "report": quality_report(session, store, selection, loaded),
            "queue": disagreement_queue(session, store, selection, queue_limit, loaded),
        }
