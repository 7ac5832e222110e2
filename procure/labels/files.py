"""Checking label files (long format, one row per judgement) in SQL: the required columns, typed
optional columns, labels inside the task type's set, an annotator's conflicting labels, and the
preview. Every problem is one ``InputError`` naming the file, the line (text formats) or row
(JSON array, Parquet), the column and what was expected (``readers`` reads the formats). Nothing
here loops over label rows in Python.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path

import duckdb

import procure.labels.pairs as pairs
from procure.errors import InputError
from procure.labels.readers import (
    ANONYMOUS,
    NUMBER_RANGES,
    NUMERIC_COLUMNS,
    REQUIRED,
    SHOWN_PROBLEMS,
    TEXT_COLUMNS,
    Format,
    Source,
    _reader,
    check_key_types,
    detect,
    invalid_number,
    read_error,
)


@dataclass(frozen=True)
class LabelFile:
    """A label file that passed the first checks, readable by ``relation`` with ``params``.

    ``relation`` gives the typed rows: item_id, annotator_id, label and the optional columns
    present. Whether an annotator gave an item two different labels is found by the caller's
    own aggregation over (item, annotator) (see ``conflict_check``), so the file is read once.
    """

    source: Source
    relation: str
    params: dict[str, object]
    columns: tuple[str, ...]
    rows: int
    labels: frozenset[str]
    annotator_names: tuple[str, ...]

    @property
    def annotators(self) -> int:
        return len(self.annotator_names)


FIRST_PASS = """
SELECT count(*), count(*) FILTER (WHERE item_id IS NULL), count(*) FILTER (WHERE label IS NULL),
       list(DISTINCT label) FILTER (WHERE label IS NOT NULL), list(DISTINCT annotator_id)
FROM ({relation})
"""
DUPLICATES = """
SELECT count(*) FILTER (WHERE low <> high), count(*) FILTER (WHERE copies > 1) FROM (
    SELECT min(label) AS low, max(label) AS high, count(*) AS copies
    FROM ({relation}) GROUP BY item_id, annotator_id
)
"""


@dataclass(frozen=True)
class TypedRelation:
    """SQL that reads a label file's rows with the standard column names and text types."""

    source: Source
    sql: str
    params: dict[str, object]
    columns: tuple[str, ...]


# What surrounds a label and is not part of it (a SQL literal of the characters).
LABEL_SPACE = "' \t\n\r\f\v'"


def typed_relation(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    *,
    name: str = "file",
    display_name: str | None = None,
    preference: bool = False,
    orders_apart: bool = False,
) -> TypedRelation:
    """Detect the format and the columns (reading only the header or the schema). A
    ``preference`` file is read in any of the shapes ``procure.labels.pairs`` describes;
    ``orders_apart`` (a judge's file) names an annotator per order shown (``pairs.by_order``)."""
    source = detect(path, display_name)
    query, params = _reader(source, name)
    try:
        types = {row[0]: row[1] for row in con.execute(f"DESCRIBE {query}", params).fetchall()}
    except duckdb.Error as exc:
        raise read_error(exc, source) from None
    names = list(types)
    label = pairs.label_column(names) if preference else "label" if "label" in names else None
    missing = [column for column in REQUIRED if column not in names]
    if "item_id" in missing or label is None:
        expected = (
            "item_id and label (A, B, tie or both_bad, or a Likert 1-7), or item_id with "
            "chosen and rejected texts"
            if preference
            else "item_id and label (and optionally annotator_id)"
        )
        raise InputError(
            f"missing column {missing[0]!r}; expected {expected}, "
            f"found: {', '.join(names) or 'no columns'}",
            source=source.name,
            line=1 if source.format in (Format.csv, Format.tsv) else None,
        )
    check_key_types(con, source, types)
    annotator = (
        f"COALESCE(NULLIF(CAST(annotator_id AS VARCHAR), ''), '{ANONYMOUS}')"
        if "annotator_id" in names
        else f"'{ANONYMOUS}'"
    )
    mapped = pairs.extra_columns(names) if preference else {}
    if orders_apart and "shown_first" in mapped:
        annotator = pairs.by_order(annotator, mapped["shown_first"])
    optional = [
        column
        for column in (*NUMERIC_COLUMNS, *TEXT_COLUMNS)
        if column in names or column in mapped
    ]
    select = ", ".join(
        [
            "NULLIF(CAST(item_id AS VARCHAR), '') AS item_id",
            f"{annotator} AS annotator_id",
            # Labels are compared as the task type keeps its own: Unicode NFC, without the
            # spaces, tabs and line breaks around them (as ``--labels`` is read too).
            f"nfc_normalize(NULLIF(trim(CAST({label} AS VARCHAR), {LABEL_SPACE}), '')) AS label",
            *(
                f"{mapped.get(column, f'CAST({column} AS VARCHAR)')} AS {column}"
                for column in optional
            ),
        ]
    )
    return TypedRelation(
        source,
        f"SELECT {select} FROM ({query})",
        params,
        ("item_id", "annotator_id", "label", *optional),
    )


def open_label_file(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    *,
    name: str = "file",
    label_set: list[str] | None = None,
    numeric: bool = False,
    display_name: str | None = None,
    located_as: Source | None = None,
    preference: bool = False,
) -> LabelFile:
    """Check ``path`` in one cheap pass: columns, empty values, labels outside ``label_set``,
    non-numbers where ``numeric`` labels (interval and ratio data) or numeric columns are
    needed. ``name`` keeps the file's SQL parameters apart from another file's in one query;
    ``located_as`` names the original file when ``path`` is a copy of it in the same row order.

    Rows are located (a second read, with row numbers) only when something is wrong.
    """
    relation = typed_relation(
        con, path, name=name, display_name=display_name, preference=preference
    )
    source = located_as or relation.source
    try:
        summary = con.execute(FIRST_PASS.format(relation=relation.sql), relation.params).fetchone()
    except duckdb.Error as exc:
        raise read_error(exc, relation.source) from None
    assert summary is not None
    rows, empty_items, empty_labels, observed, annotators = summary
    if rows == 0:
        raise InputError(
            "no label rows after the header; expected one row per judgement", source=source.name
        )
    labels = frozenset(observed or [])
    outside = label_set is not None and not labels <= set(label_set)
    not_numbers = numeric and any(_not_a_number(label) for label in labels)
    numbers = [c for c in relation.columns if c in NUMERIC_COLUMNS]
    bad_optional = _bad_numbers(con, relation.sql, relation.params, numbers)
    file = LabelFile(
        source, relation.sql, relation.params, relation.columns, rows, labels, tuple(annotators)
    )
    if empty_items or empty_labels or outside or not_numbers or bad_optional:
        locate_problem(con, file, label_set=label_set, numeric=numeric)
    return file


def conflict_check(con: duckdb.DuckDBPyConnection, file: LabelFile) -> int:
    """Refuse a file where an annotator gave one item two different labels; return how many
    (item, annotator) pairs repeat the same label (its own pass; callers that aggregate over
    (item, annotator) anyway count conflicts there instead)."""
    row = con.execute(DUPLICATES.format(relation=file.relation), file.params).fetchone()
    conflicts, repeated = (int(value or 0) for value in (row or (0, 0)))
    if conflicts:
        locate_problem(con, file)
    return repeated


def _not_a_number(label: str) -> bool:
    try:
        float(label)
    except ValueError:
        return True
    return False


def _bad_numbers(
    con: duckdb.DuckDBPyConnection, relation: str, params: dict[str, object], columns: list[str]
) -> bool:
    if not columns:
        return False
    checks = " + ".join(
        f"count(*) FILTER (WHERE {invalid_number(c, NUMERIC_COLUMNS[c])})" for c in columns
    )
    return scalar(con, f"SELECT {checks} FROM ({relation})", params) > 0


def locate_problem(
    con: duckdb.DuckDBPyConnection,
    file: LabelFile,
    *,
    label_set: list[str] | None = None,
    numeric: bool = False,
) -> None:
    """Read the rows again with their numbers and raise the first problem found."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE located_rows AS {file.relation}", file.params)
    optional = [column for column in file.columns if column in NUMERIC_COLUMNS]
    try:
        check_rows(
            con,
            "located_rows",
            file.source,
            label_set=label_set,
            numeric=numeric,
            optional=optional,
        )
    finally:
        con.execute("DROP TABLE IF EXISTS located_rows")


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: object = None) -> int:
    row = con.execute(sql, params).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def check_rows(
    con: duckdb.DuckDBPyConnection,
    table: str,
    source: Source,
    *,
    label_set: list[str] | None,
    numeric: bool,
    optional: list[str],
    conflict_key: str | None = None,
) -> None:
    """Raise the first problem of the rows in ``table`` (in file order); judgements conflict
    when rows with the same ``conflict_key`` (default: item and annotator) differ in label."""
    for column in REQUIRED:
        empty = con.execute(
            f"SELECT min(rowid), count(*) FROM {table} WHERE {column} IS NULL"
        ).fetchone()
        if empty and empty[1]:
            raise InputError(
                f"{source.where(empty[0])}, column {column}: expected a value, found an empty one "
                f"({empty[1]:,} rows like this)",
                source=source.name,
            )
    conflict = con.execute(
        f"""
        SELECT item_id, annotator_id, min(rowid), max(rowid), count(*) OVER ()
        FROM {table} GROUP BY {conflict_key or "item_id, annotator_id"}
        HAVING count(DISTINCT label) > 1 ORDER BY min(rowid) LIMIT 1
        """
    ).fetchone()
    if conflict:
        item, who, first, second, total = conflict
        raise InputError(
            f"{source.where(first)} and {source.where(second)}, columns item_id/annotator_id: "
            f"item {item!r} has different labels from annotator {who!r}; expected one label per "
            f"item and annotator ({total:,} such pairs"
            + (
                "; add an annotator_id column if several annotators labelled the file)"
                if who == ANONYMOUS
                else ")"
            ),
            source=source.name,
        )
    if label_set is not None:
        outside = con.execute(
            f"""
            SELECT label, min(rowid) AS first, count(*) FROM {table}
            WHERE label NOT IN (SELECT unnest($labels)) GROUP BY label ORDER BY first LIMIT {SHOWN_PROBLEMS}
            """,
            {"labels": label_set},
        ).fetchall()
        if outside:
            listed = "; ".join(
                f"{label!r} ({n:,} {'row' if n == 1 else 'rows'}, first at {source.where(first)})"
                + look_alike(label, label_set)
                for label, first, n in outside
            )
            raise InputError(
                f"column label: labels outside the task type's set ({', '.join(label_set)}): {listed}",
                source=source.name,
            )
    if numeric:
        _require_numbers(con, table, "label", "DOUBLE", source)
    for column in optional:
        if column in NUMERIC_COLUMNS:
            _require_numbers(con, table, column, NUMERIC_COLUMNS[column], source)


def look_alike(label: str, labels: list[str]) -> str:
    """Where ``label`` differs from one of ``labels`` only in characters that look alike (case,
    width, compatibility forms, spaces), both spelled out in code points; else nothing.

    >>> look_alike("\uff21", ["A", "B"])
    " looks like 'A' but is U+FF21, not U+0041"
    """

    def folded(text: str) -> str:
        return unicodedata.normalize("NFKC", text).casefold().strip()

    twin = next((known for known in labels if folded(known) == folded(label)), None)
    if twin is None:
        return ""
    return f" looks like {twin!r} but is {code_points(label)}, not {code_points(twin)}"


def code_points(text: str) -> str:
    return " ".join(f"U+{ord(char):04X}" for char in text)


def _require_numbers(
    con: duckdb.DuckDBPyConnection, table: str, column: str, sql_type: str, source: Source
) -> None:
    bad = con.execute(
        f"SELECT {column}, rowid FROM {table} WHERE {invalid_number(column, sql_type)} "
        "ORDER BY rowid LIMIT 1"
    ).fetchone()
    if bad:
        raise InputError(
            f"{source.where(bad[1])}, column {column}: expected {NUMBER_RANGES[column][1]}, "
            f"got {bad[0]!r}",
            source=source.name,
        )


@dataclass(frozen=True)
class Preview:
    format: Format
    gzip: bool
    columns: tuple[str, ...]
    header: list[str]
    rows: list[tuple[object, ...]]


def preview(path: Path, display_name: str | None = None, limit: int = 10) -> Preview:
    """The detected format, the standard columns found and the first rows, before any import."""
    with duckdb.connect() as con:
        relation = typed_relation(con, path, display_name=display_name)
        try:
            result = con.execute(
                f"SELECT * FROM ({relation.sql}) LIMIT {int(limit)}", relation.params
            )
            rows = result.fetchall()
        except duckdb.Error as exc:
            raise read_error(exc, relation.source) from None
        header = [d[0] for d in result.description or []]
    return Preview(relation.source.format, relation.source.gzip, relation.columns, header, rows)
