"""An LLM job survives what happens to real jobs: an endpoint that refuses everything, errors that
quote the API key, a password in the endpoint's URL, a crash that tears the journal's last line
or kills requests in flight, and the same job started twice at once."""

from __future__ import annotations

import json
import os
from decimal import Decimal as D
from pathlib import Path

import pandas as pd
import pytest
from sqlmodel import Session, select

from procure.cli import run
from procure.config import Settings
from procure.db import session_scope
from procure.kinds import JobStatus
from procure.llm import client, jobs
from procure.records.models import LabelSet, LlmJob
from procure.records.workspace import Workspace, open_workspace
from tests.conftest import procure_at_once
from tests.llm.conftest import llm_catalog
from tests.llm.server import ChatServer
from tests.llm.test_jobs import execute, items, start

SECRET = "sk-test-secret-123"


def _items_file(tmp_path: Path, todo: list[tuple[str, str]]) -> Path:
    path = tmp_path / "items.csv"
    pd.DataFrame(todo, columns=["item_id", "text"]).to_csv(path, index=False)
    return path


def _llm_run(home: Path, file: Path, base_url: str, *extra: str) -> list[str]:
    return [
        "--home",
        str(home),
        "llm",
        "run",
        "--task-type",
        "topic",
        "--model",
        "tiny",
        "--items",
        str(file),
        "--base-url",
        base_url,
        "--max-retries",
        "0",
        *extra,
    ]


def test_an_endpoint_that_refuses_every_connection_exits_non_zero(
    workspace: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before: exit 0 and "300 items failed"."""
    file = _items_file(tmp_path, items(5))
    code = run(_llm_run(workspace.settings.home, file, "http://127.0.0.1:9/v1", "--timeout", "2"))
    out, err = capsys.readouterr()
    assert code == 1, (out, err)
    assert "every request failed (5 items): APIConnectionError: Connection error." in err
    assert "Traceback" not in err
    with Session(workspace.engine) as db:
        job = db.exec(select(LlmJob)).one()
    assert job.status == JobStatus.stopped and job.failed == 5 and job.running_key is None


def test_secrets_never_reach_the_journal_the_records_or_the_output(
    workspace: Workspace, server: ChatServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An endpoint's 401 that quotes the Authorization header, and a base URL with a password."""
    job = execute(workspace, server, [("a", "post echo-authorization")], max_retries=0)
    assert job.status == JobStatus.stopped and "[redacted]" in job.message
    assert server.last_authorization == f"Bearer {SECRET}"  # it was sent, and quoted back
    with_password = server.base_url.replace("http://", "http://user:PASSWORD@")
    file = _items_file(tmp_path, items(3))
    os.environ["OPENAI_API_KEY"] = SECRET
    try:
        assert run(_llm_run(workspace.settings.home, file, with_password)) == 0
        assert run(["--home", str(workspace.settings.home), "llm", "jobs", "--json"]) == 0
    finally:
        del os.environ["OPENAI_API_KEY"]
    out, err = capsys.readouterr()
    listed = json.loads(out[out.index('{\n  "jobs"') :])["jobs"]
    assert server.base_url.replace("http://", "http://user:***@") in {j["base_url"] for j in listed}
    for where in (out, err):
        assert "PASSWORD" not in where and SECRET not in where
    for path in workspace.settings.home.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert b"PASSWORD" not in content and SECRET.encode() not in content, path


def test_redaction_is_checked_against_a_published_form() -> None:
    assert (
        client.redact("Invalid header: Bearer abc.def-1", "") == "Invalid header: Bearer [redacted]"
    )
    assert client.redact('{"api_key": "k-123"} and sk-proj_ABCDEFGH12', "") == (
        '{"api_key": "[redacted]"} and [redacted]'
    )
    assert client.redact("key=my-own-key!", "my-own-key") == "key=[redacted]!"
    assert (
        client.redact_url("https://u:p%40ss@h.example:8443/v1") == "https://u:***@h.example:8443/v1"
    )
    assert client.redact_url("http://localhost:11434/v1") == "http://localhost:11434/v1"


def test_a_torn_journal_line_is_asked_again_on_resume(
    workspace: Workspace, server: ChatServer
) -> None:
    """Before: the torn line's item and the next entry, glued to it, were lost from the stored
    run while the job reported finished."""
    todo = items(6)
    job = execute(workspace, server, todo[:4], key="torn")  # answers for 4 of the 6
    journal = jobs.journal_path(workspace.settings.llm_jobs, job.id or 0)
    lines = journal.read_bytes().splitlines(keepends=True)
    last = lines[-1]
    journal.write_bytes(b"".join(lines[:-1]) + last[: len(last) // 2])  # killed mid-write
    torn_item = json.loads(last)["item_id"]
    with session_scope(workspace.engine) as db:  # the job as a crash leaves it: unfinished
        row = db.get(LlmJob, job.id)
        assert row is not None
        row.status, row.label_set_id = JobStatus.stopped, None
        db.add(row)
    asked = server.calls.copy()
    again = execute(workspace, server, todo, key="torn")
    assert again.id == job.id and again.status == JobStatus.finished and again.done == 6
    text = dict(todo)
    assert server.calls[text[torn_item]] == asked[text[torn_item]] + 1  # asked again
    with Session(workspace.engine) as db:
        stored = db.get(LabelSet, again.label_set_id)
        assert stored is not None and stored.rows == 6
    assert all(json.loads(line) for line in journal.read_text().splitlines())


def test_requests_in_flight_when_killed_count_at_their_worst_case(
    workspace: Workspace, server: ChatServer
) -> None:
    """A request sent but never answered (killed in flight) may have been paid: its held worst
    case counts as spent, so the budget still caps the job across a crash."""
    todo = items(3)
    job, prompt, options = start(workspace, server, todo, key="killed")
    journal = jobs.journal_path(workspace.settings.llm_jobs, job.id or 0)
    journal.parent.mkdir(parents=True, exist_ok=True)
    journal.write_text(
        json.dumps({"item_id": "i000", "status": "sent", "held": "0.25"})
        + "\n"
        + json.dumps({"item_id": "i001", "status": "sent", "held": "0.50"})
        + "\n"
        + json.dumps(
            {
                "item_id": "i001",
                "status": "valid",
                "label": "B",
                "confidence": 0.7,
                "problem": None,
                "input_tokens": 10,
                "output_tokens": 2,
                "cost": "0.01",
                "calls": 1,
                "retries": 0,
            }
        )
        + "\n"
    )
    state = jobs.totals(jobs.read_journal(journal))
    assert state.spent == D("0.26") and state.answered == frozenset({"i001"})
    finished = jobs.run_job(
        workspace.engine,
        workspace.settings.label_store,
        workspace.settings.llm_jobs,
        job.id or 0,
        prompt,
        todo,
        options,
    )
    assert finished.status == JobStatus.finished and finished.done == 3
    assert finished.spent == D("0.26") + sum(
        (
            D(e["cost"])
            for e in map(json.loads, journal.read_text().splitlines())
            if e["status"] == "valid" and e["item_id"] != "i001"
        ),
        D(0),
    )


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_two_starts_of_one_job_run_it_once(
    request: pytest.FixtureRequest, server: ChatServer, tmp_path: Path, backend: str
) -> None:
    """Before: 60 paid requests for 30 items and two LLM runs stored."""
    url = request.getfixturevalue("postgres_url") if backend == "postgresql" else None
    settings = Settings(home=tmp_path / "ws", database_url=url)
    ws = open_workspace(settings)

    with session_scope(ws.engine) as db:
        llm_catalog(db)
    server.slow_seconds = 0.1
    todo = items(30, extra="slow")
    file = _items_file(tmp_path, todo)
    command = _llm_run(settings.home, file, server.base_url, "--concurrency", "2")
    results = procure_at_once(settings, [command] * 2, OPENAI_API_KEY=SECRET)
    assert sorted(code for code, _ in results) == [0, 2], results
    assert any("is running this already" in err for _, err in results), results
    assert sum(server.calls.values()) == 30  # each item asked once
    with Session(ws.engine) as db:
        assert len(db.exec(select(LabelSet)).all()) == 1
        assert [j.status for j in db.exec(select(LlmJob))] == [JobStatus.finished]
    ws.engine.dispose()
