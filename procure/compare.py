"""Agreement of label files: DuckDB aggregates the label rows to compact tables, the statistics
in ``procure.agreement`` run on those.

Choices (also in the README):

- Labels are coded by the order ``--labels`` gives; without it, numeric labels sort as numbers
  and others as text. The same order is the one weighted kappa and ordinal alpha use.
- An annotator's repeated identical judgement of an item counts once.
- A file's per-item *consensus* is its most frequent label; a tie goes to the label that comes
  first in the label order.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from procure import agreement as ag
from procure.errors import InputError
from procure.labelfiles import LabelTable, load_label_file

CODES = """
CREATE OR REPLACE TEMP TABLE codes AS
SELECT unnest($labels) AS label, unnest(range(len($labels))) AS code
"""
OBSERVED_LABELS = "SELECT DISTINCT label FROM {table}"
CODED = """
CREATE OR REPLACE TEMP TABLE {coded} AS
SELECT DISTINCT t.item_id, t.annotator_id, codes.code
FROM {table} AS t JOIN codes USING (label)
"""
SUMMARY = "SELECT count(DISTINCT item_id), count(DISTINCT annotator_id), count(*) FROM {coded}"
PER_ITEM = """
CREATE OR REPLACE TEMP TABLE {per_item} AS
SELECT item_id, code, count(*) AS n FROM {coded} GROUP BY item_id, code
"""
PATTERNS = """
SELECT key, count(*) FROM (
    SELECT string_agg(code || ':' || n, ',' ORDER BY code) AS key FROM {per_item} GROUP BY item_id
) GROUP BY key ORDER BY key
"""
TWO_ANNOTATORS = "SELECT DISTINCT annotator_id FROM {coded} ORDER BY annotator_id"
PAIRED = """
SELECT a.code, b.code, count(*) FROM {coded} AS a JOIN {coded} AS b USING (item_id)
WHERE a.annotator_id = $first AND b.annotator_id = $second GROUP BY ALL
"""
CONSENSUS = """
CREATE OR REPLACE TEMP TABLE {consensus} AS
SELECT item_id, arg_max(code, n * $k - code) AS code FROM {per_item} GROUP BY item_id
"""
CONFUSION = """
SELECT a.code, b.code, count(*) FROM {left} AS a JOIN {right} AS b USING (item_id) GROUP BY ALL
"""


def label_order(
    observed: set[str], given: list[str] | None, *, source: str = "--labels"
) -> list[str]:
    """The label order: ``given`` (which must cover every observed label), else numbers by
    value when every label is a number, else text order.

    >>> label_order({"10", "9", "2.5"}, None)
    ['2.5', '9', '10']
    >>> label_order({"b", "a"}, ["b", "a", "c"])
    ['b', 'a', 'c']
    """
    if given:
        unknown = sorted(observed - set(given))
        if unknown:
            raise InputError(
                f"labels not in the given order: {', '.join(map(repr, unknown))}; expected only "
                f"{', '.join(given)}",
                field=source,
            )
        return list(given)
    try:
        return sorted(observed, key=float)
    except ValueError:
        return sorted(observed)


def _pairs_matrix(rows: list[tuple[int, int, int]], k: int) -> ag.IntArray:
    matrix = np.zeros((k, k), dtype=np.int64)
    for first, second, n in rows:  # at most k x k rows
        matrix[first, second] = n
    return matrix


@dataclass(frozen=True)
class CodedLabels:
    """One file's labels coded against the shared label order, aggregated per item."""

    table: LabelTable
    coded: str
    per_item: str
    items: int
    annotators: int
    ratings: int


def _code(con: duckdb.DuckDBPyConnection, table: LabelTable, name: str) -> CodedLabels:
    coded, per_item = f"{name}_coded", f"{name}_per_item"
    con.execute(CODED.format(coded=coded, table=table.table))
    con.execute(PER_ITEM.format(per_item=per_item, coded=coded))
    summary = con.execute(SUMMARY.format(coded=coded)).fetchone()
    assert summary is not None
    return CodedLabels(table, coded, per_item, *map(int, summary))


def _patterns(
    con: duckdb.DuckDBPyConnection, labels: CodedLabels, k: int
) -> tuple[ag.IntArray, ag.IntArray]:
    rows = con.execute(PATTERNS.format(per_item=labels.per_item)).fetchall()
    patterns = np.zeros((len(rows), k), dtype=np.int64)
    for i, (key, _) in enumerate(rows):  # one row per distinct count pattern, not per item
        for part in key.split(","):
            code, n = part.split(":")
            patterns[i, int(code)] = int(n)
    return patterns, np.array([n for _, n in rows], dtype=np.int64)


def _consensus(con: duckdb.DuckDBPyConnection, labels: CodedLabels, k: int) -> str:
    name = f"{labels.coded}_consensus"
    con.execute(CONSENSUS.format(consensus=name, per_item=labels.per_item), {"k": k})
    return name


def _interval(interval: ag.Interval | None) -> list[float] | None:
    return None if interval is None else [interval.low, interval.high]


def file_agreement(
    path: Path,
    against: Path | None = None,
    *,
    level: ag.Level | str = ag.Level.nominal,
    labels: list[str] | None = None,
) -> dict[str, Any]:
    """The ``procure agreement`` report (DESIGN.md): agreement among FILE's annotators and, with
    ``against``, FILE's per-item consensus against FILE2's."""
    level = ag.Level(level)
    numeric = level in (ag.Level.interval, ag.Level.ratio)
    with duckdb.connect() as con:
        tables = [load_label_file(con, path, "labels_a", numeric=numeric)]
        if against is not None:
            tables.append(load_label_file(con, against, "labels_b", numeric=numeric))
        observed = {
            row[0]
            for t in tables
            for row in con.execute(OBSERVED_LABELS.format(table=t.table)).fetchall()
        }
        order = label_order(observed, labels)
        k = len(order)
        con.execute(CODES, {"labels": order})
        values = np.array([float(label) for label in order]) if numeric else None
        first = _code(con, tables[0], "a")
        patterns, frequency = _patterns(con, first, k)
        report: dict[str, Any] = {
            "items": first.items,
            "annotators": first.annotators,
            "ratings": first.ratings,
            "level": level.value,
            "labels": order,
            "percent_agreement": ag.percent_agreement(patterns, frequency),
            "krippendorff_alpha": ag.krippendorff_alpha(patterns, level, values, frequency),
            "krippendorff_alpha_ci95": _interval(
                ag.alpha_bootstrap(patterns, level, values, frequency)
            ),
            "fleiss_kappa": ag.fleiss_kappa(patterns, frequency),
            "gwet_ac1": ag.gwet_ac1(patterns, frequency),
            "cohen_kappa": None,
        }
        annotators = [
            row[0] for row in con.execute(TWO_ANNOTATORS.format(coded=first.coded)).fetchall()
        ]
        if len(annotators) == 2:
            pairs = con.execute(
                PAIRED.format(coded=first.coded), {"first": annotators[0], "second": annotators[1]}
            ).fetchall()
            report["cohen_kappa"] = ag.cohen_kappa(_pairs_matrix(pairs, k))
        if against is not None:
            second = _code(con, tables[1], "b")
            rows = con.execute(
                CONFUSION.format(left=_consensus(con, first, k), right=_consensus(con, second, k))
            ).fetchall()
            report["against"] = against_report(_pairs_matrix(rows, k), order, level)
    return report


def against_report(confusion: ag.IntArray, order: list[str], level: ag.Level) -> dict[str, Any]:
    """Two sources compared item by item (rows the first source, columns the second); per-class
    precision and recall take the second source as the reference."""
    estimate = ag.cohen_kappa_ci(confusion)
    per_class = ag.class_metrics(confusion.T)
    return {
        "items": int(confusion.sum()),
        "percent_agreement": ag.confusion_percent_agreement(confusion),
        "cohen_kappa": None if estimate is None else estimate.kappa,
        "cohen_kappa_ci95": None if estimate is None else _interval(estimate.ci95),
        "weighted_kappa": ag.weighted_kappa(confusion, "linear")
        if level is ag.Level.ordinal
        else None,
        "gwet_ac1": ag.confusion_gwet_ac1(confusion),
        "confusion": {"labels": order, "counts": confusion.tolist()},
        "per_class": {
            label: {"precision": p, "recall": r, "f1": f, "support": s}
            for label, p, r, f, s in zip(
                order,
                per_class.precision,
                per_class.recall,
                per_class.f1,
                per_class.support,
                strict=True,
            )
        },
    }
