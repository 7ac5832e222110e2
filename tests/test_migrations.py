"""The schema is made by migrations: upgrade from empty, round trip, and no drift from the models."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

from procure import db
from procure.config import Settings


def _drift(engine: object) -> list[object]:
    with engine.connect() as connection:  # type: ignore[attr-defined]
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, SQLModel.metadata))


def test_upgrade_downgrade_round_trip(settings: Settings) -> None:
    engine = db.make_engine(settings)
    try:
        assert not db.is_current(engine)
        db.upgrade(engine)
        assert db.is_current(engine)
        assert _drift(engine) == []  # the migrations build exactly the tables the models declare
        assert {"vendor", "contract", "batch", "price_line"} <= set(
            inspect(engine).get_table_names()
        )
        db.downgrade(engine, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        db.upgrade(engine)
        assert db.is_current(engine) and _drift(engine) == []
    finally:
        engine.dispose()


def test_head_revision_constant_matches_the_scripts(sqlite_settings: Settings) -> None:
    engine = db.make_engine(sqlite_settings)
    try:
        assert db.script_heads(engine) == [db.HEAD_REVISION]
    finally:
        engine.dispose()
