"""The dated LLM price table: list prices per million tokens, editable, with the date read."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from procure.documents import validate
from procure.errors import NotFoundError
from procure.records.models import LlmPrice, LlmPriceBase
from procure.records.workspace import record_event


def list_prices(session: Session) -> list[LlmPrice]:
    return list(session.exec(select(LlmPrice).order_by(col(LlmPrice.model))))


def price_for(session: Session, model: str) -> LlmPrice | None:
    return session.exec(select(LlmPrice).where(LlmPrice.model == model.strip())).first()


def save_price(session: Session, data: dict[str, Any]) -> LlmPrice:
    """Create or update (by model name) one row of the price table."""
    spec = validate(LlmPriceBase, data, "price table")
    row = price_for(session, spec.model) or LlmPrice.model_validate(spec)
    row.sqlmodel_update(spec.model_dump())
    session.add(row)
    session.flush()
    record_event(
        session,
        "set",
        "llm_price",
        row.model,
        f"in {row.price_in_per_mtok} / out {row.price_out_per_mtok} {row.currency} per 1M tokens, "
        f"read on {row.read_on}",
    )
    return row


def delete_price(session: Session, model: str) -> None:
    row = price_for(session, model)
    if row is None:
        raise NotFoundError(f"no price for model {model!r}", field="model")
    session.delete(row)
    record_event(session, "delete", "llm_price", model)


def replace_prices(session: Session, rows: list[dict[str, Any]]) -> int:
    """Make the price table exactly ``rows`` (as edited in a table); returns how many remain."""
    keep = {str(row.get("model") or "").strip() for row in rows}
    for existing in list_prices(session):
        if existing.model not in keep:
            delete_price(session, existing.model)
    for row in rows:
        save_price(session, row)
    return len(rows)
