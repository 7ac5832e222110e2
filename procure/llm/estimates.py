"""What labelling a batch's (or a file's) items once would cost, from the dated price table."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
from sqlmodel import Session, col, select

from procure import config
from procure.errors import InputError
from procure.kinds import LabelKind
from procure.labels.store import parquet_columns
from procure.llm.prompts import (
    EXPECTED_OUTPUT_TOKENS,
    MESSAGE_OVERHEAD,
    Prompt,
    build_prompt,
    call_cost,
    estimate_tokens,
    task_type_of,
    template,
    token_upper_bound,
)
from procure.records.llm_prices import STALE_PRICE_DAYS, is_stale, price_for
from procure.records.models import Batch, LabelSet, LlmPrice, TaskType

# --- items -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobSource:
    """The items to label, what identifies them for resuming (``key``: the batch's id or the
    file's sha256) and what a person calls them (``name``: the batch's ref or the file's name)."""

    key: str
    items: list[tuple[str, str]] = field(repr=False)
    batch_id: int | None = None
    name: str = ""
    both_orders: bool = False  # preference pairs, each judged with A and with B shown first


# A both-orders job labels each pair twice; the item id of each request names the order.
ORDER_MARK = "\x1f"
# A pair as the judge reads it (the prompt, then the responses in the order shown).
PAIR_TEXT = "{prompt}\n\nResponse A:\n{first}\n\nResponse B:\n{second}"
PAIR_ITEMS = """
SELECT item_id, min(text), min(response_a), min(response_b) FROM ({rows})
WHERE text IS NOT NULL AND response_a IS NOT NULL AND response_b IS NOT NULL
GROUP BY item_id ORDER BY item_id
"""


def in_both_orders(pairs: list[tuple[str, str, str, str]]) -> list[tuple[str, str]]:
    """(item_id, prompt, response_a, response_b) as two requests each: ``<id>\x1fA`` with A
    shown first and ``<id>\x1fB`` with the responses swapped (the judge's "A" is then
    response B; ``RUN_LABELS`` maps it back)."""
    return [
        request
        for item, prompt, a, b in pairs
        for request in (
            (f"{item}{ORDER_MARK}A", PAIR_TEXT.format(prompt=prompt, first=a, second=b)),
            (f"{item}{ORDER_MARK}B", PAIR_TEXT.format(prompt=prompt, first=b, second=a)),
        )
    ]


def _pairs_of(
    con: duckdb.DuckDBPyConnection, rows: str, params: dict[str, object], name: str
) -> list[tuple[str, str]]:
    columns = {row[0] for row in con.execute(f"DESCRIBE {rows}", params).fetchall()}
    missing = [c for c in ("item_id", "text", "response_a", "response_b") if c not in columns]
    if missing:
        raise InputError(
            f"{name} has no {', '.join(missing)} column; judging in both orders needs each "
            "pair's prompt (text) and both responses (response_a, response_b)"
        )
    found = con.execute(PAIR_ITEMS.format(rows=rows), params).fetchall()
    if not found:
        raise InputError(
            f"{name} has no pairs with text, response_a and response_b; judging in both orders "
            "needs the prompt (text) and both responses"
        )
    return in_both_orders([(str(i), str(t), str(a), str(b)) for i, t, a, b in found])


BATCH_ITEMS = """
SELECT item_id, min(text) AS text FROM read_parquet($files, union_by_name = true)
WHERE text IS NOT NULL GROUP BY item_id ORDER BY item_id
"""


def batch_items(
    store: Path, batch_id: int, *, session: Session, both_orders: bool = False
) -> list[tuple[str, str]]:
    """(item_id, text) of a batch's vendor labels, one per item (two per pair ``both_orders``)."""
    files = [
        str(store / s.path)
        for s in session.exec(
            select(LabelSet).where(
                LabelSet.batch_id == batch_id, col(LabelSet.retired_at).is_(None)
            )
        )
    ]
    if not files:
        raise InputError(
            f"batch {batch_id} has no labels imported; import them with their text first"
        )
    with duckdb.connect() as con:
        if both_orders:
            if not all({"response_a", "response_b"} <= parquet_columns(con, f) for f in files):
                raise InputError(
                    f"batch {batch_id}'s labels have no response_a and response_b columns; "
                    "judging in both orders swaps the two responses"
                )
            rows = "SELECT * FROM read_parquet($files, union_by_name = true)"
            return _pairs_of(con, rows, {"files": files}, f"batch {batch_id}")
        if not all("text" in parquet_columns(con, f) for f in files):
            raise InputError(
                f"batch {batch_id}'s labels have no text column; the LLM needs each item's text "
                "(import the labels with a text column, or give an items file)"
            )
        return [
            (item, text) for item, text in con.execute(BATCH_ITEMS, {"files": files}).fetchall()
        ]


def job_source(
    store: Path,
    *,
    session: Session,
    batch_id: int | None = None,
    items_file: Path | None = None,
    display_name: str | None = None,
    both_orders: bool = False,
) -> JobSource:
    """The items of a batch (from its labels' text) or of an items file (item_id, text); with
    ``both_orders``, each preference pair twice, its responses swapped the second time (the
    batch's labels or the items file need ``response_a`` and ``response_b``)."""
    if (batch_id is None) == (items_file is None):
        raise InputError("give either a batch or an items file")
    orders = " both orders" if both_orders else ""
    if batch_id is not None:
        batch = session.get(Batch, batch_id)
        return JobSource(
            f"batch {batch_id}{orders}",
            batch_items(store, batch_id, session=session, both_orders=both_orders),
            batch_id,
            batch.ref if batch is not None else "",
            both_orders,
        )
    assert items_file is not None
    from procure.labels.readers import read_items
    from procure.labels.store import file_sha256

    if not items_file.is_file():
        raise InputError("no such file", source=display_name or str(items_file))
    name = display_name or items_file.name
    if both_orders:
        from procure.labels.readers import _reader, detect

        query, params = _reader(detect(items_file, display_name), "items")
        with duckdb.connect() as con:
            items = _pairs_of(con, query, params, name)
    else:
        items = read_items(items_file, display_name)
    return JobSource(
        f"items {file_sha256(items_file)}{orders}", items, name=name, both_orders=both_orders
    )


# --- estimate ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Estimate:
    items: int
    input_tokens: int
    output_tokens: int
    cost: Decimal
    worst_case: Decimal
    currency: str
    price_read_on: str
    price_age_days: int  # from the day the price was read to the estimate's date
    price_stale: bool  # read more than ``STALE_PRICE_DAYS`` before the estimate's date

    @property
    def price_warning(self) -> str | None:
        """What to tell the user about a stale price, else ``None``."""
        if not self.price_stale:
            return None
        return (
            f"The price was read on {self.price_read_on}, {self.price_age_days:,} days before "
            f"this estimate (more than {STALE_PRICE_DAYS}): list prices change, so check it "
            "against the provider's price list and update the price table before relying on "
            "the cost."
        )


def model_price(model: str, *, session: Session) -> LlmPrice:
    price = price_for(model, session=session)
    if price is None:
        raise InputError(
            f"no price for model {model!r} in the price table; add it first (Economics page, or "
            f"`procure llm-price set {model} --in PRICE --out PRICE`; 0 for a local model)",
            field="model",
        )
    return price


def estimate(
    prompt: Prompt,
    items: list[tuple[str, str]],
    price: LlmPrice,
    max_output_tokens: int,
    *,
    today: date | None = None,
) -> Estimate:
    """Estimated tokens and cost of labelling ``items`` once (see the module docstring), and the
    worst case of one call per item (re-asks of invalid answers come on top). Costs are linear in
    tokens, so the per-item worst cases add up to the cost of the summed bounds. The price's age
    is counted to ``today`` (default: ``procure.config.today()``)."""
    inputs = upper = 0
    for _, text in items:
        messages = prompt.messages(text)
        inputs += sum(estimate_tokens(m["content"]) + MESSAGE_OVERHEAD for m in messages)
        upper += token_upper_bound(messages)
    outputs = EXPECTED_OUTPUT_TOKENS * len(items)
    worst = call_cost(price, upper, max_output_tokens * len(items))
    today = today or config.today()
    age = (today - price.read_on).days
    return Estimate(
        len(items),
        inputs,
        outputs,
        call_cost(price, inputs, outputs),
        worst,
        price.currency,
        str(price.read_on),
        age,
        is_stale(price.read_on, today),
    )


@dataclass(frozen=True)
class Plan:
    """What labelling a source's items would use and cost: the page, ``procure llm estimate`` and
    a job all start from it."""

    task_type: TaskType
    prompt: Prompt
    price: LlmPrice
    estimate: Estimate


def plan(
    store: Path,
    task_type_key: str,
    source: JobSource,
    model: str,
    *,
    session: Session,
    prompt_version: str | None = None,
    max_output_tokens: int = 50,
    today: date | None = None,
) -> Plan:
    """The task type's prompt (the template ``prompt_version``, or the newest), the model's dated
    price and the estimate of labelling ``source`` once, as of ``today``."""
    task_type = task_type_of(task_type_key, session=session)
    if source.both_orders and task_type.label_kind is not LabelKind.preference:
        raise InputError(
            f"task type {task_type.key!r} is {task_type.label_kind.value}; only preference pairs "
            "are judged in both orders",
            field="both-orders",
        )
    prompt = build_prompt(
        store, task_type, template(task_type, prompt_version, session=session), session=session
    )
    price = model_price(model, session=session)
    figures = estimate(prompt, source.items, price, max_output_tokens, today=today)
    return Plan(task_type, prompt, price, figures)
