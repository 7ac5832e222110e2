"""Exports of annotation tools turned into procure's long format, in DuckDB.

- Label Studio JSON export: a list of tasks; each annotation's results carry ``from_name`` (the
  field) and a value (``choices``, ``rating``, ``labels`` or ``text``). The item is the task id,
  the annotator the annotator's email (else id), the text ``data.text``. Cancelled annotations
  and results of other fields are skipped.
- Labelbox NDJSON export: one data row per line; each label's classifications carry ``name``
  (the field) and an answer (radio, first checklist answer, or text). The item is the row's
  global key (else id), the annotator ``label_details.created_by``, the text ``row_data``.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from procure.errors import InputError
from procure.kinds import Adapter
from procure.labels.readers import detect

LABEL_STUDIO = """
WITH tasks AS (SELECT json AS task FROM read_json_objects($path, format = 'array')),
annotations AS (
    SELECT task, unnest(json_extract(task, '$.annotations[*]')) AS annotation FROM tasks
),
results AS (
    SELECT task, annotation, unnest(json_extract(annotation, '$.result[*]')) AS result FROM annotations
    WHERE coalesce(json_extract_string(annotation, '$.was_cancelled'), 'false') <> 'true'
)
SELECT json_extract_string(task, '$.id') AS item_id,
       coalesce(json_extract_string(annotation, '$.completed_by.email'),
                json_extract_string(annotation, '$.completed_by.id'),
                json_extract_string(annotation, '$.completed_by')) AS annotator_id,
       coalesce(json_extract_string(result, '$.value.choices[0]'), json_extract_string(result, '$.value.rating'),
                json_extract_string(result, '$.value.labels[0]'), json_extract_string(result, '$.value.text[0]')) AS label,
       json_extract_string(task, '$.data.text') AS text,
       json_extract_string(result, '$.from_name') AS field
FROM results
"""
LABELBOX = """
WITH data_rows AS (SELECT json AS data_row FROM read_json_objects($path, format = 'newline_delimited')),
labels AS (
    SELECT data_row, unnest(json_extract(data_row, '$.projects.*.labels[*]')) AS label FROM data_rows
),
answers AS (
    SELECT data_row, label, unnest(json_extract(label, '$.annotations.classifications[*]')) AS answer FROM labels
)
SELECT coalesce(json_extract_string(data_row, '$.data_row.global_key'),
                json_extract_string(data_row, '$.data_row.id')) AS item_id,
       json_extract_string(label, '$.label_details.created_by') AS annotator_id,
       coalesce(json_extract_string(answer, '$.radio_answer.name'),
                json_extract_string(answer, '$.checklist_answers[0].name'),
                json_extract_string(answer, '$.text_answer.content')) AS label,
       json_extract_string(data_row, '$.data_row.row_data') AS text,
       json_extract_string(answer, '$.name') AS field
FROM answers
"""
QUERIES = {Adapter.label_studio: LABEL_STUDIO, Adapter.labelbox: LABELBOX}
EXPECTED = {
    Adapter.label_studio: "a Label Studio JSON export (a list of tasks with annotations)",
    Adapter.labelbox: "a Labelbox NDJSON export (one data row per line)",
}


def _run(
    con: duckdb.DuckDBPyConnection, sql: str, path: Path, adapter: Adapter, name: str
) -> list[tuple[object, ...]]:
    try:
        return con.execute(sql, {"path": str(path)}).fetchall()
    except duckdb.Error:
        raise InputError(f"malformed export; expected {EXPECTED[adapter]}", source=name) from None


def fields(path: Path, adapter: Adapter | str, display_name: str | None = None) -> list[str]:
    """The label fields the export has (Label Studio ``from_name``, Labelbox classification name)."""
    adapter = Adapter(adapter)
    detect(path, display_name)  # a clear message for a missing, unreadable or empty file
    with duckdb.connect() as con:
        rows = _run(
            con,
            f"SELECT DISTINCT field FROM ({QUERIES[adapter]}) WHERE field IS NOT NULL ORDER BY 1",
            path,
            adapter,
            display_name or path.name,
        )
    return [str(row[0]) for row in rows]


def convert(
    path: Path, adapter: Adapter | str, field: str, target: Path, display_name: str | None = None
) -> int:
    """Write the export's ``field`` labels to ``target`` (Parquet, long format); returns rows."""
    adapter = Adapter(adapter)
    name = display_name or path.name
    available = fields(path, adapter, display_name)
    if field not in available:
        raise InputError(
            f"no label field {field!r} in the export; it has: {', '.join(available) or 'no labelled results'}",
            source=name,
            field="field",
        )
    with duckdb.connect() as con:
        con.execute(
            f"COPY (SELECT item_id, annotator_id, label, text FROM ({QUERIES[adapter]}) WHERE field = $field) "
            f"TO '{str(target).replace(chr(39), chr(39) * 2)}' (FORMAT parquet)",
            {"path": str(path), "field": field},
        )
        row = con.execute(
            "SELECT count(*) FROM read_parquet($target)", {"target": str(target)}
        ).fetchone()
    return int(row[0]) if row else 0
