"""The LLM labelling page: the endpoint follows the model's provider, a stale price is flagged,
jobs are named by their items, their invalid and failed items are listed as plain text, and a
finished job is repeated only when asked."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from procure.cli import run
from procure.config import Settings
from procure.db import session_scope
from procure.records.models import LlmJob
from procure.records.workspace import Workspace, open_workspace
from procure.sample.loader import load_sample
from tests.conftest import SAMPLE_TODAY
from tests.llm.server import ChatServer
from tests.llm.test_jobs import items
from tests.ui.conftest import open_page

PAGE = "pages/llm_labelling.py"
OPENAI_URL, ANTHROPIC_URL = "https://api.openai.com/v1", "https://api.anthropic.com/v1"


def _sample(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The sample workspace, the app's workspace."""
    home = tmp_path / "sample"
    ws = open_workspace(Settings(home=home))
    with session_scope(ws.engine) as db:
        load_sample(SAMPLE_TODAY, ws.settings.label_store, session=db)
    ws.engine.dispose()
    monkeypatch.setenv("PROCURE_HOME", str(home))
    return home


def test_the_endpoint_follows_the_models_provider_and_old_prices_are_flagged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: the page opened on claude-3-5-haiku with OpenAI's endpoint, and prices read on
    2025-06-02 (535 days before the sample's today) were shown without a warning."""
    _sample(tmp_path, monkeypatch)
    at = open_page(PAGE)
    at.selectbox(key="llm_task").set_value("pref_pair").run()
    # The first model of the table, with its own provider's endpoint and API key variable
    assert (at.selectbox(key="llm_model").value, at.text_input(key="llm_base_url").value) == (
        "claude-3-5-haiku",
        ANTHROPIC_URL,
    )
    assert any("read from `ANTHROPIC_API_KEY`" in str(c.value) for c in at.caption)
    at.selectbox(key="llm_model").set_value("gpt-4.1-mini").run()
    assert at.text_input(key="llm_base_url").value == OPENAI_URL
    assert any("read from `OPENAI_API_KEY`" in str(c.value) for c in at.caption)
    at.selectbox(key="llm_model").set_value("claude-sonnet-4").run()
    assert at.text_input(key="llm_base_url").value == ANTHROPIC_URL
    assert not at.exception and not at.error
    [warning] = [str(w.value) for w in at.warning]
    assert "read on 2025-06-02, 535 days before this estimate (more than 90)" in warning


def _upload(at: AppTest, file: Path) -> None:
    at.radio(key="llm_origin").set_value("An items file").run()
    at.file_uploader(key="llm_items").set_value((file.name, file.read_bytes(), "text/csv")).run()


def test_finished_jobs_are_named_their_problems_listed_and_repeated_only_when_asked(
    workspace: Workspace,
    server: ChatServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Before: the job was listed by the file's sha256, its invalid and failed items could not
    be seen, and Run started a duplicate of the finished job."""
    todo = [*items(2), ("never", "post label:B out-of-set"), ("text", "post malformed")]
    file = tmp_path / "week 3.csv"
    pd.DataFrame(todo, columns=["item_id", "text"]).to_csv(file, index=False)
    home = str(workspace.settings.home)
    command = ["--home", home, "llm", "run", "--task-type", "topic", "--model", "tiny"]
    assert run([*command, "--items", str(file), "--base-url", server.base_url, "--json"]) == 0
    job_id = json.loads(capsys.readouterr().out)["id"]
    monkeypatch.setenv("PROCURE_HOME", home)

    at = open_page(PAGE)
    # "tiny" has no provider in the price table: the page asks for the endpoint
    assert at.text_input(key="llm_base_url").value == ""
    assert any("give the endpoint's URL" in str(i.value) for i in at.info)
    at.text_input(key="llm_base_url").set_value(server.base_url).run()
    _upload(at, file)
    assert not at.exception
    [error] = [str(e.value) for e in at.error]
    assert f"Job {job_id} labelled these items with these settings already" in error
    assert at.button(key="llm_run").disabled
    at.checkbox(key="llm_repeat").check().run()
    assert not at.button(key="llm_run").disabled

    frames = [d.value for d in at.dataframe]
    [listed] = [f for f in frames if "items" in f.columns]
    assert list(listed["items"]) == ["week 3.csv"]
    [problems] = [f for f in frames if "answer" in f.columns]
    assert problems[["item", "status"]].values.tolist() == [
        ["never", "invalid"],
        ["text", "invalid"],
    ]
    assert problems["answer"].tolist() == [
        json.dumps({"label": "banana", "confidence": 0.9}),
        "I think it is probably the first one",
    ]


def test_an_emptied_endpoint_still_needs_the_providers_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: with the endpoint field emptied, Run went to the provider's hosted endpoint
    without checking for its API key."""
    home = _sample(tmp_path, monkeypatch)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    at = open_page(PAGE)
    at.selectbox(key="llm_task").set_value("pref_pair").run()
    assert at.selectbox(key="llm_model").value == "claude-3-5-haiku"
    for endpoint in ("", ANTHROPIC_URL + "/"):
        at.text_input(key="llm_base_url").set_value(endpoint).run()
        at.button(key="llm_run").click().run()
        assert not at.exception
        assert any("Set ANTHROPIC_API_KEY" in str(e.value) for e in at.error), endpoint
    with Session(open_workspace(Settings(home=home), create=False).engine) as db:
        assert db.exec(select(LlmJob)).all() == []
