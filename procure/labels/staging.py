"""Staging an import: the file parsed once, straight into the stored Parquet form, under a temporary
name; the checks DuckDB runs while writing (row counts, empty values, labels outside the set,
an annotator's conflicting labels); token totals; and the progress DuckDB reports."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb

from procure.errors import InputError
from procure.kinds import LabelKind
from procure.labels.files import TypedRelation, conflict_check, open_label_file
from procure.labels.readers import (
    ANNOTATOR_CODED,
    FAST_ANNOTATORS,
    NUMERIC_COLUMNS,
    REPEATS,
    Format,
    read_error,
)
from procure.money import without_padding

Progress = Callable[[float], None]  # called with the share done, 0 to 1
# DuckDB spills the checking aggregate to disk beyond this, so a large import's memory stays
# bounded instead of growing with the number of (item, annotator) pairs.
IMPORT_MEMORY = "512MB"

# The file is parsed once, straight into the stored form (in the file's row order); the statistics
# DuckDB keeps while writing give the row count and the empty item ids, labels and label codes.
STAGE = """
COPY (SELECT {columns} FROM ({relation})) TO '{target}' (FORMAT parquet, COMPRESSION zstd, RETURN_STATS)
"""
ANNOTATOR_NAMES = "SELECT list(DISTINCT annotator_id) FROM read_parquet('{staged}')"
NOT_NUMBERS = "count(*) FILTER (WHERE label IS NOT NULL AND TRY_CAST(label AS DOUBLE) IS NULL)"
# Per item: whether an annotator appears twice (only then are conflicts possible; see CHECK) and,
# for ratings, labels that are not numbers.
ITEM_CHECK = f"""
SELECT count(item_id), coalesce(sum(repeats), 0), coalesce(sum(not_numbers), 0) FROM (
    SELECT item_id, {REPEATS} AS repeats, {{not_numbers}} AS not_numbers
    FROM ({ANNOTATOR_CODED.format(relation="SELECT * FROM read_parquet('{staged}')", names="names")})
    GROUP BY item_id
)
"""
# The exact check (more annotators than bit strings cover, or an annotator repeated an item).
# Pairs are grouped by a 64-bit hash of (item, annotator): a collision could only report a
# conflict or a repeat that is not there, never hide one; a conflict is confirmed exactly before
# it is reported, and a repeat only makes the import deduplicate.
CHECK = """
SELECT count(*) FILTER (WHERE copies > 1), count(*) FILTER (WHERE low <> high), sum(not_numbers),
       (SELECT count(DISTINCT item_id) FROM read_parquet('{staged}'))
FROM (
    SELECT count(*) AS copies, min({key}) AS low, max({key}) AS high, {not_numbers} AS not_numbers
    FROM read_parquet('{staged}') GROUP BY hash(item_id, annotator_id)
)
"""
DEDUPE = """
COPY (SELECT * FROM read_parquet('{staged}')
      QUALIFY row_number() OVER (PARTITION BY item_id, annotator_id) = 1)
TO '{target}' (FORMAT parquet, COMPRESSION zstd, RETURN_STATS)
"""


class Watch:
    """Reports an import's progress (0 to 1) from a watcher thread that reads DuckDB's own
    progress of the running query, placed within the span of the current stage."""

    def __init__(self, con: duckdb.DuckDBPyConnection, report: Progress) -> None:
        self.con, self.report = con, report
        self.start, self.end, self.shown = 0.0, 1.0, 0.0
        self.done = threading.Event()
        self.thread = threading.Thread(
            target=self._watch, name="procure-import-progress", daemon=True
        )

    def span(self, start: float, end: float) -> None:
        self.start, self.end = start, end

    def _watch(self) -> None:
        while not self.done.wait(0.2):
            percent = self.con.query_progress()
            if percent >= 0:
                value = self.start + (self.end - self.start) * min(percent, 100.0) / 100
                if value > self.shown:
                    self.shown = value
                    self.report(value)


@contextmanager
def watched(con: duckdb.DuckDBPyConnection, report: Progress | None) -> Iterator[Watch | None]:
    if report is None:
        yield None
        return
    con.execute("SET enable_progress_bar = true; SET enable_progress_bar_print = false")
    watch = Watch(con, report)
    watch.thread.start()
    try:
        yield watch
    finally:
        watch.done.set()
        watch.thread.join()


@dataclass(frozen=True)
class Staged:
    path: Path
    rows: int
    items: int
    annotators: int


def stage(
    con: duckdb.DuckDBPyConnection,
    relation: TypedRelation,
    labels: list[str],
    kind: LabelKind,
    staged: Path,
    deduplicated: Path,
) -> Staged:
    """Parse the file once into ``staged``, check it, and return the file to keep: ``staged``, or
    ``deduplicated`` when an annotator repeated a label. Raises on the first problem found."""
    params = {"labels": labels, **relation.params}
    numbers = [c for c in relation.columns if c in NUMERIC_COLUMNS]
    if numbers:  # checked on the file itself: DuckDB pushes the conversions into the reader
        open_label_file(
            con,
            relation.source.path,
            display_name=relation.source.name,
            preference=kind is LabelKind.preference,
        )
    try:
        written = con.execute(
            STAGE.format(
                columns=stored_columns(
                    relation.columns,
                    guarded=relation.source.format in (Format.json, Format.jsonl),
                ),
                relation=relation.sql,
                target=quoted(staged),
            ),
            params,
        ).fetchone()
    except duckdb.Error as exc:
        if LATE_OBJECT in str(exc):
            _refuse_late_objects(con, relation)
        raise read_error(exc, relation.source) from None
    assert written is not None
    rows, statistics = int(written[1]), written[4]

    def empty(column: str) -> int:
        return int(statistics[f'"{column}"']["null_count"])

    if rows == 0:
        raise InputError(
            "no label rows after the header; expected one row per judgement",
            source=relation.source.name,
        )

    closed = bool(labels)
    numeric = kind is LabelKind.rating
    not_numbers_sql = NOT_NUMBERS if numeric else "0"  # only ratings read the labels here
    names: list[str] = (
        con.execute(ANNOTATOR_NAMES.format(staged=quoted(staged))).fetchone() or [[]]
    )[0]
    exact = len(names) > FAST_ANNOTATORS
    conflicts = 0
    if not exact:
        items, repeats, not_numbers = con.execute(
            ITEM_CHECK.format(
                staged=quoted(staged), annotators=len(names), not_numbers=not_numbers_sql
            ),
            {"names": names},
        ).fetchone() or (0, 0, 0)
        exact = bool(repeats)
    if exact:
        repeats, conflicts, not_numbers, items = con.execute(
            CHECK.format(
                key="label_code" if closed else "label",
                staged=quoted(staged),
                not_numbers=not_numbers_sql,
            )
        ).fetchone() or (0, 0, 0, 0)
    outside = closed and empty("label_code") > empty("label")
    if conflicts or empty("item_id") or empty("label") or outside or not_numbers or numbers:
        # The exact checks, with row numbers, on the staged copy (same rows, same order); numeric
        # side columns were converted while staging, so those are checked on the file itself.
        staged_file = open_label_file(
            con,
            staged,
            label_set=labels if closed else None,
            numeric=numeric,
            located_as=relation.source,
        )
        conflict_check(con, staged_file)
        if numbers:
            open_label_file(
                con,
                relation.source.path,
                display_name=relation.source.name,
                preference=kind is LabelKind.preference,
            )
    if not repeats:
        return Staged(staged, rows, int(items), len(names))
    deduplicated_rows = con.execute(
        DEDUPE.format(staged=quoted(staged), target=quoted(deduplicated))
    ).fetchone()
    assert deduplicated_rows is not None
    return Staged(deduplicated, int(deduplicated_rows[1]), int(items), len(names))


# DuckDB infers a JSON file's column types from its first rows: an object or a list further on
# arrives in a text column as its JSON text. Such a value in a key column is found here.
# DuckDB infers a JSON file's column types from its first rows: an object or a list further on
# arrives in a text column as its JSON text. Staging a JSON file stops at the first such value
# in a key column (a cheap test of each value while it is written); it is then located.
LATE_OBJECT = "procure: an object or a list in a key column"
KEY_COLUMNS = ("item_id", "annotator_id", "label")


def _object_text(column: str) -> str:
    return f"(left({column}, 1) IN ('{{', '[') AND json_valid({column}))"


def _guarded(column: str) -> str:
    return f"CASE WHEN {_object_text(column)} THEN error('{LATE_OBJECT}') ELSE {column} END"


def _refuse_late_objects(con: duckdb.DuckDBPyConnection, relation: TypedRelation) -> None:
    suspect = " OR ".join(_object_text(c) for c in KEY_COLUMNS)
    found = con.execute(
        f"SELECT rowid, {', '.join(KEY_COLUMNS)} FROM ("
        f"SELECT row_number() OVER () - 1 AS rowid, * FROM ({relation.sql})) "
        f"WHERE {suspect} ORDER BY rowid LIMIT 1",
        relation.params,
    ).fetchone()
    if found:
        row, *values = found
        column, value = next(
            (c, v) for c, v in zip(KEY_COLUMNS, values, strict=True) if v and v[0] in "{["
        )
        kind = "an object" if value.startswith("{") else "a list"
        raise InputError(
            f"{relation.source.where(row)}, column {column}: expected a string or a whole "
            f"number, found {kind} ({value[:60]}); give every {column} with one type",
            source=relation.source.name,
        )


def quoted(path: Path) -> str:
    """A path inside a SQL string literal (COPY targets cannot be parameters)."""
    return str(path).replace("'", "''")


def stored_columns(columns: tuple[str, ...], *, guarded: bool = False) -> str:
    """The stored columns; ``guarded`` (a JSON source) stops at an object in a key column."""
    optional = [c for c in columns if c not in KEY_COLUMNS]
    return ", ".join(
        [
            *(f"{_guarded(c)} AS {c}" if guarded else c for c in KEY_COLUMNS),
            "CAST(list_position($labels, label) - 1 AS SMALLINT) AS label_code",
            *(
                f"CAST({c} AS {NUMERIC_COLUMNS[c]}) AS {c}" if c in NUMERIC_COLUMNS else c
                for c in optional
            ),
        ]
    )


# The judgements of a stored file as a multiset fingerprint: the count, and the exact sum and
# the XOR of two 64-bit hashes of each (item, annotator, label); order-independent, so the same
# judgements in another row order or file format give the same key. (Rows were deduplicated.)
CONTENT = """
SELECT count(*), sum(hash(item_id, annotator_id, label)), bit_xor(hash(label, annotator_id, item_id))
FROM read_parquet($path)
"""
# DuckDB's hash is not promised across its versions, so the key names the version: after an
# upgrade of DuckDB a re-import is still recognised by the file's sha256, not by its content.
CONTENT_SCHEME = f"procure-content-1 duckdb-{'.'.join(duckdb.__version__.split('.')[:2])}"


def content_key(con: duckdb.DuckDBPyConnection, written: Path) -> str:
    """The stored file's judgements as a sha256 hex key, whatever their order (see CONTENT)."""
    row = con.execute(CONTENT, {"path": str(written)}).fetchone()
    assert row is not None
    text = f"{CONTENT_SCHEME} {row[0]} {row[1]} {row[2]}"
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Usage:
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost: Decimal | None = None


def token_totals(con: duckdb.DuckDBPyConnection, columns: tuple[str, ...], written: Path) -> Usage:
    """Summed token usage and cost of an LLM run, from its columns when the file had them."""
    present = [c for c in ("input_tokens", "output_tokens", "cost") if c in columns]
    if not present:
        return Usage()
    # Cost is money: summed as exact decimals at the records' scale (NUMERIC(24, 10)), not as
    # floats, so SQLite and PostgreSQL keep the same amount.
    sums = ", ".join(
        f"sum(CAST({c} AS DECIMAL(38, 10)))" if c == "cost" else f"sum({c})" for c in present
    )
    row = con.execute(f"SELECT {sums} FROM read_parquet($path)", {"path": str(written)}).fetchone()
    found = dict(zip(present, row or (), strict=False))
    cost = found.get("cost")
    return Usage(
        input_tokens=None if found.get("input_tokens") is None else int(found["input_tokens"]),
        output_tokens=None if found.get("output_tokens") is None else int(found["output_tokens"]),
        cost=None if cost is None else without_padding(Decimal(str(cost))),
    )
