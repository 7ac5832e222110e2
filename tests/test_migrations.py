"""The schema is made by migrations: upgrade from empty, round trip, and no drift from the models."""

import pytest
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


def test_0006_freezes_the_batches_decided_before_it(settings: Settings) -> None:
    """An older workspace's decided batches get their frozen price from the contract as it
    stands, priced as the spend report priced them; every contract gets its version 1."""
    from datetime import date

    from sqlmodel import Session, select

    from procure.db import session_scope
    from procure.delivery import build_report
    from procure.records.models import Batch, BatchEvent, ContractVersion
    from procure.sample.loader import load_sample
    from tests.conftest import SAMPLE_TODAY

    engine = db.make_engine(settings)
    try:
        db.upgrade(engine)
        with session_scope(engine) as session:
            load_sample(SAMPLE_TODAY, session=session)
        as_of = date(2026, 11, 21)
        with Session(engine) as session:
            report = build_report(as_of, session=session)
            before = {
                b.ref: (b.priced_first_unit, b.priced_cost)
                for r in report.contracts
                for b in r.batches
            }
        assert sum(cost is not None for _, cost in before.values()) == 15  # the decided ones
        db.downgrade(engine, "0005")
        db.upgrade(engine)
        with Session(engine) as session:
            after = {
                b.ref: (b.priced_first_unit, b.priced_cost) for b in session.exec(select(Batch))
            }
            versions = session.exec(select(ContractVersion)).all()
            events = session.exec(select(BatchEvent)).all()
            spent = {
                r.contract.title: r.spend.spent
                for r in build_report(as_of, session=session).contracts
            }
        assert after == before
        assert len(versions) == 5 and {v.number for v in versions} == {1}
        assert len(events) == 15 and {e.actor for e in events} == {"migration 0006"}
        assert spent["Preference pairs for RLHF, Q4"] == 50750  # as the sample test has it
        assert _drift(engine) == []
    finally:
        engine.dispose()


def test_a_failed_upgrade_leaves_the_previous_version(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A migration that fails half way (here: 0006's data step, after its tables and columns are
    made) leaves the schema as it was, on SQLite as on PostgreSQL; the next upgrade completes."""
    from alembic import op

    engine = db.make_engine(settings)
    try:
        db.upgrade(engine, "0005")
        tables = set(inspect(engine).get_table_names())
        columns = {c["name"] for c in inspect(engine).get_columns("batch")}

        def killed() -> None:
            raise RuntimeError("killed during the data step")

        with monkeypatch.context() as patch:
            patch.setattr(op, "get_bind", killed)  # the data step's first call
            with pytest.raises(RuntimeError, match="killed"):
                db.upgrade(engine)
        engine.dispose()
        assert db.current_revision(engine) == "0005"
        assert set(inspect(engine).get_table_names()) == tables  # nothing left behind
        assert {c["name"] for c in inspect(engine).get_columns("batch")} == columns
        db.upgrade(engine)
        assert db.is_current(engine) and _drift(engine) == []
    finally:
        engine.dispose()


# Runs the upgrade in a process that kills itself (SIGKILL, no cleanup) before its N-th SQL
# statement; prints the number of statements when it gets to the end.
KILLED_UPGRADE = """
import os, signal, sys
from sqlalchemy import Engine, event
from procure import db
from procure.config import Settings

stop_at, count = int(sys.argv[1]), [0]
@event.listens_for(Engine, "before_cursor_execute")
def counted(*args):
    count[0] += 1
    if count[0] == stop_at:
        os.kill(os.getpid(), signal.SIGKILL)
db.upgrade(db.make_engine(Settings()))
print(count[0])
"""


@pytest.mark.clock_free
def test_an_upgrade_killed_at_any_point_is_completed_by_init(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """kill -9 inside the upgrade from several revisions, at its first and a later schema
    operation: the upgrade is one transaction, so the schema stays at the revision it started
    from, and `procure init` then completes it. Before, a crash in the first migration or
    between 0004 and 0005 left tables behind and every later `procure init` failed with
    "table ... already exists"."""
    import os
    import subprocess
    import sys

    from procure.cli import run

    environment = {**os.environ, "PROCURE_HOME": str(settings.home)}
    if settings.database_url:
        environment["PROCURE_DATABASE_URL"] = settings.database_url
        monkeypatch.setenv("PROCURE_DATABASE_URL", settings.database_url)
    engine = db.make_engine(settings)
    kills = 0
    try:
        for start in (None, "0002", "0004", "0006"):
            for stop_at in (3, 8, 40, 120):  # SQL statements in: early, and inside migrations
                db.downgrade(engine, "base")
                if start:
                    db.upgrade(engine, start)
                tables = set(inspect(engine).get_table_names())
                engine.dispose()
                done = subprocess.run(
                    [sys.executable, "-c", KILLED_UPGRADE, str(stop_at)],
                    env=environment,
                    capture_output=True,
                    text=True,
                    timeout=120,
                )
                if done.returncode == 0:  # fewer statements than stop_at from this revision
                    assert db.current_revision(engine) == db.HEAD_REVISION
                    continue
                assert done.returncode == -9, done.stderr  # killed, with no chance to clean up
                kills += 1
                assert db.current_revision(engine) == start
                assert set(inspect(engine).get_table_names()) == tables  # nothing left behind
                engine.dispose()
                assert run(["--home", str(settings.home), "init"]) == 0  # completes the upgrade
                assert db.is_current(engine) and _drift(engine) == []
                engine.dispose()
        assert kills >= 8
    finally:
        engine.dispose()
