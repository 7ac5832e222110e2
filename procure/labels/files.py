"""Label files (long format, one row per judgement) read by DuckDB and validated in SQL.

Formats: CSV, TSV, JSON Lines, a JSON array and Parquet, each optionally gzip-compressed,
detected from the content first and the file name second. Every problem is reported as one
``InputError`` naming the file, the line (text formats) or row (JSON array, Parquet), the column
and what was expected. Nothing here loops over label rows in Python.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import duckdb

from procure.errors import InputError

REQUIRED = ("item_id", "label")
ANONYMOUS = "anonymous"
NUMERIC_COLUMNS = {
    "confidence": "DOUBLE",
    "duration_s": "DOUBLE",
    "input_tokens": "BIGINT",
    "output_tokens": "BIGINT",
    "cost": "DOUBLE",
}
TEXT_COLUMNS = ("labeled_at", "text", "rationale")
SHOWN_PROBLEMS = 5
# Up to this many annotators, whether an item repeats an annotator is counted per item, with a bit
# string of annotator codes: far cheaper than grouping by (item, annotator), which keeps every row.
FAST_ANNOTATORS = 256
# The rows of ``relation`` with ``annotator_code`` (1, 2, ..) from the list parameter ``$names``.
ANNOTATOR_CODED = """
SELECT * FROM ({relation}) JOIN (
    SELECT unnest(${names}) AS annotator_id, generate_subscripts(${names}, 1) AS annotator_code
) USING (annotator_id)
"""
# Per item (grouped rows of ANNOTATOR_CODED): how many rows repeat an annotator.
REPEATS = "count(*) - bit_count(bitstring_agg(annotator_code, 1, {annotators}))"


class Format(StrEnum):
    csv = "csv"
    tsv = "tsv"
    jsonl = "jsonl"
    json = "json"
    parquet = "parquet"


@dataclass(frozen=True)
class Source:
    path: Path
    format: Format
    gzip: bool
    display_name: str | None = None  # the name the user knows (uploads live under a temporary one)

    @property
    def name(self) -> str:
        return self.display_name or self.path.name

    def where(self, rowid: int) -> str:
        """Where 0-based data row ``rowid`` is, as a user finds it in the file."""
        if self.format in (Format.csv, Format.tsv):
            return f"line {rowid + 2}"  # after the header line
        if self.format is Format.jsonl:
            return f"line {rowid + 1}"
        return f"row {rowid + 1}"


def _open_text(path: Path, compressed: bool) -> io.TextIOWrapper:
    """The file as UTF-8 text, decompressed if need be (the caller closes it)."""
    raw = gzip.open(path, "rb") if compressed else path.open("rb")  # noqa: SIM115
    return io.TextIOWrapper(raw, encoding="utf-8", newline="")


def detect(path: Path, display_name: str | None = None) -> Source:
    """The file's format, from its first bytes, then its name (``labels.csv.gz``)."""
    shown = display_name or path.name
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror}", source=shown) from None
    if not magic:
        raise InputError(
            "the file is empty; expected label rows with item_id and label", source=shown
        )
    compressed = magic[:2] == b"\x1f\x8b"
    if magic == b"PAR1":
        return Source(path, Format.parquet, False, display_name)
    name = shown.lower().removesuffix(".gz")
    by_name = {
        ".csv": Format.csv,
        ".tsv": Format.tsv,
        ".tab": Format.tsv,
        ".jsonl": Format.jsonl,
        ".ndjson": Format.jsonl,
        ".parquet": Format.parquet,
    }
    suffix = Path(name).suffix
    if suffix in by_name:
        return Source(path, by_name[suffix], compressed, display_name)
    try:
        with _open_text(path, compressed) as handle:
            first = handle.readline()
    except (UnicodeDecodeError, OSError, EOFError):
        first = ""
    start = first.lstrip()[:1]
    if start == "[":
        return Source(path, Format.json, compressed, display_name)
    if start == "{":
        return Source(path, Format.jsonl, compressed, display_name)
    return Source(path, Format.tsv if "\t" in first else Format.csv, compressed, display_name)


def _csv_header(source: Source) -> list[str]:
    try:
        with gzip.open(source.path, "rb") if source.gzip else source.path.open("rb") as handle:
            first = handle.readline().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(
            "not UTF-8 text; save the file as UTF-8", source=source.name, line=1
        ) from None
    except (OSError, EOFError) as exc:
        raise InputError(f"cannot read the file: {exc}", source=source.name) from None
    if not first.strip():
        raise InputError(
            "the file is empty; expected a header line naming item_id and label", source=source.name
        )
    delimiter = "\t" if source.format is Format.tsv else ","
    return [name.strip() for name in next(csv.reader([first], delimiter=delimiter))]


READ_CSV = """
SELECT * FROM read_csv($path, header = true, auto_detect = false, columns = $columns,
    delim = $delim, quote = '"', escape = '"', strict_mode = true, compression = $compression)
"""
READ_JSONL = (
    "SELECT * FROM read_json($path, format = 'newline_delimited', compression = $compression)"
)
READ_JSON = "SELECT * FROM read_json($path, format = 'array', compression = $compression)"
READ_PARQUET = "SELECT * FROM read_parquet($path)"


def _reader(source: Source, name: str) -> tuple[str, dict[str, object]]:
    """The reading query and its parameters, named ``$path_<name>`` and so on."""
    query, params = _base_reader(source)
    for key in params:
        query = re.sub(rf"\${key}\b", f"${key}_{name}", query)
    return query, {f"{key}_{name}": value for key, value in params.items()}


def _base_reader(source: Source) -> tuple[str, dict[str, object]]:
    params: dict[str, object] = {"path": str(source.path)}
    if source.format is Format.parquet:
        return READ_PARQUET, params
    params["compression"] = "gzip" if source.gzip else "none"
    if source.format is Format.jsonl:
        return READ_JSONL, params
    if source.format is Format.json:
        return READ_JSON, params
    header = _csv_header(source)
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise InputError(
            f"column {repeated[0]!r} appears twice in the header", source=source.name, line=1
        )
    params["columns"] = {name: "VARCHAR" for name in header}
    params["delim"] = "\t" if source.format is Format.tsv else ","
    return READ_CSV, params


def _json_error_line(source: Source) -> int | None:
    """The first line that is not valid JSON (only called once DuckDB has refused the file)."""
    with _open_text(source.path, source.gzip) as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                try:
                    json.loads(line)
                except json.JSONDecodeError:
                    return number
    return None


def read_error(exc: duckdb.Error, source: Source) -> InputError:
    message = str(exc)
    line = re.search(r"CSV Error on Line: (\d+)", message)
    columns = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", message)
    if line and columns:
        return InputError(
            f"expected {columns[1]} columns as in the header, found {columns[2]}",
            source=source.name,
            line=int(line[1]),
        )
    if "Invalid unicode" in message or "not utf-8" in message.lower():
        return InputError(
            "not UTF-8 text; save the file as UTF-8",
            source=source.name,
            line=int(line[1]) if line else None,
        )
    if source.format in (Format.jsonl, Format.json) and "JSON" in message:
        where = _json_error_line(source) if source.format is Format.jsonl else None
        return InputError(
            "malformed JSON; expected one JSON object per line"
            if where
            else "malformed JSON; expected an array of objects",
            source=source.name,
            line=where,
        )
    if source.format is Format.parquet:
        return InputError("not a readable Parquet file", source=source.name)
    if "gzip" in message.lower() or "compress" in message.lower():
        return InputError("not a readable gzip file", source=source.name)
    first = message.splitlines()[0].removeprefix("Invalid Input Error: ")
    return InputError(f"cannot read the file: {first}", source=source.name)


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


def typed_relation(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    *,
    name: str = "file",
    display_name: str | None = None,
) -> TypedRelation:
    """Detect the format and the columns (reading only the header or the schema)."""
    source = detect(path, display_name)
    query, params = _reader(source, name)
    try:
        names = [row[0] for row in con.execute(f"DESCRIBE {query}", params).fetchall()]
    except duckdb.Error as exc:
        raise read_error(exc, source) from None
    missing = [column for column in REQUIRED if column not in names]
    if missing:
        raise InputError(
            f"missing column {missing[0]!r}; expected item_id and label (and optionally annotator_id), "
            f"found: {', '.join(names) or 'no columns'}",
            source=source.name,
            line=1 if source.format in (Format.csv, Format.tsv) else None,
        )
    annotator = (
        f"COALESCE(NULLIF(CAST(annotator_id AS VARCHAR), ''), '{ANONYMOUS}')"
        if "annotator_id" in names
        else f"'{ANONYMOUS}'"
    )
    optional = [column for column in (*NUMERIC_COLUMNS, *TEXT_COLUMNS) if column in names]
    select = ", ".join(
        [
            "NULLIF(CAST(item_id AS VARCHAR), '') AS item_id",
            f"{annotator} AS annotator_id",
            "NULLIF(CAST(label AS VARCHAR), '') AS label",
            *(f"CAST({column} AS VARCHAR) AS {column}" for column in optional),
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
) -> LabelFile:
    """Check ``path`` in one cheap pass: columns, empty values, labels outside ``label_set``,
    non-numbers where ``numeric`` labels (interval and ratio data) or numeric columns are
    needed. ``name`` keeps the file's SQL parameters apart from another file's in one query;
    ``located_as`` names the original file when ``path`` is a copy of it in the same row order.

    Rows are located (a second read, with row numbers) only when something is wrong.
    """
    relation = typed_relation(con, path, name=name, display_name=display_name)
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
        f"count(*) FILTER (WHERE {c} IS NOT NULL AND TRY_CAST({c} AS {NUMERIC_COLUMNS[c]}) IS NULL)"
        for c in columns
    )
    return _scalar(con, f"SELECT {checks} FROM ({relation})", params) > 0


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
        _check(
            con,
            "located_rows",
            file.source,
            label_set=label_set,
            numeric=numeric,
            optional=optional,
        )
    finally:
        con.execute("DROP TABLE IF EXISTS located_rows")


def _scalar(con: duckdb.DuckDBPyConnection, sql: str, params: object = None) -> int:
    row = con.execute(sql, params).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _check(
    con: duckdb.DuckDBPyConnection,
    table: str,
    source: Source,
    *,
    label_set: list[str] | None,
    numeric: bool,
    optional: list[str],
) -> None:
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
        FROM {table} GROUP BY item_id, annotator_id
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


def _require_numbers(
    con: duckdb.DuckDBPyConnection, table: str, column: str, sql_type: str, source: Source
) -> None:
    bad = con.execute(
        f"""
        SELECT {column}, rowid FROM {table}
        WHERE {column} IS NOT NULL AND TRY_CAST({column} AS {sql_type}) IS NULL
        ORDER BY rowid LIMIT 1
        """
    ).fetchone()
    if bad:
        kind = "a whole number" if sql_type == "BIGINT" else "a number"
        raise InputError(
            f"{source.where(bad[1])}, column {column}: expected {kind}, got {bad[0]!r}",
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


ITEMS = """
SELECT item_id, min(text) AS text, count(DISTINCT text) AS versions, count(*) FILTER (WHERE text IS NULL) AS empty
FROM (SELECT NULLIF(CAST(item_id AS VARCHAR), '') AS item_id, NULLIF(CAST(text AS VARCHAR), '') AS text
      FROM ({query}))
GROUP BY item_id ORDER BY item_id
"""


def read_items(path: Path, display_name: str | None = None) -> list[tuple[str, str]]:
    """(item_id, text) pairs of an items file (any label-file format with ``item_id`` and
    ``text`` columns), one per item, in item order; every item needs one non-empty text."""
    source = detect(path, display_name)
    query, params = _reader(source, "items")
    with duckdb.connect() as con:
        try:
            names = [row[0] for row in con.execute(f"DESCRIBE {query}", params).fetchall()]
            missing = [c for c in ("item_id", "text") if c not in names]
            if missing:
                raise InputError(
                    f"missing column {missing[0]!r}; expected item_id and text, found: "
                    f"{', '.join(names) or 'no columns'}",
                    source=source.name,
                )
            rows = con.execute(ITEMS.format(query=query), params).fetchall()
        except duckdb.Error as exc:
            raise read_error(exc, source) from None
    if not rows:
        raise InputError("no items; expected rows with item_id and text", source=source.name)
    for item, text, versions, empty in rows:
        if item is None:
            raise InputError("an empty item_id", source=source.name, field="item_id")
        if text is None or empty:
            raise InputError(f"item {item!r} has no text", source=source.name, field="text")
        if versions > 1:
            raise InputError(
                f"item {item!r} has {versions} different texts", source=source.name, field="text"
            )
    return [(item, text) for item, text, _, _ in rows]
