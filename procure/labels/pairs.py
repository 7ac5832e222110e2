"""Preference-pair label files: the shapes vendors deliver, mapped in SQL to one form.

One row is one judgement of a pair of responses (A and B) to a prompt. The canonical columns:

- ``label``: ``A``, ``B``, ``tie`` or ``both_bad``, read without regard to case (``both bad``
  too). A whole number from 1 to 7 is a Likert judgement (1 = A much better, 4 = as good,
  7 = B much better): 1-3 is A, 4 a tie, 5-7 B, and the distance from 4 is the margin
  (1 ``slight``, 2 ``clear``, 3 ``strong``). A ``likert`` column may stand in for ``label``;
  Label Studio's rating and Labelbox's radio answers arrive as such numbers.
- ``chosen`` and ``rejected`` texts (the Anthropic HH / TRL shape) without a label: with
  ``response_a`` and ``response_b`` the label is whichever of them is the chosen text;
  without them the chosen response is A (so position means nothing, and ``shown_first``
  should not be given).
- Optional: ``margin`` (as written, or from the Likert number), ``shown_first`` (A or B),
  ``len_a``/``len_b`` (else the characters of ``response_a``/``response_b``),
  ``reward_a``/``reward_b``, ``model_a``/``model_b``, ``prompt_id``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from procure.errors import InputError
from procure.kinds import PREFERENCE_LABELS

if TYPE_CHECKING:
    import duckdb

    from procure.labels.readers import Source

LABELS = PREFERENCE_LABELS
LIKERT_MARGINS = ("slight", "clear", "strong")  # |likert - 4| = 1, 2, 3


def _likert(value: str) -> str:
    return f"TRY_CAST(trim(CAST({value} AS VARCHAR)) AS INTEGER)"


def _choice(value: str) -> str:
    """SQL that reads one judgement's label; anything else stays as written (so the check of the
    task type's labels names it)."""
    text = f"CAST({value} AS VARCHAR)"
    word = f"lower(replace(trim({text}), ' ', '_'))"
    likert = _likert(value)
    canonical = ", ".join(f"'{label}'" for label in LABELS)
    return (
        f"CASE WHEN {text} IN ({canonical}) THEN {text} "  # as most files write them: no work
        f"WHEN {word} = 'a' THEN 'A' WHEN {word} = 'b' THEN 'B' "
        f"WHEN {word} = 'tie' THEN 'tie' WHEN {word} IN ('both_bad', 'bothbad') THEN 'both_bad' "
        f"WHEN {likert} BETWEEN 1 AND 3 AND CAST({value} AS VARCHAR) NOT LIKE '%.%' THEN 'A' "
        f"WHEN {likert} = 4 AND CAST({value} AS VARCHAR) NOT LIKE '%.%' THEN 'tie' "
        f"WHEN {likert} BETWEEN 5 AND 7 AND CAST({value} AS VARCHAR) NOT LIKE '%.%' THEN 'B' "
        f"ELSE CAST({value} AS VARCHAR) END"
    )


def label_column(names: list[str]) -> str | None:
    """The SQL of the label a preference file's rows carry, or ``None`` if it has none."""
    if "label" in names:
        return _choice("label")
    if "likert" in names:
        return _choice("likert")
    if "chosen" in names and "rejected" in names:
        if "response_a" in names and "response_b" in names:
            return (
                "CASE WHEN chosen = response_a THEN 'A' WHEN chosen = response_b THEN 'B' "
                "ELSE 'neither response_a nor response_b is the chosen text' END"
            )
        return "'A'"
    return None


def by_order(annotator: str, shown_first: str) -> str:
    """SQL of a judge's annotator per order shown, ``X (A shown first)`` and ``X (B shown
    first)`` (as ``procure llm run --both-orders`` names them), so that one judge's two
    judgements of a pair are two annotators' (an id already so named stays as it is)."""
    return (
        f"CASE WHEN {shown_first} IN ('A', 'B') AND NOT ends_with({annotator}, ' shown first)') "
        f"THEN {annotator} || ' (' || {shown_first} || ' shown first)' ELSE {annotator} END"
    )


def extra_columns(names: list[str]) -> dict[str, str]:
    """The canonical optional columns the file gives, as SQL over its own columns."""
    found: dict[str, str] = {}
    source = "label" if "label" in names else "likert" if "likert" in names else None
    numbered = _likert(source) if source else None
    if "margin" in names:
        found["margin"] = "NULLIF(trim(CAST(margin AS VARCHAR)), '')"
    elif numbered is not None:
        margins = ", ".join(f"'{m}'" for m in LIKERT_MARGINS)
        found["margin"] = (
            f"CASE WHEN {numbered} BETWEEN 1 AND 7 AND {numbered} <> 4 "
            f"THEN [{margins}][abs({numbered} - 4)] END"
        )
    if "shown_first" in names:
        found["shown_first"] = (
            "CASE upper(trim(CAST(shown_first AS VARCHAR))) WHEN '' THEN NULL "
            "WHEN 'A' THEN 'A' WHEN 'B' THEN 'B' ELSE CAST(shown_first AS VARCHAR) END"
        )
    for side in ("a", "b"):
        response = f"response_{side}"
        if response not in names and "chosen" in names and "response_a" not in names:
            response_sql = "chosen" if side == "a" else "rejected"
        elif response in names:
            response_sql = response
        else:
            response_sql = None
        if response_sql is not None:
            found[response] = f"CAST({response_sql} AS VARCHAR)"
        if f"len_{side}" in names:
            found[f"len_{side}"] = f"CAST(len_{side} AS VARCHAR)"
        elif response_sql is not None:
            found[f"len_{side}"] = f"CAST(length(CAST({response_sql} AS VARCHAR)) AS VARCHAR)"
    for column in ("reward_a", "reward_b", "model_a", "model_b", "prompt_id"):
        if column in names:
            found[column] = f"NULLIF(trim(CAST({column} AS VARCHAR)), '')"
    return found


SHOWN_PROBLEMS = 5
CHECKS = {
    "label": (
        f"label NOT IN ({', '.join(repr(label) for label in LABELS)})",
        "A, B, tie or both_bad, or a Likert 1-7",
    ),
    "shown_first": ("shown_first NOT IN ('A', 'B')", "A or B (the response shown first)"),
}


def check_values(
    con: duckdb.DuckDBPyConnection,
    rows: str,
    source: Source,
    columns: tuple[str, ...],
    params: dict[str, object] | None = None,
) -> None:
    """Refuse a label other than A, B, tie or both_bad and a ``shown_first`` other than A or B
    (those of ``columns``), naming the first rows of ``source``; ``rows`` is SQL of the rows
    with a ``rowid`` column (0-based, in the file's order)."""
    for column in columns:
        bad, expected = CHECKS[column]
        found = con.execute(
            f"SELECT {column}, rowid, count(*) OVER () FROM ({rows}) WHERE {bad} "
            f"ORDER BY rowid LIMIT {SHOWN_PROBLEMS}",
            params,
        ).fetchall()
        if found:
            listed = "; ".join(f"{value!r} at {source.where(row)}" for value, row, _ in found)
            raise InputError(
                f"column {column}: expected {expected}, found {listed} ({found[0][2]:,} "
                f"{'row' if found[0][2] == 1 else 'rows'} like this)",
                source=source.name,
            )
