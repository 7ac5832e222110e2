"""Opening a workspace: private to its owner, one clear message for a database that cannot be
reached or whose schema is newer than this procure, and a writer that waits for SQLite's lock."""

from __future__ import annotations

import stat
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from procure import db
from procure.cli import run
from procure.config import Settings
from procure.db import session_scope
from procure.errors import WorkspaceBusyError
from procure.records import open_workspace


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_workspace_is_private(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Under umask 022 the database and label files were world-readable (0644)."""
    home = tmp_path / "ws"
    assert run(["--home", str(home), "init", "--with-sample", "--today", "2026-11-19"]) == 0
    assert _mode(home) == 0o700 and _mode(home / "labels") == 0o700
    assert _mode(home / "procure.db") == 0o600
    stored = list((home / "labels").rglob("*.parquet"))
    assert stored and {_mode(p) for p in stored} == {0o600}
    assert {_mode(p) for p in (home / "labels").rglob("*") if p.is_dir()} == {0o700}


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "postgresql://postgres@127.0.0.1:9/test",
            "cannot open the records database postgresql://postgres@127.0.0.1:9/test: ",
        ),
        (
            "postgresql://postgres:SECRET@127.0.0.1:9/test",
            "postgresql://postgres:***@127.0.0.1:9/test",
        ),
        ("not a url", "PROCURE_DATABASE_URL is not a database URL"),
        ("mysql://u@127.0.0.1/x", "PROCURE_DATABASE_URL names a database procure cannot use"),
    ],
)
def test_a_database_that_cannot_be_used_is_one_message(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    url: str,
    expected: str,
) -> None:
    """Before, a closed port or a malformed URL gave a 70-170 line traceback."""
    monkeypatch.setenv("PROCURE_DATABASE_URL", url)
    code = run(["--home", str(tmp_path / "ws"), "init"])
    _, err = capsys.readouterr()
    assert code == 2 and expected in err, err
    assert "Traceback" not in err and "SECRET" not in err and len(err.splitlines()) == 1


def test_a_missing_postgresql_database_is_one_message(
    postgres_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    missing = postgres_url.rsplit("/", 1)[0] + "/procure_no_such_database"
    monkeypatch.setenv("PROCURE_DATABASE_URL", missing)
    code = run(["--home", str(tmp_path / "ws"), "spend"])
    _, err = capsys.readouterr()
    assert code == 2 and "procure_no_such_database" in err and "does not exist" in err, err
    assert "Traceback" not in err and len(err.splitlines()) == 1


def test_a_schema_newer_than_this_procure_is_refused_untouched(
    settings: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A team member upgraded procure: this one must not crash or downgrade anything."""
    workspace = open_workspace(settings)
    with workspace.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    workspace.engine.dispose()
    if settings.database_url:
        monkeypatch.setenv("PROCURE_DATABASE_URL", settings.database_url)
    for command in (["init"], ["spend"]):
        code = run(["--home", str(settings.home), *command])
        _, err = capsys.readouterr()
        assert code == 2, err
        assert "is at schema 0099, newer than this procure (which knows up to " in err
        assert "upgrade procure" in err and "Traceback" not in err
    engine = db.make_engine(settings)
    try:
        assert db.current_revision(engine) == "0099"
    finally:
        engine.dispose()


def test_a_writer_waits_for_sqlites_lock_then_says_the_workspace_is_busy(
    sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A unit of work takes the write lock when it begins, so a writer that read first is never
    refused half way; while another process holds the lock it waits, and past the wait it is
    told the workspace is busy (before: a "database is locked" traceback after 5 s)."""
    workspace = open_workspace(sqlite_settings)
    monkeypatch.setattr(db, "SQLITE_LOCK_WAIT_SECONDS", 0.5)
    other = db.make_engine(sqlite_settings)
    held = threading.Event()
    release = threading.Event()

    def hold_lock() -> None:
        with session_scope(other) as session:
            session.execute(text("UPDATE workspace_setting SET value = value"))
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold_lock)
    holder.start()
    held.wait(10)
    try:
        waited = db.make_engine(sqlite_settings)
        started = time.monotonic()
        with (
            pytest.raises(WorkspaceBusyError, match="the workspace is busy"),
            session_scope(waited) as session,
        ):
            session.execute(text("SELECT 1"))
        assert time.monotonic() - started >= 0.4  # it waited before giving up
        with session_scope(waited, read_only=True) as session:  # readers share the database
            assert session.execute(text("SELECT 1")).scalar() == 1
        release.set()
        holder.join()
        with session_scope(waited) as session:  # once the lock is free the write goes through
            session.execute(text("UPDATE workspace_setting SET value = value"))
    finally:
        release.set()
        holder.join()
        for engine in (other, workspace.engine):
            engine.dispose()
