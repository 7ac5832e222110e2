"""Alembic environment: the engine comes from procure.db, never from a config file."""

from alembic import context
from sqlmodel import SQLModel

from procure.money import MoneyType
from procure.records import models  # noqa: F401  (registers the tables)
from procure.records.models import StrEnumType

engine = context.config.attributes["engine"]


def render_item(type_: str, obj: object, autogen_context: object) -> str | bool:
    """Render procure's column types as plain SQL types, so migrations never import app code."""
    if type_ == "type" and isinstance(obj, MoneyType):
        return "MONEY"
    if type_ == "type" and isinstance(obj, StrEnumType):
        return "sa.String(length=40)"
    return False


with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()
