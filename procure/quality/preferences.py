"""Preference-pair judgements read into DuckDB tables, from files (``procure preferences``:
``file_preferences``) and from stored label sets (``procure.quality.report``:
``stored_preferences``), for the figures of ``procure.quality.preference_figures``: tie rates,
position and length bias, margin calibration, the leave-one-out human ceiling, the judge's
agreement and swap consistency, cyclic triads and Bradley-Terry strengths.

- A human's judgement is one per (item, annotator) (a repeated identical one counts once). A
  judge may judge an item in both orders (``shown_first`` A and B): the item's verdict is the
  judge's label where its judgements agree and a tie where they do not (the MT-Bench
  mitigation), and swap consistency is the share of items judged in both orders whose
  verdict survived the swap.
- "Longer" is by characters (``len_a``/``len_b``, else the response texts); pairs of equal
  length are left out of length bias.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb

import procure.labels.pairs as pairs
from procure.errors import InputError
from procure.labels.files import check_rows, scalar, typed_relation
from procure.labels.readers import (
    NUMERIC_COLUMNS,
    check_gzip_complete,
    invalid_number,
    read_error,
)
from procure.quality.preference_figures import JudgementTables, preference_figures
from procure.quality.results import PreferenceReport

# --- reading ---------------------------------------------------------------------------------

OPTIONAL = (
    "margin",
    "shown_first",
    "len_a",
    "len_b",
    "reward_a",
    "reward_b",
    "model_a",
    "model_b",
    "prompt_id",
)
# The judgement table's columns: what the figures read, NULL where the file has no such column.
JUDGEMENT_COLUMNS = """
item_id, annotator_id, label,
CASE label WHEN 'A' THEN 0 WHEN 'B' THEN 1 ELSE 2 END AS vote,
{margin} AS margin, {shown_first} AS shown_first,
CASE WHEN {len_a} > {len_b} THEN 0 WHEN {len_b} > {len_a} THEN 1 END AS longer,
CASE WHEN {reward_a} > {reward_b} THEN 0 WHEN {reward_b} > {reward_a} THEN 1 END AS reward_vote,
{model_a} AS model_a, {model_b} AS model_b, {prompt_id} AS prompt_id
"""


def judgement_columns(columns: tuple[str, ...] | set[str], *, typed: bool) -> str:
    """The judgement table's SELECT list over rows with ``columns`` (``typed``: numbers are
    numbers already, as in the store; else text, as a file's typed relation gives them)."""
    values = {}
    for column in OPTIONAL:
        if column not in columns:
            values[column] = "NULL"
        elif column in NUMERIC_COLUMNS and not typed:  # checked apart (``invalid``)
            values[column] = f"TRY_CAST({column} AS DOUBLE)"
        else:
            values[column] = column
    return JUDGEMENT_COLUMNS.format(**values)


DEDUPED = """
CREATE OR REPLACE TEMP TABLE {target} AS
SELECT item_id, annotator_id, min(label) AS label, min(vote) AS vote, {kept},
       min(label) <> max(label) AS conflict
FROM {rows} GROUP BY item_id, annotator_id
"""
REPEATED = "SELECT count(*) - (SELECT count(*) FROM (SELECT DISTINCT item_id, annotator_id FROM {rows})) FROM {rows}"
KEPT = ("margin", "shown_first", "longer", "reward_vote", "model_a", "model_b", "prompt_id")
# The judge's rows on the humans' pairs, with what the humans' rows say of the pair where its
# own rows do not (an LLM run stores no lengths or systems), and its verdict per pair: its
# label where its judgements agree, else a tie.
JUDGE_ROWS = """
CREATE OR REPLACE TEMP TABLE {target} AS
SELECT j.item_id, j.annotator_id, j.label, j.vote, j.margin, j.shown_first, j.reward_vote,
       coalesce(j.longer, h.longer) AS longer, coalesce(j.model_a, h.model_a) AS model_a,
       coalesce(j.model_b, h.model_b) AS model_b, coalesce(j.prompt_id, h.prompt_id) AS prompt_id
FROM {rows} AS j JOIN (
    SELECT item_id, any_value(longer) AS longer, any_value(model_a) AS model_a,
           any_value(model_b) AS model_b, any_value(prompt_id) AS prompt_id
    FROM {humans} GROUP BY item_id
) AS h USING (item_id)
"""
JUDGE = """
CREATE OR REPLACE TEMP TABLE {target} AS
SELECT item_id, CASE WHEN min(vote) = max(vote) THEN min(vote) ELSE 2 END AS vote,
       min(shown_first) <> max(shown_first) AS swapped, min(vote) = max(vote) AS consistent,
       any_value(model_a) AS model_a, any_value(model_b) AS model_b
FROM {rows} GROUP BY item_id
"""
# The judges of a judge file or an LLM run: annotators, one per order counting once.
ORDER_SUFFIX = r" \((A|B) shown first\)$"
JUDGES = (
    f"SELECT DISTINCT regexp_replace(annotator_id, '{ORDER_SUFFIX}', '') FROM {{rows}} ORDER BY 1"
)


def judge_tables(con: duckdb.DuckDBPyConnection, rows: str, humans: str, name: str) -> list[str]:
    """``{name}_rows`` and ``{name}`` (see JUDGE_ROWS, JUDGE) from the judge's rows ``rows``;
    returns the judges they hold (one is expected)."""
    con.execute(JUDGE_ROWS.format(target=f"{name}_rows", rows=rows, humans=humans))
    con.execute(JUDGE.format(target=name, rows=f"{name}_rows"))
    return [str(row[0]) for row in con.execute(JUDGES.format(rows=f"{name}_rows")).fetchall()]


# A judge judges an item at most once in each order.
JUDGE_CONFLICTS = """
SELECT count(*) FROM (SELECT 1 FROM {rows} GROUP BY item_id, annotator_id, shown_first
                      HAVING min(label) <> max(label))
"""


def one_per_annotator(
    con: duckdb.DuckDBPyConnection, rows: str, target: str, kept: tuple[str, ...] = KEPT
) -> bool:
    """``target``: the judgements of table ``rows``, one per (item, annotator). Usually no
    annotator repeats an item (one count finds out) and ``target`` is a view of the rows;
    otherwise they are grouped. Returns whether an annotator gave an item two labels."""
    if scalar(con, REPEATED.format(rows=rows)) == 0:
        con.execute(f"CREATE OR REPLACE TEMP VIEW {target} AS SELECT * FROM {rows}")
        return False
    # a human who saw the pair in both orders (with one label) shows no position preference
    columns = ", ".join(
        "CASE WHEN min(shown_first) = max(shown_first) THEN min(shown_first) END AS shown_first"
        if column == "shown_first"
        else f"any_value({column}) AS {column}"
        for column in kept
    )
    con.execute(DEDUPED.format(target=target, rows=rows, kept=columns))
    return scalar(con, f"SELECT count(*) FILTER (WHERE conflict) FROM {target}") > 0


def read_preference_file(
    con: duckdb.DuckDBPyConnection, path: Path, table: str, *, judge: bool = False
) -> Callable[[], None]:
    """Read a preference file once into ``table`` (its judgement columns, in file order) and
    check it; returns a function that raises the first problem with its row (for a conflict
    the caller finds). Every problem is one ``InputError``."""
    relation = typed_relation(con, path, name=table, preference=True)
    check_gzip_complete(relation.source)
    numbers = [c for c in relation.columns if c in NUMERIC_COLUMNS]
    labels = ", ".join(f"'{label}'" for label in pairs.LABELS)
    problems = [
        "item_id IS NULL",
        f"label IS NULL OR label NOT IN ({labels})",
        *(invalid_number(c, NUMERIC_COLUMNS[c]) for c in numbers),
    ]
    if "shown_first" in relation.columns:
        problems.append("shown_first NOT IN ('A', 'B')")
    columns = judgement_columns(relation.columns, typed=False)
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT {columns}, "
            f"coalesce({' OR '.join(problems)}, false) AS invalid FROM ({relation.sql})",
            relation.params,
        )
    except duckdb.Error as exc:
        raise read_error(exc, relation.source) from None
    # A judge may judge an item once in each order; a human once.
    key = (
        "item_id, annotator_id, shown_first"
        if judge and "shown_first" in relation.columns
        else None
    )

    def locate() -> None:  # the rows again, as written, to name the first problem
        located = f"{table}_located"
        con.execute(f"CREATE OR REPLACE TEMP TABLE {located} AS {relation.sql}", relation.params)
        check_rows(
            con,
            located,
            relation.source,
            label_set=None,
            numeric=False,
            optional=numbers,
            conflict_key=key,
        )
        checked = ("label", "shown_first") if "shown_first" in relation.columns else ("label",)
        pairs.check_values(con, f"SELECT rowid, * FROM {located}", relation.source, checked)

    found = con.execute(f"SELECT count(*), count(*) FILTER (WHERE invalid) FROM {table}").fetchone()
    rows, bad = found or (0, 0)
    if rows == 0:
        raise InputError(
            "no label rows after the header; expected one row per judgement",
            source=relation.source.name,
        )
    if bad or (judge and scalar(con, JUDGE_CONFLICTS.format(rows=table))):
        locate()
    return locate


def file_preferences(path: Path, judge: Path | None = None) -> PreferenceReport:
    """The ``procure preferences`` report (DESIGN.md): FILE's human judgements and, with
    ``judge``, the LLM judge's verdicts on the same items; the judge's verdict is the margins'
    reference, else the sign of the reward difference."""
    with duckdb.connect() as con:
        locate = read_preference_file(con, path, "human_rows")
        if one_per_annotator(con, "human_rows", "humans"):
            locate()
        tables = JudgementTables("humans")
        if judge is not None:
            read_preference_file(con, judge, "judge_file", judge=True)
            judges = judge_tables(con, "judge_file", "humans", "judge")
            if len(judges) > 1:
                raise InputError(
                    f"{len(judges)} judges ({', '.join(judges[:5])}); expected one judge per "
                    "file (its two orders may be annotators 'X (A shown first)' and "
                    "'X (B shown first)')",
                    source=judge.name,
                )
            if not judges:
                raise InputError(
                    f"no pair in common with {path.name}; expected the judge's verdicts on "
                    "the same item_ids",
                    source=judge.name,
                )
            tables = JudgementTables("humans", "judge", "judge_rows", "judge", "the LLM judge")
        return preference_figures(con, tables)


# --- the workspace ---------------------------------------------------------------------------

STORED_SCAN = "SELECT {columns}, {batch} AS batch_ref, {vendor} AS vendor, {week}::BIGINT AS week FROM read_parquet({file})"
GOLD_VOTES = """
CREATE OR REPLACE TEMP TABLE gold_votes AS
SELECT item_id, CASE code WHEN $a THEN 0 WHEN $b THEN 1 ELSE 2 END AS vote FROM gold_consensus
"""


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def stored_preferences(
    con: duckdb.DuckDBPyConnection,
    store: Path,
    vendor: list[tuple[str, str, int, str]],
    llm: str | None,
    gold: bool,
    labels: list[str],
) -> PreferenceReport | None:
    """The preference figures of stored label sets: ``vendor`` (path, batch ref, week, vendor
    name) as the humans, the ``llm`` run's file as the judge, and the gold consensus (a table
    ``gold_consensus`` of label codes in ``labels`` order, already on ``con``) as the margins'
    reference when ``gold``. ``None`` without vendor labels."""
    from procure.labels.store import parquet_columns

    if not vendor:
        return None
    scans = []
    for path, batch, week, vendor_name in vendor:
        file = _literal(str(store / path))
        columns = judgement_columns(parquet_columns(con, str(store / path)), typed=True)
        scans.append(
            STORED_SCAN.format(
                columns=columns,
                batch=_literal(batch),
                vendor=_literal(vendor_name),
                week=int(week),
                file=file,
            )
        )
    con.execute(f"CREATE OR REPLACE TEMP TABLE pref_rows AS {' UNION ALL '.join(scans)}")
    one_per_annotator(con, "pref_rows", "pref_humans", (*KEPT, "batch_ref", "vendor", "week"))
    judge = judge_rows = reference = name = None
    if llm is not None:
        path = str(store / llm)
        columns = judgement_columns(parquet_columns(con, path), typed=True)
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE pref_judge_file AS "
            f"SELECT {columns} FROM read_parquet({_literal(path)})"
        )
        # an LLM run that covers none of the pairs, or holds several models, judges nothing
        if len(judge_tables(con, "pref_judge_file", "pref_humans", "pref_judge")) == 1:
            judge, judge_rows = "pref_judge", "pref_judge_rows"
            reference, name = judge, "the LLM judge"
    if gold:
        con.execute(GOLD_VOTES, {"a": labels.index("A"), "b": labels.index("B")})
        reference, name = "gold_votes", "gold"
    tables = JudgementTables(
        "pref_humans",
        judge,
        judge_rows,
        reference,
        name,
        groups=(("vendor", "vendor"), ("batch", "batch_ref"), ("week", "week")),
    )
    return preference_figures(con, tables)
