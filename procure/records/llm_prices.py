"""The dated LLM price table: list prices per million tokens, editable, with the date read."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from procure.documents import validate
from procure.errors import NotFoundError
from procure.records.models import LlmPrice, LlmPriceBase
from procure.records.workspace import record_event

STALE_PRICE_DAYS = 90  # list prices change; one read longer ago than this is flagged


def is_stale(read_on: date, today: date) -> bool:
    """Whether a price read on ``read_on`` is older than ``STALE_PRICE_DAYS`` on ``today``."""
    return (today - read_on).days > STALE_PRICE_DAYS


def list_prices(*, session: Session) -> list[LlmPrice]:
    return list(session.exec(select(LlmPrice).order_by(col(LlmPrice.model))))


def price_for(model: str, *, session: Session) -> LlmPrice | None:
    return session.exec(select(LlmPrice).where(LlmPrice.model == model.strip())).first()


def save_price(data: dict[str, Any], *, session: Session) -> LlmPrice:
    """Create or update (by model name) one row of the price table."""
    spec = validate(LlmPriceBase, data, "price table")
    row = price_for(spec.model, session=session) or LlmPrice.model_validate(spec)
    row.sqlmodel_update(spec.model_dump())
    session.add(row)
    session.flush()
    record_event(
        "set",
        "llm_price",
        row.model,
        f"in {row.price_in_per_mtok} / out {row.price_out_per_mtok} {row.currency} per 1M tokens, "
        f"read on {row.read_on}",
        session=session,
    )
    return row


def delete_price(model: str, *, session: Session) -> None:
    row = price_for(model, session=session)
    if row is None:
        raise NotFoundError(f"no price for model {model!r}", field="model")
    session.delete(row)
    record_event("delete", "llm_price", model, session=session)


def replace_prices(rows: list[dict[str, Any]], *, session: Session) -> int:
    """Make the price table exactly ``rows`` (as edited in a table); returns how many remain."""
    keep = {str(row.get("model") or "").strip() for row in rows}
    for existing in list_prices(session=session):
        if existing.model not in keep:
            delete_price(existing.model, session=session)
    for row in rows:
        save_price(row, session=session)
    return len(rows)
