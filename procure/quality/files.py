"""Agreement of label files: DuckDB aggregates the label rows to compact tables, the statistics
in ``procure.quality.stats.agreement`` run on those.

Choices (also in the README):

- Labels are coded by the order ``--labels`` gives; without it, numeric labels sort as numbers
  and others as text. The same order is the one weighted kappa and ordinal alpha use.
- An annotator's repeated identical judgement of an item counts once; two different labels from
  one annotator for one item are refused.
- A file's per-item *consensus* is its most frequent label. When several labels are most
  frequent the item is a *tie*: counted and reported, and by default left out of every
  comparison of consensus labels; with a tie-break order (``--tie-break``, or the task type's)
  it goes to the tied label that comes first in that order.
- At interval and ratio level a label is its number: ``1``, ``01`` and ``1.0`` are one value,
  so they agree in percent agreement, kappa and AC1 as they do in alpha.

How it stays fast on millions of labels: each file is read once, inside one query, into items.
An item's key is the sum of ``base^code`` over its labels: its count vector written in base
``base`` (one more than the number of annotators, so no digit overflows). The query returns one
row per pair of keys that occur together, a few hundred rows however many items there are, and
everything else is computed from those rows.

The items come straight from the label rows, grouped by item only, when that is exact: a file
with one annotator keeps the item's one label (two different ones are a conflict), and a file with
up to ``FAST_ANNOTATORS`` annotators also counts how many distinct annotators each item has (a
bit string of annotator codes). Only if some annotator repeated an item does the file go through
the exact path: judgements first, one per (item, annotator), then items. Grouping by (item,
annotator) keeps every row and costs about as much as the rest of the query together.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np

from procure.errors import InputError
from procure.kinds import Level
from procure.labels.files import LabelFile, locate_problem, open_label_file
from procure.labels.readers import ANNOTATOR_CODED, FAST_ANNOTATORS, REPEATS, check_gzip_complete
from procure.quality.results import (
    Agreement,
    ClassFigures,
    Comparison,
    Confusion,
    FileAgreement,
    TiePolicy,
    Ties,
    interval,
)
from procure.quality.stats import agreement as ag

MAX_KEY = 2**126  # keys are at most HUGEINT sums
CODED = "SELECT item_id, annotator_id, list_position($labels, label) - 1 AS code FROM ({relation})"
JUDGEMENTS = f"""
SELECT item_id, annotator_id, min(code) AS code, (max(code) <> min(code))::INTEGER AS conflict
FROM ({CODED}) GROUP BY item_id, annotator_id
"""
# An item's key: its count vector, written once here (``PatternCodec.key_sum``, ``TEXT_KEY``).
NUMERIC_KEYS = """
SELECT item_id, {key_sum} AS key, sum(conflict) AS conflicts,
       count(*) AS judgements, 0 AS repeats
FROM ({judgements}) GROUP BY item_id
"""
ONE_ANNOTATOR_KEYS = f"""
SELECT item_id, {{key_of_one}} AS key,
       (max(code) <> min(code))::INTEGER AS conflicts, 1 AS judgements, 0 AS repeats
FROM ({CODED}) GROUP BY item_id
"""
# repeats: how many of an item's rows repeat an annotator (any, and the keys are not exact)
FEW_ANNOTATORS_KEYS = f"""
SELECT item_id, {{key_sum}} AS key, 0 AS conflicts,
       count(*) AS judgements, {REPEATS} AS repeats
FROM ({ANNOTATOR_CODED.format(relation=CODED, names="{names}")})
GROUP BY item_id
"""
# When base^k does not fit in 128 bits (very many labels), the count vector is written as text,
# aggregated over (code, n) rows.
TEXT_KEY = "string_agg(code || ':' || n, ',' ORDER BY code)"
TEXT_KEYS = f"""
SELECT item_id, {TEXT_KEY} AS key, sum(conflicts) AS conflicts,
       sum(n) AS judgements, 0 AS repeats
FROM (SELECT item_id, code, count(*) AS n, sum(conflict) AS conflicts FROM ({{judgements}}) GROUP BY ALL)
GROUP BY item_id
"""
KEY_PAIRS = """
WITH a AS ({items_a}), b AS ({items_b})
SELECT a.key, b.key, count(*), coalesce(sum(a.conflicts), 0), coalesce(sum(b.conflicts), 0),
       coalesce(sum(a.judgements), 0), coalesce(sum(b.judgements), 0),
       coalesce(sum(a.repeats), 0), coalesce(sum(b.repeats), 0)
FROM a FULL OUTER JOIN b USING (item_id) GROUP BY ALL ORDER BY ALL
"""
ONE_FILE_KEYS = """
WITH a AS ({items_a})
SELECT key, NULL, count(*), sum(conflicts), 0, sum(judgements), 0, sum(repeats), 0
FROM a GROUP BY key ORDER BY key
"""
TWO_ANNOTATORS = """
WITH j AS ({judgements})
SELECT a.code, b.code, count(*) FROM j AS a JOIN j AS b USING (item_id)
WHERE a.annotator_id = $first AND b.annotator_id = $second GROUP BY ALL
"""
ANNOTATOR_NAMES = "SELECT DISTINCT annotator_id FROM ({relation}) ORDER BY annotator_id"


def label_order(
    observed: set[str] | frozenset[str],
    given: list[str] | None,
    *,
    source: str = "--labels",
    by_value: bool = False,
) -> list[str]:
    """The label order: ``given`` (which must cover every observed label), else numbers by
    value when every label is a finite number (labels equal as numbers, ``1`` and ``1.0``, by
    their spelling), else text order. A total order: no hash seed or row order can change it.
    ``by_value`` (interval and ratio level): ``given`` covers a label with the same number, and
    the other spellings follow it (``value_classes`` names each value by its first spelling).

    >>> label_order({"10", "9", "2.5", "01", "1", "1.0"}, None)
    ['01', '1', '1.0', '2.5', '9', '10']
    >>> label_order({"b", "a"}, ["b", "a", "c"])
    ['b', 'a', 'c']
    >>> label_order({"01", "2"}, ["1", "2"], by_value=True)
    ['1', '2', '01']
    """
    if given:
        if by_value:
            given_values = {number_value(label) for label in given} - {None}
            unknown = sorted(label for label in observed if number_value(label) not in given_values)
            others = sorted(set(observed) - set(given) - set(unknown))
            if not unknown:
                return list(given) + sorted(others, key=lambda label: (number_value(label), label))
        else:
            unknown = sorted(set(observed) - set(given))
        if unknown:
            raise InputError(
                f"labels not in the given order: {', '.join(map(repr, unknown))}; expected only "
                f"{', '.join(given)}",
                field=source,
            )
        return list(given)
    values = {label: number_value(label) for label in observed}
    if all(value is not None for value in values.values()):
        return sorted(observed, key=lambda label: (values[label], label))
    return sorted(observed)


def number_value(label: str) -> float | None:
    """A label's value as a finite number, else ``None`` (``nan`` and ``inf`` are not values)."""
    try:
        value = float(label)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def value_classes(order: list[str]) -> list[int]:
    """At interval and ratio level a label *is* its number: each code's class, the first
    position of its value among the distinct values of ``order`` (``1``, ``01`` and ``1.0`` are
    one class), so that equal numbers agree in every figure.

    >>> value_classes(["01", "1", "1.0", "2"])
    [0, 0, 0, 1]
    """
    distinct: dict[float, int] = {}
    classes = []
    for label in order:
        value = number_value(label)
        if value is None:
            raise InputError(f"{label!r} is not a number", field="label")
        classes.append(distinct.setdefault(value, len(distinct)))
    return classes


@dataclass(frozen=True)
class PatternCodec:
    """Turns item keys back into count vectors (``base`` is above any count an item can have)."""

    k: int
    base: int

    @property
    def numeric(self) -> bool:
        return bool(self.base**self.k < MAX_KEY)

    @property
    def key_type(self) -> str:
        """BIGINT sums are cheaper; HUGEINT when the keys need more than 63 bits."""
        return "BIGINT" if self.base**self.k < 2**62 else "HUGEINT"

    @property
    def weights(self) -> list[str]:
        """The ``$weights`` parameter of ``key_sum``: ``base^code`` for each code."""
        return [str(self.base**code) for code in range(self.k)]

    @property
    def key_sum(self) -> str:
        """The SQL aggregate of a group of ``code`` rows that writes their count vector as one
        number: the sum of ``base^code``, which ``decode`` reads back."""
        return f"sum(CAST($weights AS {self.key_type}[])[code + 1])"

    @property
    def key_of_one(self) -> str:
        """The key of a group whose rows all hold one label (``min(code)``)."""
        return f"CAST($weights AS {self.key_type}[])[min(code) + 1]"

    def decode(self, key: int | str) -> tuple[int, ...]:
        vector = [0] * self.k
        if isinstance(key, str):
            for part in key.split(","):
                position, n = part.split(":")
                vector[int(position)] = int(n)
            return tuple(vector)
        rest = int(key)
        for code in range(self.k):
            rest, vector[code] = divmod(rest, self.base)
        return tuple(vector)


def consensus(vector: tuple[int, ...], tie_break: tuple[int, ...] = ()) -> int | None:
    """The most frequent label's code; ``None`` for a tie (several labels equally frequent) unless
    ``tie_break`` (codes, first wins; codes not in it come after, in code order) settles it.

    >>> consensus((1, 2, 0)), consensus((2, 2, 0)), consensus((2, 2, 0), tie_break=(1,))
    (1, None, 1)
    """
    top = max(vector)
    leaders = [code for code, n in enumerate(vector) if n == top]
    if len(leaders) == 1:
        return leaders[0]
    if not tie_break or top == 0:
        return None
    rank = {code: position for position, code in enumerate(tie_break)}
    return min(leaders, key=lambda code: (rank.get(code, len(rank)), code))


def tie_break_codes(
    order: list[str], tie_break: list[str] | None, *, source: str
) -> tuple[int, ...]:
    """The codes of a tie-break order given as labels (each must be one of ``order``)."""
    code = {label: i for i, label in enumerate(order)}
    unknown = [label for label in tie_break or [] if label not in code]
    if unknown:
        raise InputError(
            f"tie-break labels not among the labels: {', '.join(map(repr, unknown))}; expected "
            f"some of {', '.join(order)}",
            field=source,
        )
    return tuple(code[label] for label in tie_break or [])


@dataclass(frozen=True)
class KeyPairs:
    """What one query returns: how many items have each pair of count vectors (``None`` where
    the item is missing from a file), with judgement and conflict totals."""

    rows: list[tuple[tuple[int, ...] | None, tuple[int, ...] | None, int]]
    judgements: tuple[int, int]

    def merged(self, classes: list[int]) -> KeyPairs:
        """The same items with the codes of one class counted as one (``value_classes``)."""
        width = max(classes) + 1

        def merge(vector: tuple[int, ...] | None) -> tuple[int, ...] | None:
            if vector is None:
                return None
            merged = [0] * width
            for code, n in enumerate(vector):
                merged[classes[code]] += n
            return tuple(merged)

        totals: dict[tuple[tuple[int, ...] | None, tuple[int, ...] | None], int] = defaultdict(int)
        for a, b, n in self.rows:
            totals[merge(a), merge(b)] += n
        return KeyPairs([(a, b, n) for (a, b), n in totals.items()], self.judgements)

    def patterns(self, side: int) -> tuple[ag.IntArray, ag.IntArray]:
        counts: dict[tuple[int, ...], int] = defaultdict(int)
        for a, b, n in self.rows:
            vector = a if side == 0 else b
            if vector is not None:
                counts[vector] += n
        ordered = sorted(counts)
        return np.array(ordered, dtype=np.int64), np.array(
            [counts[v] for v in ordered], dtype=np.int64
        )

    def items(self, side: int) -> int:
        return sum(row[2] for row in self.rows if row[side] is not None)

    def ties(self, side: int) -> Ties:
        """How many of a file's items are ties (whatever the tie-break: it settles, not hides)."""
        items = tied = 0
        for a, b, n in self.rows:
            vector = a if side == 0 else b
            if vector is not None:
                items += n
                tied += n if consensus(vector) is None else 0
        return Ties.of(items, tied)

    def consensus_confusion(self, k: int, tie_break: tuple[int, ...] = ()) -> ag.IntArray:
        """Items in both files by their two consensus labels; ties left out unless broken."""
        confusion = np.zeros((k, k), dtype=np.int64)
        for a, b, n in self.rows:
            if a is not None and b is not None:
                first, second = consensus(a, tie_break), consensus(b, tie_break)
                if first is not None and second is not None:
                    confusion[first, second] += n
        return confusion


def _items_sql(file: LabelFile, side: int, codec: PatternCodec, *, exact: bool) -> str:
    """The query of a file's items (``exact``: through judgements, whatever the file holds)."""
    if not codec.numeric:
        return TEXT_KEYS.format(judgements=JUDGEMENTS.format(relation=file.relation))
    if file.annotators == 1:
        return ONE_ANNOTATOR_KEYS.format(relation=file.relation, key_of_one=codec.key_of_one)
    if exact or file.annotators > FAST_ANNOTATORS:
        return NUMERIC_KEYS.format(
            judgements=JUDGEMENTS.format(relation=file.relation), key_sum=codec.key_sum
        )
    return FEW_ANNOTATORS_KEYS.format(
        relation=file.relation,
        key_sum=codec.key_sum,
        annotators=file.annotators,
        names=f"annotators_{side}",
    )


def key_pairs(
    con: duckdb.DuckDBPyConnection,
    files: list[LabelFile],
    order: list[str],
    codec: PatternCodec,
    *,
    exact: tuple[bool, ...] = (False, False),
) -> KeyPairs:
    """Run the one aggregation over one or two files; refuse conflicting judgements. A file
    whose annotators repeat an item is read again through the exact path."""
    params: dict[str, object] = {"labels": order}
    if codec.numeric:
        params["weights"] = codec.weights
    for side, file in enumerate(files):
        params.update(file.params)
        params[f"annotators_{side}"] = list(file.annotator_names)
    items = [_items_sql(file, side, codec, exact=exact[side]) for side, file in enumerate(files)]
    if len(files) == 2:
        sql = KEY_PAIRS.format(items_a=items[0], items_b=items[1])
    else:
        sql = ONE_FILE_KEYS.format(items_a=items[0])
    used = {name: value for name, value in params.items() if f"${name}" in sql}
    result = con.execute(sql, used).fetchall()
    repeated = tuple(any(row[7 + side] for row in result) for side in range(len(files)))
    if any(repeated):
        return key_pairs(con, files, order, codec, exact=repeated)
    for side, file in enumerate(files):
        if any(row[3 + side] for row in result):
            locate_problem(con, file)
    rows = [
        (None if a is None else codec.decode(a), None if b is None else codec.decode(b), int(n))
        for a, b, n, *_ in result
    ]
    return KeyPairs(rows, (sum(int(r[5]) for r in result), sum(int(r[6]) for r in result)))


def file_agreement(
    path: Path,
    against: Path | None = None,
    *,
    level: Level | str = Level.nominal,
    labels: list[str] | None = None,
    tie_break: list[str] | None = None,
) -> FileAgreement:
    """The ``procure agreement`` report (DESIGN.md): agreement among FILE's annotators and, with
    ``against``, FILE's per-item consensus against FILE2's (ties left out unless ``tie_break``
    orders the labels that settle them)."""
    level = Level(level)
    numeric = level in (Level.interval, Level.ratio)
    with duckdb.connect() as con:
        files = [open_label_file(con, path, name="a", numeric=numeric)]
        if against is not None:
            files.append(open_label_file(con, against, name="b", numeric=numeric))
        for file in files:
            check_gzip_complete(file.source)
        order = label_order(frozenset().union(*(f.labels for f in files)), labels, by_value=numeric)
        codec = PatternCodec(len(order), max(f.annotators for f in files) + 1)
        pairs = key_pairs(con, files, order, codec)
        cohen = _two_annotator_confusion(con, files[0], order) if files[0].annotators == 2 else None
    values = None
    if numeric:  # one category per value; the first spelling of each names it
        classes = value_classes(order)
        pairs = pairs.merged(classes)
        order = [order[classes.index(c)] for c in range(max(classes) + 1)]
        values = np.array([float(label) for label in order])
        cohen = None if cohen is None else _merge_confusion(cohen, classes)
        named = {number_value(label): label for label in order}  # a tie-break label by value
        tie_break = [named.get(number_value(label), label) for label in tie_break or []]
    breaks = tie_break_codes(order, tie_break, source="--tie-break")
    patterns, frequency = pairs.patterns(0)
    return FileAgreement(
        items=pairs.items(0),
        annotators=files[0].annotators,
        ratings=pairs.judgements[0],
        level=level.value,
        labels=order,
        percent_agreement=ag.percent_agreement(patterns, frequency),
        krippendorff_alpha=ag.krippendorff_alpha(patterns, level, values, frequency),
        krippendorff_alpha_ci95=interval(ag.alpha_bootstrap(patterns, level, values, frequency)),
        fleiss_kappa=ag.fleiss_kappa(patterns, frequency),
        gwet_ac1=ag.gwet_ac1(patterns, frequency),
        cohen_kappa=None if cohen is None else ag.cohen_kappa(cohen),
        ties=pairs.ties(0),
        tie_policy=TiePolicy(list(tie_break or [])),
        against=None
        if against is None
        else against_report(pairs.consensus_confusion(len(order), breaks), order, level),
        against_ties=None if against is None else pairs.ties(1),
    )


def _merge_confusion(confusion: ag.IntArray, classes: list[int]) -> ag.IntArray:
    """A confusion matrix with the codes of one class added together."""
    merge = np.zeros((len(classes), max(classes) + 1), dtype=np.int64)
    merge[np.arange(len(classes)), classes] = 1
    merged: ag.IntArray = merge.T @ confusion @ merge
    return merged


def _two_annotator_confusion(
    con: duckdb.DuckDBPyConnection, file: LabelFile, order: list[str]
) -> ag.IntArray:
    """The confusion matrix of a file's two annotators, on the items both labelled."""
    first, second = (
        row[0]
        for row in con.execute(
            ANNOTATOR_NAMES.format(relation=file.relation), file.params
        ).fetchall()
    )
    rows = con.execute(
        TWO_ANNOTATORS.format(judgements=JUDGEMENTS.format(relation=file.relation)),
        {"labels": order, "first": first, "second": second, **file.params},
    ).fetchall()
    return ag.confusion_from_counts(rows, len(order))


def against_report(confusion: ag.IntArray, order: list[str], level: Level) -> Comparison:
    """Two sources compared item by item (rows the first source, columns the second); per-class
    precision and recall take the second source as the reference."""
    agreement = Agreement.of(confusion)
    per_class = ag.class_metrics(confusion.T)
    return Comparison(
        items=agreement.items,
        percent_agreement=agreement.percent_agreement,
        cohen_kappa=agreement.cohen_kappa,
        cohen_kappa_ci95=agreement.cohen_kappa_ci95,
        weighted_kappa=ag.weighted_kappa(confusion, "linear") if level is Level.ordinal else None,
        gwet_ac1=agreement.gwet_ac1,
        confusion=Confusion(order, confusion.tolist()),
        per_class={
            label: ClassFigures(p, r, f, s)
            for label, p, r, f, s in zip(
                order,
                per_class.precision,
                per_class.recall,
                per_class.f1,
                per_class.support,
                strict=True,
            )
        },
    )
