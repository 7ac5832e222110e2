"""Shared fixtures: a fresh workspace per test, on SQLite and (when configured) PostgreSQL.

``PROCURE_TEST_DATABASE_URL`` points at a PostgreSQL server; each test gets its own database.
``PROCURE_REQUIRE_ALL_TESTS=1`` (set by CI) turns every skipped PostgreSQL or browser test into
a failure, so CI never passes by skipping.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import NoReturn

import pytest
from sqlmodel import Session

from procure.config import TODAY_VARIABLE, Settings
from procure.db import session_scope
from procure.records.workspace import Workspace, open_workspace

ROOT = Path(__file__).parent.parent  # the repository
DATA = ROOT / "tests" / "data"  # tiny hand-written input files
SAMPLE_TODAY = date(2026, 11, 19)  # the date the sample workspace is written for
TEST_DATABASE_URL = "PROCURE_TEST_DATABASE_URL"
CLOCK_SHIFT_DAYS = "PROCURE_TEST_CLOCK_SHIFT_DAYS"


def skip_or_fail(reason: str) -> NoReturn:
    """Skip on a newcomer's machine; fail in CI, where nothing may be skipped."""
    if os.environ.get("PROCURE_REQUIRE_ALL_TESTS") == "1":
        pytest.fail(f"required test cannot run: {reason}")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No test sees the developer's workspace or another test's Streamlit caches."""
    monkeypatch.setenv("PROCURE_HOME", str(tmp_path / "default_home"))
    # "Today" is pinned for every test, the app and CLI they start included: no test may pass
    # or fail by the day it runs (CI runs the suite again with the clock a year ahead).
    monkeypatch.setenv(TODAY_VARIABLE, SAMPLE_TODAY.isoformat())
    monkeypatch.delenv("PROCURE_DATABASE_URL", raising=False)
    yield
    if "streamlit.testing.v1" in sys.modules:
        import streamlit as st

        st.cache_data.clear()
        st.cache_resource.clear()


@pytest.fixture(autouse=True)
def _shifted_clock(request: pytest.FixtureRequest) -> Iterator[None]:
    """With ``PROCURE_TEST_CLOCK_SHIFT_DAYS`` set (CI sets 365), the wall clock runs that far ahead.

    A test that depends on the day it runs then fails in the commit that adds it, not a year
    later. Tests marked ``real_clock`` compare file times with the clock and run unshifted.
    """
    days = os.environ.get(CLOCK_SHIFT_DAYS)
    if not days or request.node.get_closest_marker("real_clock"):
        yield
        return
    import time_machine

    with time_machine.travel(timedelta(days=int(days)), tick=True):  # from the real now
        yield


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    server = os.environ.get(TEST_DATABASE_URL)
    if not server:
        skip_or_fail(f"{TEST_DATABASE_URL} is not set (no PostgreSQL server to test against)")
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"procure_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(server, autocommit=True)
    except psycopg.OperationalError as exc:
        skip_or_fail(f"cannot connect to PostgreSQL at {server}: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Workspace settings on each backend: a file-backed SQLite, or a fresh PostgreSQL database."""
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    return Settings(home=tmp_path / "workspace", database_url=url)


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "workspace")


@pytest.fixture
def workspace(settings: Settings) -> Iterator[Workspace]:
    ws = open_workspace(settings, create=True)
    yield ws
    ws.engine.dispose()


@pytest.fixture
def session(workspace: Workspace) -> Iterator[Session]:
    """A session whose work the test commits (or not) itself."""
    with Session(workspace.engine, expire_on_commit=False) as db:
        yield db


@pytest.fixture
def sample(workspace: Workspace) -> Workspace:
    from procure.sample.loader import load_sample

    with session_scope(workspace.engine) as db:
        load_sample(SAMPLE_TODAY, session=db)
    return workspace


def workspace_state(ws: Workspace) -> tuple[dict[str, list[tuple[object, ...]]], dict[str, bytes]]:
    """Every record (table by table, in key order) and every file of the workspace folder, to
    assert that a refused command changed nothing at all."""
    from sqlalchemy import MetaData, select

    tables = MetaData()
    tables.reflect(ws.engine)
    with ws.engine.connect() as connection:
        records = {
            name: [
                tuple(row)
                for row in connection.execute(
                    select(table).order_by(*(table.primary_key.columns or table.c))
                )
            ]
            for name, table in sorted(tables.tables.items())
        }
    files = {
        str(path.relative_to(ws.settings.home)): path.read_bytes()
        for path in sorted(ws.settings.home.rglob("*"))
        if path.is_file() and not path.name.startswith("procure.db")  # the records, above
    }
    return records, files


PROCURE_CLI = [sys.executable, "-c", "from procure.cli import main; main()"]


def procure_at_once(
    settings: Settings, commands: list[list[str]], **environment: str
) -> list[tuple[int, str]]:
    """Run ``procure`` commands as separate processes started together on the workspace of
    ``settings`` (SQLite or PostgreSQL); each one's exit code and stderr, in order."""
    env = {**os.environ, "PROCURE_HOME": str(settings.home), **environment}
    if settings.database_url:
        env["PROCURE_DATABASE_URL"] = settings.database_url
    started = [
        subprocess.Popen(
            [*PROCURE_CLI, *command],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for command in commands
    ]
    return [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in started]
