"""Agreement of label files: DuckDB aggregates the label rows to compact tables, the statistics
in ``procure.agreement`` run on those.

Choices (also in the README):

- Labels are coded by the order ``--labels`` gives; without it, numeric labels sort as numbers
  and others as text. The same order is the one weighted kappa and ordinal alpha use.
- An annotator's repeated identical judgement of an item counts once.
- A file's per-item *consensus* is its most frequent label; a tie goes to the label that comes
  first in the label order.

How it stays fast on millions of labels: one DuckDB pass reduces a file to judgements (one row
per item and annotator); a second gives each item a key, the sum of ``base^code`` over its
labels, which is its count vector written in base ``base``. Items then travel as a few hundred
distinct keys, and a comparison of two files as the pairs of keys that occur together.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from procure import agreement as ag
from procure.errors import InputError
from procure.kinds import Level
from procure.labelfiles import LabelFile, open_label_file

CODES = """
CREATE OR REPLACE TEMP TABLE codes AS
SELECT unnest($labels) AS label, unnest(range(len($labels))) AS code,
       unnest($weights)::HUGEINT AS weight
"""
OBSERVED_LABELS = "SELECT DISTINCT label FROM {judgements}"
SUMMARY = "SELECT count(DISTINCT item_id), count(DISTINCT annotator_id), count(*) FROM {judgements}"
ANNOTATORS = "SELECT count(DISTINCT annotator_id) FROM {judgements}"
# An item's key is the sum of its labels' weights base^code: its count vector in base ``base``.
ITEM_KEYS = """
CREATE OR REPLACE TEMP TABLE {items} AS
SELECT item_id, sum(weight) AS key FROM {judgements} JOIN codes USING (label) GROUP BY item_id
"""
# Fallback when base^k does not fit in 128 bits (very many labels): the vector as text.
ITEM_TEXT_KEYS = """
CREATE OR REPLACE TEMP TABLE {items} AS
SELECT item_id, string_agg(code || ':' || n, ',' ORDER BY code) AS key FROM (
    SELECT item_id, code, count(*) AS n FROM {judgements} JOIN codes USING (label) GROUP BY ALL
) GROUP BY item_id
"""
PATTERNS = "SELECT key, count(*) FROM {items} GROUP BY key ORDER BY key"
PAIRED_KEYS = (
    "SELECT a.key, b.key, count(*) FROM {left} AS a JOIN {right} AS b USING (item_id) GROUP BY ALL"
)
TWO_ANNOTATORS = "SELECT DISTINCT annotator_id FROM {judgements} ORDER BY annotator_id"
PAIRED = """
SELECT a.label, b.label, count(*) FROM {judgements} AS a JOIN {judgements} AS b USING (item_id)
WHERE a.annotator_id = $first AND b.annotator_id = $second GROUP BY ALL
"""
MAX_KEY = 2**126


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


@dataclass(frozen=True)
class PatternCodec:
    """Turns item keys back into count vectors (``base`` is above any count an item can have)."""

    k: int
    base: int

    @property
    def numeric(self) -> bool:
        return bool(self.base**self.k < MAX_KEY)

    @property
    def weights(self) -> list[str]:
        return [str(self.base**code) for code in range(self.k)]

    def decode(self, key: int | str) -> list[int]:
        vector = [0] * self.k
        if isinstance(key, str):
            for part in key.split(","):
                position, n = part.split(":")
                vector[int(position)] = int(n)
            return vector
        rest = int(key)
        for code in range(self.k):
            rest, vector[code] = divmod(rest, self.base)
        return vector


def consensus(vector: list[int]) -> int:
    """The most frequent label; a tie goes to the first in the label order.

    >>> consensus([1, 2, 2])
    1
    """
    return max(range(len(vector)), key=lambda code: (vector[code], -code))


@dataclass(frozen=True)
class ItemTable:
    """One file's items with their count-vector keys."""

    file: LabelFile
    items: str
    item_count: int
    annotators: int
    ratings: int


def _item_table(con: duckdb.DuckDBPyConnection, file: LabelFile, codec: PatternCodec) -> ItemTable:
    items = f"{file.judgements}_items"
    template = ITEM_KEYS if codec.numeric else ITEM_TEXT_KEYS
    con.execute(template.format(items=items, judgements=file.judgements))
    summary = con.execute(SUMMARY.format(judgements=file.judgements)).fetchone()
    assert summary is not None
    return ItemTable(file, items, *map(int, summary))


def _patterns(
    con: duckdb.DuckDBPyConnection, table: ItemTable, codec: PatternCodec
) -> tuple[ag.IntArray, ag.IntArray]:
    rows = con.execute(
        PATTERNS.format(items=table.items)
    ).fetchall()  # one row per distinct pattern
    patterns = np.array([codec.decode(key) for key, _ in rows], dtype=np.int64).reshape(
        len(rows), codec.k
    )
    return patterns, np.array([n for _, n in rows], dtype=np.int64)


def _consensus_confusion(
    con: duckdb.DuckDBPyConnection, left: ItemTable, right: ItemTable, codec: PatternCodec
) -> ag.IntArray:
    confusion = np.zeros((codec.k, codec.k), dtype=np.int64)
    for a, b, n in con.execute(PAIRED_KEYS.format(left=left.items, right=right.items)).fetchall():
        confusion[consensus(codec.decode(a)), consensus(codec.decode(b))] += (
            n  # one row per pair of patterns
        )
    return confusion


def _interval(interval: ag.Interval | None) -> list[float] | None:
    return None if interval is None else [interval.low, interval.high]


def file_agreement(
    path: Path,
    against: Path | None = None,
    *,
    level: Level | str = Level.nominal,
    labels: list[str] | None = None,
) -> dict[str, Any]:
    """The ``procure agreement`` report (DESIGN.md): agreement among FILE's annotators and, with
    ``against``, FILE's per-item consensus against FILE2's."""
    level = Level(level)
    numeric = level in (Level.interval, Level.ratio)
    with duckdb.connect() as con:
        files = [open_label_file(con, path, "labels_a", numeric=numeric)]
        if against is not None:
            files.append(open_label_file(con, against, "labels_b", numeric=numeric))
        observed = {
            row[0]
            for f in files
            for row in con.execute(OBSERVED_LABELS.format(judgements=f.judgements)).fetchall()
        }
        order = label_order(observed, labels)
        most_annotators = max(
            _count(con, ANNOTATORS.format(judgements=f.judgements)) for f in files
        )
        codec = PatternCodec(len(order), most_annotators + 1)
        con.execute(CODES, {"labels": order, "weights": codec.weights})
        values = np.array([float(label) for label in order]) if numeric else None
        first = _item_table(con, files[0], codec)
        patterns, frequency = _patterns(con, first, codec)
        report: dict[str, Any] = {
            "items": first.item_count,
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
        if first.annotators == 2:
            who = [
                row[0]
                for row in con.execute(
                    TWO_ANNOTATORS.format(judgements=files[0].judgements)
                ).fetchall()
            ]
            rows = con.execute(
                PAIRED.format(judgements=files[0].judgements), {"first": who[0], "second": who[1]}
            ).fetchall()
            code = {label: i for i, label in enumerate(order)}
            paired = np.zeros((codec.k, codec.k), dtype=np.int64)
            for a, b, n in rows:  # at most k x k rows
                paired[code[a], code[b]] = n
            report["cohen_kappa"] = ag.cohen_kappa(paired)
        if against is not None:
            second = _item_table(con, files[1], codec)
            report["against"] = against_report(
                _consensus_confusion(con, first, second, codec), order, level
            )
    return report


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchone()
    return int(row[0]) if row else 0


def against_report(confusion: ag.IntArray, order: list[str], level: Level) -> dict[str, Any]:
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
        if level is Level.ordinal
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
