"""Batch quality from the label store: vendor consensus against LLM labels and gold labels,
the vendor's own annotators' agreement as the human ceiling, per-annotator figures and the
trend by delivery week. DuckDB reduces the stored labels to confusion matrices and count
patterns; the statistics are those of ``procure.quality.stats.agreement`` (choices documented there and in
``procure.quality.files``: consensus is the most frequent label; a tie is left out of the
consensus comparisons, or goes to the task type's tie-break order when it has one).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
from sqlmodel import Session, col, select

from procure.errors import InputError
from procure.kinds import LabelKind, Level
from procure.labels.selection import Selection, batch_vendors
from procure.labels.store import parquet_columns
from procure.quality.files import (
    TEXT_KEY,
    PatternCodec,
    against_report,
    consensus,
    tie_break_codes,
)
from procure.quality.preferences import stored_preferences
from procure.quality.results import (
    Agreement,
    AnnotatorFigures,
    Comparison,
    HumanCeiling,
    PreferenceReport,
    QualityReport,
    TestRetest,
    TieGroup,
    TiePolicy,
    Ties,
    WeekAgreement,
)
from procure.quality.stats import agreement as ag
from procure.records.models import Batch, LabelSet, LlmRun, Review, TaskType

# A view, not a table: the labels stay in their Parquet files and are read where needed. Views
# cannot take parameters, so the store's own file paths are written in as quoted literals.
# Each file's week is a constant of its own scan (no join on file names).
LABELS = "CREATE OR REPLACE TEMP VIEW {name} AS {scans}"
LABEL_SCAN = (
    "SELECT item_id, annotator_id, label_code AS code, {week}::BIGINT AS week, "
    "{batch}::BIGINT AS batch FROM read_parquet({file})"
)
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
SELECT item_id, {key_sum} AS key, min(week) AS week, min(batch) AS batch
FROM {name} GROUP BY item_id
"""
# The same with the count vector written as text, when base^k does not fit in 128 bits.
TEXT_ITEM_KEYS = f"""
CREATE OR REPLACE TEMP TABLE {{name}}_items AS
SELECT item_id, {TEXT_KEY} AS key, min(week) AS week, min(batch) AS batch
FROM (SELECT item_id, code, count(*) AS n, min(week) AS week, min(batch) AS batch
      FROM {{name}} GROUP BY ALL)
GROUP BY item_id
"""
DISTINCT_KEYS = "SELECT DISTINCT key FROM {name}_items"
# Each distinct vector's consensus code (NULL for a tie left out) and whether it is a tie.
KEY_CONSENSUS = """
CREATE OR REPLACE TEMP TABLE {name}_keys AS
SELECT unnest(CAST($keys AS {key_type}[])) AS key, unnest(CAST($codes AS INTEGER[])) AS code,
       unnest(CAST($tied AS BOOLEAN[])) AS tied
"""
# Every item with its consensus: NULL where a tie is left unsettled. Figures about items (is
# the vendor right on this gold item?) read this; comparisons of two consensuses read the table.
VERDICTS_OF_KEYS = """
CREATE OR REPLACE TEMP VIEW {name}_verdicts AS
SELECT item_id, k.code, week FROM {name}_items JOIN {name}_keys AS k USING (key)
"""
CONSENSUS_OF_KEYS = """
CREATE OR REPLACE TEMP TABLE {name}_consensus AS
SELECT item_id, code, week FROM {name}_verdicts WHERE code IS NOT NULL
"""
# Items by batch and count vector (a few rows per batch): ties and labels per item come from
# the vectors, without another pass over the labels.
TIES = "SELECT batch, key, count(*) FROM vendor_items GROUP BY ALL"
# One label set of one annotator holds one label per item (the import drops an annotator's
# repeats and refuses conflicts): its rows are the consensus, read in place.
ONE_ANNOTATOR_CONSENSUS = (
    "CREATE OR REPLACE TEMP VIEW {name}_{view} AS SELECT item_id, code, week FROM {name}"
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
# Time per judgement, from the files that record it.
DURATION = """
SELECT annotator_id, median(CAST(duration_s AS DOUBLE)), count(duration_s)
FROM read_parquet($files, union_by_name = true) GROUP BY annotator_id
"""
# The base of a source's keys: one more than its annotators, the most labels an item can have.
BASE = "CREATE OR REPLACE TEMP TABLE {name}_base AS SELECT count(DISTINCT annotator_id) + 1 AS base FROM {name}"


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _load(
    con: duckdb.DuckDBPyConnection,
    name: str,
    store: Path,
    sets: list[tuple[LabelSet, Batch | None]],
) -> None:
    scans = " UNION ALL ".join(
        LABEL_SCAN.format(
            file=_literal(str(store / s.path)),
            week="NULL" if batch is None else int(batch.week),
            batch="NULL" if batch is None else int(batch.id or 0),
        )
        for s, batch in sets
    )
    con.execute(LABELS.format(name=name, scans=scans))


def codec_of(con: duckdb.DuckDBPyConnection, name: str, k: int) -> PatternCodec:
    """How ``{name}_items`` keys are written (``_consensus`` fixed the base)."""
    row = con.execute(f"SELECT base FROM {name}_base").fetchone()
    assert row is not None
    return PatternCodec(k, int(row[0]))


def _consensus(
    con: duckdb.DuckDBPyConnection, name: str, k: int, tie_break: tuple[int, ...]
) -> None:
    """``{name}_items`` (each item's count vector as a key), ``{name}_keys`` (each vector's
    consensus and whether it is a tie), ``{name}_verdicts`` (each item's consensus code, NULL
    for a tie ``tie_break`` does not settle, and week) and ``{name}_consensus`` (the settled
    ones)."""
    con.execute(BASE.format(name=name))
    codec = codec_of(con, name, k)
    if codec.numeric:
        con.execute(ITEM_KEYS.format(name=name, key_sum=codec.key_sum), {"weights": codec.weights})
    else:
        con.execute(TEXT_ITEM_KEYS.format(name=name))
    keys = [row[0] for row in con.execute(DISTINCT_KEYS.format(name=name)).fetchall()]
    vectors = [codec.decode(key) for key in keys]
    con.execute(
        KEY_CONSENSUS.format(name=name, key_type=codec.key_type if codec.numeric else "VARCHAR"),
        {
            "keys": [str(key) for key in keys],
            "codes": [consensus(vector, tie_break) for vector in vectors],
            "tied": [consensus(vector) is None for vector in vectors],
        },
    )
    con.execute(VERDICTS_OF_KEYS.format(name=name))
    con.execute(CONSENSUS_OF_KEYS.format(name=name))


def _vendor_patterns(con: duckdb.DuckDBPyConnection, k: int) -> tuple[ag.IntArray, ag.IntArray]:
    """The vendor's per-item count vectors as distinct patterns and their frequencies."""
    codec = codec_of(con, "vendor", k)
    rows = con.execute(PATTERNS).fetchall()
    patterns = np.array([codec.decode(key) for key, _ in rows], dtype=np.int64).reshape(
        len(rows), k
    )
    return patterns, np.array([n for _, n in rows], dtype=np.int64)


Loaded = tuple[duckdb.DuckDBPyConnection, list[str]]
ALL_SOURCES = ("vendor", "llm", "gold")


@contextmanager
def loaded_labels(
    store: Path, selection: Selection, sources: tuple[str, ...] = ALL_SOURCES, *, session: Session
) -> Iterator[Loaded]:
    """One DuckDB connection with the selection's labels and consensus loaded, for several
    reports to share; yields the connection and which sources are present."""
    with duckdb.connect() as con:
        yield (
            con,
            load_all(
                con, store, selection, len(selection.task_type.labels), sources, session=session
            ),
        )


def quality_report(
    store: Path, selection: Selection, loaded: Loaded | None = None, *, session: Session
) -> QualityReport:
    """Everything the Quality page and ``procure quality --json`` show for one selection."""
    task_type = selection.task_type
    order = list(task_type.labels)
    if not order:
        raise InputError(f"task type {task_type.key!r} has no label set to compare labels on")
    if loaded is None:
        with loaded_labels(store, selection, session=session) as fresh:
            return quality_report(store, selection, fresh, session=session)
    k = len(order)
    level = Level.ordinal if task_type.label_kind == LabelKind.ordinal else Level.nominal
    llm = None
    if selection.llm is not None:
        run = session.exec(select(LlmRun).where(LlmRun.label_set_id == selection.llm.id)).first()
        llm = None if run is None else run.model_dump(mode="json", exclude={"id"})
    con, present = loaded
    by_week: list[tuple[Any, ...]] = []
    pairs: dict[str, Comparison] = {}
    for a, b in (("vendor", "llm"), ("vendor", "gold"), ("llm", "gold")):
        if a in present and b in present:
            rows = con.execute(PAIR.format(a=a, b=b)).fetchall()
            by_week = rows if (a, b) == ("vendor", "llm") else by_week
            confusion = ag.confusion_from_counts((row[1:] for row in rows), k)
            pairs[f"{a}_vs_{b}"] = against_report(confusion, order, level)
    human = None
    annotators: list[AnnotatorFigures] = []
    weeks: list[WeekAgreement] = []
    ties: list[TieGroup] = []
    if "vendor" in present:
        patterns, frequency = _vendor_patterns(con, k)
        human = HumanCeiling(
            items=int(frequency.sum()),
            percent_agreement=ag.percent_agreement(patterns, frequency),
            krippendorff_alpha=ag.krippendorff_alpha(patterns, level, None, frequency),
            gwet_ac1=ag.gwet_ac1(patterns, frequency),
            fleiss_kappa=ag.fleiss_kappa(patterns, frequency),
        )
        annotators = _annotators(con, present, k, _durations(con, store, selection))
        by_week_cells: dict[int, list[tuple[int, int, int]]] = {}
        for week, a, b, n in by_week:
            by_week_cells.setdefault(int(week), []).append((a, b, n))
        weeks = [
            WeekAgreement(week=week, **vars(Agreement.of(ag.confusion_from_counts(rows, k))))
            for week, rows in sorted(by_week_cells.items())
        ]
        ties = _ties(con, selection, k)
    return QualityReport(
        task_type=task_type.key,
        labels=order,
        vendor_label_sets=[s.id or 0 for s, _ in selection.vendor],
        llm_label_set=selection.llm.id if selection.llm else None,
        gold_label_sets=[s.id or 0 for s in selection.gold],
        human=human,
        pairs=pairs,
        annotators=annotators,
        weeks=weeks,
        llm_test_retest=test_retest(store, selection.llm_runs, k, session=session),
        tie_policy=TiePolicy(list(task_type.tie_break)),
        ties=ties,
        llm=llm,
        llm_run=selection.llm_choice,
        preferences=_preferences(con, store, selection, present, session=session),
    )


def _preferences(
    con: duckdb.DuckDBPyConnection,
    store: Path,
    selection: Selection,
    present: list[str],
    *,
    session: Session,
) -> PreferenceReport | None:
    """The preference section of a preference task type (``procure.quality.preferences``)."""
    if selection.task_type.label_kind is not LabelKind.preference:
        return None
    vendors = batch_vendors([b.id or 0 for _, b in selection.vendor], session=session)
    return stored_preferences(
        con,
        store,
        [(s.path, b.ref, b.week, vendors.get(b.id or 0, "")) for s, b in selection.vendor],
        selection.llm.path if selection.llm else None,
        "gold" in present,
        list(selection.task_type.labels),
    )


RUN_PAIR = """
SELECT a.label_code, b.label_code, count(*)
FROM read_parquet($first) AS a JOIN read_parquet($second) AS b USING (item_id, annotator_id)
GROUP BY ALL
"""


def _ties(con: duckdb.DuckDBPyConnection, selection: Selection, k: int) -> list[TieGroup]:
    """The vendor's tied items by batch and by how many labels each item has."""
    codec = codec_of(con, "vendor", k)
    counts: dict[tuple[int, int], list[int]] = {}
    for batch, key, n in con.execute(TIES).fetchall():
        vector = codec.decode(key)
        group = counts.setdefault((int(batch), sum(vector)), [0, 0])
        group[0] += n
        group[1] += n if consensus(vector) is None else 0
    refs = {b.id: b.ref for _, b in selection.vendor}
    return [
        TieGroup(
            **vars(Ties.of(items, tied)),
            batch_id=batch,
            batch_ref=refs.get(batch, str(batch)),
            labels_per_item=labels,
        )
        for (batch, labels), (items, tied) in sorted(counts.items())
    ]


def test_retest(
    store: Path, runs: tuple[LabelSet, ...], k: int, *, session: Session
) -> list[TestRetest]:
    """Consistency of repeated LLM runs: each repeat of a model and prompt version against the
    earliest earlier run it shares items with, on the items both labelled (same item and
    annotator); a repeat that shares no items with an earlier run is not compared."""
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
            for n, repeat in enumerate(sets[1:], start=1):
                for first in sets[:n]:  # the earliest earlier run with items in common
                    rows = con.execute(
                        RUN_PAIR,
                        {"first": str(store / first.path), "second": str(store / repeat.path)},
                    ).fetchall()
                    if rows:
                        results.append(
                            TestRetest(
                                model=model,
                                prompt_version=prompt,
                                runs=(first.id or 0, repeat.id or 0),
                                **vars(Agreement.of(ag.confusion_from_counts(rows, k))),
                            )
                        )
                        break
    return results


def load_all(
    con: duckdb.DuckDBPyConnection,
    store: Path,
    selection: Selection,
    k: int,
    sources: tuple[str, ...] = ALL_SOURCES,
    *,
    session: Session,
) -> list[str]:
    """Load vendor, LLM and gold labels (those in ``sources``) with a consensus per item; gold is
    the gold files plus the reviews, the newest review of an item winning. Returns which of the
    three are present."""
    sets: dict[str, list[tuple[LabelSet, Batch | None]]] = {
        "vendor": list(selection.vendor) if "vendor" in sources else [],
        "llm": [(selection.llm, None)] if selection.llm and "llm" in sources else [],
        "gold_files": [(s, None) for s in selection.gold] if "gold" in sources else [],
    }
    for name, files in sets.items():
        if files:
            _load(con, name, store, files)
            # The vendor's item keys are kept for the patterns and the queue.
            if name != "vendor" and len(files) == 1 and files[0][0].annotators == 1:
                for view in ("verdicts", "consensus"):
                    con.execute(ONE_ANNOTATOR_CONSENSUS.format(name=name, view=view))
            else:
                _consensus(con, name, k, tie_break_of(selection.task_type))
    reviews = latest_reviews(selection.task_type, session=session) if "gold" in sources else {}
    con.execute(REVIEWS, {"review_items": list(reviews), "review_codes": list(reviews.values())})
    has_gold = bool(reviews or sets["gold_files"])
    if has_gold:
        con.execute(GOLD.format(files=GOLD_FILES if sets["gold_files"] else ""))
    return [name for name in ("vendor", "llm") if sets[name]] + (["gold"] if has_gold else [])


def tie_break_of(task_type: TaskType) -> tuple[int, ...]:
    """The codes of a task type's tie-break order (empty: ties are left out)."""
    return tie_break_codes(list(task_type.labels), task_type.tie_break, source="tie-break")


def task_type_reviews(task_type: TaskType, *, session: Session) -> list[Review]:
    """Every review of a task type, oldest first."""
    return list(
        session.exec(
            select(Review)
            .where(Review.task_type_id == task_type.id)
            .order_by(col(Review.created_at), col(Review.id))
        )
    )


def gold_reviews(task_type: TaskType, reviews: list[Review]) -> dict[str, Review]:
    """item -> the review that is its gold label: the newest of ``reviews`` (oldest first)
    whose label is still one of the task type's."""
    return {review.item_id: review for review in reviews if review.label in task_type.labels}


def latest_reviews(task_type: TaskType, *, session: Session) -> dict[str, int]:
    """item -> label code of each item's gold review (``gold_reviews``)."""
    code = {label: i for i, label in enumerate(task_type.labels)}
    reviews = gold_reviews(task_type, task_type_reviews(task_type, session=session))
    return {item: code[review.label] for item, review in reviews.items()}


def _durations(
    con: duckdb.DuckDBPyConnection, store: Path, selection: Selection
) -> dict[str, tuple[float, int]]:
    """annotator -> (median seconds per judgement, judgements timed), where files have
    ``duration_s``."""
    files = [str(store / s.path) for s, _ in selection.vendor]
    timed = [path for path in files if "duration_s" in parquet_columns(con, path)]
    if not timed:
        return {}
    rows = con.execute(DURATION, {"files": timed}).fetchall()
    return {who: (float(median), int(n)) for who, median, n in rows if n}


def _annotators(
    con: duckdb.DuckDBPyConnection,
    present: list[str],
    k: int,
    durations: dict[str, tuple[float, int]],
) -> list[AnnotatorFigures]:
    """Each vendor annotator's volume, time per item and agreement with the LLM and with gold."""
    versus: dict[str, dict[str, Agreement]] = {"llm": {}, "gold": {}}
    for reference, figures in versus.items():
        if reference not in present:
            continue
        cells: dict[str, list[tuple[int, int, int]]] = {}
        for who, a, b, n in con.execute(PER_ANNOTATOR.format(reference=reference)).fetchall():
            cells.setdefault(who, []).append((a, b, n))
        for who, rows in cells.items():
            figures[who] = Agreement.of(ag.confusion_from_counts(rows, k))
    return [
        AnnotatorFigures(
            annotator=who,
            labels=int(n),
            median_seconds=durations[who][0] if who in durations else None,
            vs_llm=versus["llm"].get(who),
            vs_gold=versus["gold"].get(who),
        )
        for who, n in con.execute(VOLUME).fetchall()
    ]
