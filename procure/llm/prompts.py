"""Prompts for LLM labelling: the task type's versioned template, the allowed labels, few-shot
examples from gold items, strict parsing of answers, and the token and cost arithmetic of a call."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
from sqlmodel import Session, col, select

from procure.economics.formulas import llm_cost_per_label
from procure.errors import InputError, NotFoundError
from procure.kinds import LabelSource
from procure.labels.store import parquet_columns
from procure.records.catalog import get_task_type
from procure.records.models import (
    LabelSet,
    LlmPrice,
    PromptTemplate,
    TaskType,
)
from procure.records.workspace import record_event

DEFAULT_VERSION = "default"
DEFAULT_INSTRUCTIONS = (
    "You label items for the task '{name}'; each item is one {unit}. Read the item and choose the "
    "single best label."
)
MESSAGE_OVERHEAD = 4  # tokens the chat format adds per message (an allowance, not exact)
EXPECTED_OUTPUT_TOKENS = 12  # {"label": "...", "confidence": 0.9}


# --- prompts -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prompt:
    version: str
    system: str
    labels: tuple[str, ...]
    examples: tuple[tuple[str, str], ...] = ()  # (text, gold label)

    def messages(self, text: str) -> list[dict[str, str]]:
        shots = [
            message
            for example, label in self.examples
            for message in (
                {"role": "user", "content": example},
                {"role": "assistant", "content": json.dumps({"label": label, "confidence": 1.0})},
            )
        ]
        return [
            {"role": "system", "content": self.system},
            *shots,
            {"role": "user", "content": text},
        ]


def system_prompt(instructions: str, labels: tuple[str, ...]) -> str:
    allowed = ", ".join(json.dumps(label) for label in labels)
    return (
        f"{instructions.strip()}\n\nAllowed labels: {allowed}.\n"
        'Answer with a JSON object only: {"label": <one allowed label, exactly as written>, '
        '"confidence": <your probability that the label is right, 0 to 1>}.'
    )


def response_format(labels: tuple[str, ...]) -> dict[str, Any]:
    """Structured output: a JSON schema whose label must be one of the allowed labels."""
    return {
        "type": "json_schema",
        "json_schema": {
            "name": "label",
            "strict": True,
            "schema": {
                "type": "object",
                "properties": {
                    "label": {"type": "string", "enum": list(labels)},
                    "confidence": {"type": "number"},
                },
                "required": ["label", "confidence"],
                "additionalProperties": False,
            },
        },
    }


@dataclass(frozen=True)
class Answer:
    label: str | None
    confidence: float | None
    problem: str | None  # why the answer is not a valid label


def parse_answer(content: str | None, labels: tuple[str, ...]) -> Answer:
    """A JSON object with a ``label`` from the set (and an optional ``confidence`` in [0, 1]), or
    the bare label; anything else is a problem, never coerced.

    >>> parse_answer('{"label": "B", "confidence": 0.8}', ("A", "B"))
    Answer(label='B', confidence=0.8, problem=None)
    >>> parse_answer("b", ("A", "B")).problem
    "'b' is not one of the allowed labels"
    """
    text = (content or "").strip()
    if text in labels:
        return Answer(text, None, None)
    try:
        data = json.loads(text)
    except ValueError:
        shown = text if len(text) <= 80 else text[:77] + "..."
        return Answer(None, None, f"{shown!r} is not one of the allowed labels")
    if not isinstance(data, dict) or not isinstance(data.get("label"), str):
        return Answer(None, None, "the answer has no label")
    label = data["label"]
    if label not in labels:
        return Answer(None, None, f"{label!r} is not one of the allowed labels")
    confidence = data.get("confidence")
    if isinstance(confidence, int | float) and 0 <= confidence <= 1:
        return Answer(label, float(confidence), None)
    return Answer(label, None, None)


def estimate_tokens(text: str) -> int:
    """About four characters per token (English prose); an estimate, labelled as such."""
    return math.ceil(len(text) / 4)


def token_upper_bound(messages: list[dict[str, str]]) -> int:
    """At most one token per UTF-8 byte (byte-level BPE), plus the per-message allowance."""
    return sum(len(m["content"].encode()) + MESSAGE_OVERHEAD for m in messages)


def call_cost(price: LlmPrice, input_tokens: int, output_tokens: int) -> Decimal:
    """One call's cost: the economics' LLM cost formula for one run, at list price.

    >>> from datetime import date
    >>> p = LlmPrice(model="m", price_in_per_mtok=Decimal("0.15"), price_out_per_mtok=Decimal("0.6"), read_on=date(2025, 6, 2))
    >>> call_cost(p, 1000, 10)
    Decimal('0.000156')
    """
    cost: Decimal = llm_cost_per_label(
        Decimal(input_tokens),
        Decimal(output_tokens),
        price.price_in_per_mtok,
        price.price_out_per_mtok,
        runs=1,
        discount=Decimal(0),
    )
    return cost


# --- templates ---------------------------------------------------------------------------------


def task_type_of(key: str, *, session: Session) -> TaskType:
    task_type = get_task_type(key, session=session)
    if not task_type.labels:
        raise InputError(f"task type {key!r} has no label set to ask the LLM for")
    return task_type


def templates(task_type: TaskType, *, session: Session) -> list[PromptTemplate]:
    return list(
        session.exec(
            select(PromptTemplate)
            .where(PromptTemplate.task_type_id == task_type.id)
            .order_by(col(PromptTemplate.id))
        )
    )


def template(task_type: TaskType, version: str | None, *, session: Session) -> PromptTemplate:
    """The named version, else the newest, else the default template (not stored)."""
    known = templates(task_type, session=session)
    default = PromptTemplate(
        task_type_id=task_type.id or 0,
        version=DEFAULT_VERSION,
        instructions=DEFAULT_INSTRUCTIONS.format(name=task_type.name, unit=task_type.unit),
    )
    if version is None:
        return known[-1] if known else default
    for t in known:
        if t.version == version:
            return t
    if version == DEFAULT_VERSION:
        return default
    raise NotFoundError(
        f"no prompt version {version!r} for task type {task_type.key!r}", field="prompt version"
    )


def save_template(
    task_type_key: str, version: str, instructions: str, few_shot: int = 0, *, session: Session
) -> PromptTemplate:
    """Add a prompt version. Versions are immutable: runs refer to them."""
    task_type = task_type_of(task_type_key, session=session)
    version, instructions = version.strip(), instructions.strip()
    if not version or len(version) > 80:
        raise InputError("expected a version name of 1 to 80 characters", field="version")
    if not instructions:
        raise InputError("expected instructions for the LLM", field="instructions")
    if few_shot < 0:
        raise InputError(f"expected 0 or more few-shot examples, got {few_shot}", field="few_shot")
    if (
        any(t.version == version for t in templates(task_type, session=session))
        or version == DEFAULT_VERSION
    ):
        raise InputError(
            f"prompt version {version!r} exists already; versions are kept as runs used them, "
            "so save the change under a new version",
            field="version",
        )
    row = PromptTemplate(
        task_type_id=task_type.id or 0,
        version=version,
        instructions=instructions,
        few_shot=few_shot,
    )
    session.add(row)
    session.flush()
    record_event("create", "prompt_template", row.id, f"{task_type.key} {version}", session=session)
    return row


GOLD_EXAMPLES = """
SELECT item_id, arg_max(label_code, n) AS code, any_value(text) AS text
FROM (SELECT item_id, label_code, text, count(*) OVER (PARTITION BY item_id, label_code) AS n
      FROM read_parquet($files, union_by_name = true) WHERE text IS NOT NULL)
GROUP BY item_id ORDER BY item_id LIMIT $limit
"""


def build_prompt(
    store: Path, task_type: TaskType, chosen: PromptTemplate, *, session: Session
) -> Prompt:
    labels = tuple(task_type.labels)
    examples: tuple[tuple[str, str], ...] = ()
    if chosen.few_shot:
        files = [
            str(store / s.path)
            for s in session.exec(
                select(LabelSet).where(
                    LabelSet.task_type_id == task_type.id,
                    LabelSet.source == LabelSource.gold,
                    col(LabelSet.retired_at).is_(None),
                )
            )
        ]
        with duckdb.connect() as con:
            usable = [f for f in files if "text" in parquet_columns(con, f)]
            rows = (
                con.execute(GOLD_EXAMPLES, {"files": usable, "limit": chosen.few_shot}).fetchall()
                if usable
                else []
            )
        if len(rows) < chosen.few_shot:
            raise InputError(
                f"prompt {chosen.version!r} asks for {chosen.few_shot} few-shot examples but the "
                f"gold sets of {task_type.key!r} have {len(rows)} items with text"
            )
        examples = tuple((text, labels[code]) for _, code, text in rows)
    return Prompt(chosen.version, system_prompt(chosen.instructions, labels), labels, examples)
