"""Reading label files: the format detected from the content first and the file name second
(CSV, TSV, JSON Lines, a JSON array, Parquet; optionally gzip), DuckDB readers for each, a
reader's error turned into one message naming the line or row, and an items file's texts."""

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
    "len_a": "DOUBLE",  # preference pairs (procure.labels.pairs)
    "len_b": "DOUBLE",
    "reward_a": "DOUBLE",
    "reward_b": "DOUBLE",
}
# What each number may be (finite always): SQL that holds for a valid value ``x``, and its words.
NUMBER_RANGES = {
    "confidence": ("x BETWEEN 0 AND 1", "a number from 0 to 1"),
    "duration_s": ("x >= 0", "a number of seconds, 0 or more"),
    "input_tokens": ("x >= 0", "a whole number, 0 or more"),
    "output_tokens": ("x >= 0", "a whole number, 0 or more"),
    "cost": ("x >= 0", "an amount, 0 or more"),
    "label": ("true", "a number"),  # the label of a rating task type
    "len_a": ("x >= 0", "a length, 0 or more"),
    "len_b": ("x >= 0", "a length, 0 or more"),
    "reward_a": ("true", "a number"),
    "reward_b": ("true", "a number"),
}
TEXT_COLUMNS = (
    "labeled_at",
    "text",
    "rationale",
    # preference pairs (procure.labels.pairs)
    "margin",
    "shown_first",
    "model_a",
    "model_b",
    "prompt_id",
    "response_a",
    "response_b",
)


def invalid_number(column: str, sql_type: str = "DOUBLE") -> str:
    """SQL that is true where ``column`` holds something other than a finite number in its range
    (NaN and infinity parse as numbers but are not measurements)."""
    valid, _ = NUMBER_RANGES[column]
    value = f"TRY_CAST({column} AS {sql_type})"
    in_range = valid.replace("x", value)
    return (
        f"({column} IS NOT NULL AND NOT coalesce(isfinite(CAST({value} AS DOUBLE)) "
        f"AND {in_range}, false))"
    )


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


def check_gzip_complete(source: Source) -> None:
    """Refuse a gzip file cut short (a copy or download interrupted): DuckDB reads such a file
    up to the cut and reports no error, so its labels would look complete. Decompresses the
    file once, in zlib's C code, without keeping it."""
    if not source.gzip:
        return
    import zlib

    inflater = zlib.decompressobj(wbits=31)
    try:
        with source.path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                while chunk:
                    inflater.decompress(chunk, 1 << 16)
                    chunk = inflater.unconsumed_tail
                    if inflater.eof and inflater.unused_data:  # another gzip member follows
                        chunk = inflater.unused_data
                        inflater = zlib.decompressobj(wbits=31)
    except zlib.error as exc:
        raise InputError(f"not a readable gzip file ({exc})", source=source.name) from None
    if not inflater.eof:
        raise InputError(
            "the gzip file is cut short (it ends before its end-of-stream marker); "
            "expected a complete file: copy or download it again",
            source=source.name,
        )


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
    try:
        names = next(csv.reader([first.rstrip("\r\n")], delimiter=delimiter))
    except csv.Error as exc:
        raise InputError(
            f"the header is not a line of column names ({exc})", source=source.name, line=1
        ) from None
    return [name.strip() for name in names]


# The types a key column may have once read: text or whole numbers for ids; a label may also be
# a number with a fraction or a boolean. Anything else (an object, a list, a JSON column that
# mixes types) would reach the store as its JSON text, quotes and all.
INTEGER_TYPES = {
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "UHUGEINT",
}
KEY_TYPES = {
    "item_id": {"VARCHAR", *INTEGER_TYPES},
    "annotator_id": {"VARCHAR", *INTEGER_TYPES},
    "label": {"VARCHAR", "DOUBLE", "FLOAT", "BOOLEAN", *INTEGER_TYPES},
    # what preference figures group by (procure.labels.pairs)
    "margin": {"VARCHAR", "DOUBLE", "FLOAT", *INTEGER_TYPES},
    "shown_first": {"VARCHAR"},
    "model_a": {"VARCHAR", *INTEGER_TYPES},
    "model_b": {"VARCHAR", *INTEGER_TYPES},
    "prompt_id": {"VARCHAR", *INTEGER_TYPES},
}
NUMBER_KEYS = {"label", "margin"}  # may also be numbers with a fraction
# What a JSON value is (``json_type``), in a user's words.
JSON_KINDS = {
    "VARCHAR": "a string",
    "BIGINT": "a whole number",
    "UBIGINT": "a whole number",
    "DOUBLE": "a number with a fraction",
    "BOOLEAN": "true or false",
    "OBJECT": "an object",
    "ARRAY": "a list",
}
READ_OBJECTS = """
SELECT rowid, kind, value FROM (
    SELECT row_number() OVER () - 1 AS rowid, json_type(json, $key) AS kind,
           CAST(json_extract(json, $key) AS VARCHAR) AS value
    FROM read_json_objects($path, format = $format, compression = $compression)
) WHERE kind IS NOT NULL AND kind <> 'NULL'
"""


def check_key_types(con: duckdb.DuckDBPyConnection, source: Source, types: dict[str, str]) -> None:
    """Refuse an id or label column whose values are not all of one plain type (a string in one
    line and a number in the next, or an object), with the line where the type changes."""
    for column, allowed in KEY_TYPES.items():
        found = types.get(column)
        if found is None or found in allowed:
            continue
        if source.format not in (Format.json, Format.jsonl):
            raise InputError(
                f"column {column}: expected text or whole numbers, found values of type {found}",
                source=source.name,
            )
        rows = con.execute(
            READ_OBJECTS,
            {
                "key": f"$.{column}",
                "path": str(source.path),
                "format": "newline_delimited" if source.format is Format.jsonl else "array",
                "compression": "gzip" if source.gzip else "none",
            },
        ).fetchall()
        plain = {"VARCHAR", "BIGINT", "UBIGINT"} | (
            {"DOUBLE", "BOOLEAN"} if column in NUMBER_KEYS else set()
        )
        first = next((row for row in rows if row[1] in plain), None)
        kind_of = {"BIGINT": "UBIGINT"}  # one kind of whole number
        for rowid, kind, value in rows:
            if kind not in plain or (
                first and kind_of.get(kind, kind) != kind_of.get(first[1], first[1])
            ):
                expected = (
                    f"{JSON_KINDS[first[1]]} as at {source.where(first[0])}"
                    if first and kind in plain
                    else "a string or a whole number"
                    if column not in NUMBER_KEYS
                    else "a string or a number"
                )
                raise InputError(
                    f"{source.where(rowid)}, column {column}: expected {expected}, found "
                    f"{JSON_KINDS.get(kind, kind.lower())} ({value[:60]}); give every {column} "
                    "with one type",
                    source=source.name,
                )
        return


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


def _json_error(source: Source) -> InputError:
    """The first line that is not UTF-8 or not valid JSON (called once DuckDB has refused the
    file, whose own message names a line of its buffer, not of the file)."""
    raw = gzip.open(source.path, "rb") if source.gzip else source.path.open("rb")  # noqa: SIM115
    try:
        with raw as handle:
            for number, line in enumerate(handle, start=1):
                try:
                    text = line.decode("utf-8-sig" if number == 1 else "utf-8")
                except UnicodeDecodeError:
                    return InputError(
                        "not UTF-8 text; save the file as UTF-8", source=source.name, line=number
                    )
                if text.strip():
                    try:
                        json.loads(text)
                    except json.JSONDecodeError:
                        return InputError(
                            "malformed JSON; expected one JSON object per line",
                            source=source.name,
                            line=number,
                        )
    except (OSError, EOFError):
        return InputError("not a readable gzip file", source=source.name)
    return InputError("malformed JSON; expected one JSON object per line", source=source.name)


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
    too_long = re.search(
        r"Maximum line size of (\d+) bytes exceeded\. Actual Size:\s*(\d+)", message
    )
    if too_long:
        return InputError(
            f"a line of {int(too_long[2]) / 1e6:,.1f} MB; expected lines of at most "
            f"{int(too_long[1]) / 1e6:,.0f} MB (a text field that long is more likely a broken "
            "quote than a judgement)",
            source=source.name,
            line=int(line[1]) if line else None,
        )
    if "Invalid unicode" in message or "not utf-8" in message.lower():
        return InputError(
            "not UTF-8 text; save the file as UTF-8",
            source=source.name,
            line=int(line[1]) if line else None,
        )
    if source.format is Format.jsonl and "JSON" in message:
        return _json_error(source)
    if source.format is Format.json and "JSON" in message:
        return InputError("malformed JSON; expected an array of objects", source=source.name)
    if source.format is Format.parquet:
        return InputError("not a readable Parquet file", source=source.name)
    if "gzip" in message.lower() or "compress" in message.lower():
        check_gzip_complete(source)  # the precise reason when the file is cut short
        return InputError("not a readable gzip file", source=source.name)
    first = message.splitlines()[0].removeprefix("Invalid Input Error: ")
    return InputError(f"cannot read the file: {first}", source=source.name)


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
