"""The app's fixtures: a fresh file-backed SQLite workspace per test (AppTest runs the page in
another thread, so an in-memory database would look empty there), and the page opener."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session
from streamlit.testing.v1 import AppTest

from procure.config import Settings
from procure.db import session_scope
from procure.records.workspace import open_workspace
from procure.sample.loader import load_sample
from tests.conftest import ROOT, SAMPLE_TODAY

APP = str(ROOT / "app.py")
PAGES = [
    "pages/overview.py",
    "pages/vendors_contracts.py",
    "pages/deliveries.py",
    "pages/quality.py",
    "pages/economics.py",
    "pages/llm_labelling.py",
]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PROCURE_HOME", str(tmp_path / "ws"))
    return tmp_path / "ws"


@pytest.fixture
def sample_home(home: Path) -> Path:
    workspace = open_workspace(Settings(home=home))
    with session_scope(workspace.engine) as db:
        load_sample(SAMPLE_TODAY, workspace.settings.label_store, session=db)
    workspace.engine.dispose()
    return home


def open_page(page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    if page != PAGES[0]:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def records(home: Path) -> Session:
    return Session(open_workspace(Settings(home=home), create=False).engine)
