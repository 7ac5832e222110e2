"""What a lead reads of LLM jobs and acts on: a stale price flagged, jobs named by the batch's
ref and the items file's name, the invalid and failed items with the raw answer, and a finished
job not paid for twice unless a repeat is asked for."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from sqlmodel import Session, select

from procure import llm
from procure.cli import run
from procure.config import Settings
from procure.db import session_scope
from procure.kinds import JobStatus
from procure.llm import client, estimates, jobs, prompts
from procure.records.llm_prices import save_price
from procure.records.models import LlmJob
from procure.records.workspace import Workspace, open_workspace
from procure.sample.loader import load_sample
from tests.conftest import SAMPLE_TODAY
from tests.llm.server import ChatServer
from tests.llm.test_jobs import execute, items, start


def _items_file(tmp_path: Path, todo: list[tuple[str, str]], name: str = "items.csv") -> Path:
    path = tmp_path / name
    pd.DataFrame(todo, columns=["item_id", "text"]).to_csv(path, index=False)
    return path


def _llm(workspace: Workspace, *args: str) -> list[str]:
    return ["--home", str(workspace.settings.home), "llm", *args]


def _run(workspace: Workspace, file: Path, server: ChatServer, *extra: str) -> list[str]:
    return _llm(
        workspace,
        "run",
        "--task-type",
        "topic",
        "--model",
        "tiny",
        "--items",
        str(file),
        "--base-url",
        server.base_url,
        "--max-retries",
        "0",
        *extra,
    )


# --- a stale price ---------------------------------------------------------------------------


def test_a_price_read_more_than_90_days_before_is_flagged(workspace: Workspace) -> None:
    """Before: a price read 18 months earlier carried no warning."""
    with session_scope(workspace.engine) as db:
        task = prompts.task_type_of("topic", session=db)
        prompt = prompts.build_prompt(
            workspace.settings.label_store,
            task,
            prompts.template(task, None, session=db),
            session=db,
        )
        price = estimates.model_price("tiny", session=db)  # read on 2026-11-01
    figures = {
        today: estimates.estimate(prompt, items(3), price, 50, today=today)
        for today in (date(2026, 11, 19), date(2027, 1, 30), date(2027, 1, 31))
    }
    assert [(f.price_age_days, f.price_stale) for f in figures.values()] == [
        (18, False),
        (90, False),
        (91, True),
    ]
    assert figures[date(2027, 1, 30)].price_warning is None
    warning = figures[date(2027, 1, 31)].price_warning
    assert warning and "read on 2026-11-01, 91 days before this estimate" in warning


def test_the_cli_notes_a_stale_price_on_stderr(
    workspace: Workspace, server: ChatServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = _items_file(tmp_path, items(3))
    estimate = ["estimate", "--task-type", "topic", "--model", "tiny", "--items", str(file)]
    assert run(_llm(workspace, *estimate, "--json")) == 0  # today is 2026-11-19: 18 days
    out, err = capsys.readouterr()
    assert json.loads(out)["price_stale"] is False and err == ""
    assert run(_llm(workspace, *estimate, "--as-of", "2027-06-01", "--json")) == 0
    out, err = capsys.readouterr()
    payload = json.loads(out)
    assert (payload["price_age_days"], payload["price_stale"]) == (212, True)
    assert "note: tiny: The price was read on 2026-11-01, 212 days before" in err
    assert run(_run(workspace, file, server, "--as-of", "2027-06-01", "--json")) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["status"] == "finished" and "212 days before" in err


# --- jobs by name ----------------------------------------------------------------------------


def test_jobs_show_the_items_files_name_not_its_digest(
    workspace: Workspace, server: ChatServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before: the jobs list showed "items" and the file's sha256."""
    file = _items_file(tmp_path, items(3), "week-3 posts.csv")
    assert run(_run(workspace, file, server)) == 0
    capsys.readouterr()
    assert run(_llm(workspace, "jobs")) == 0
    listed = capsys.readouterr().out
    with Session(workspace.engine) as db:
        job = db.exec(select(LlmJob)).one()
    assert "week-3 posts.csv" in listed and job.items_source.split()[1] not in listed
    assert run(_llm(workspace, "jobs", "--json")) == 0
    [shown] = json.loads(capsys.readouterr().out)["jobs"]
    assert (shown["items_file"], shown["items_name"], shown["batch_ref"]) == (
        "week-3 posts.csv",
        "week-3 posts.csv",
        None,
    )


@pytest.fixture
def sample_workspace(tmp_path: Path) -> Iterator[Workspace]:
    ws = open_workspace(Settings(home=tmp_path / "sample"))
    with session_scope(ws.engine) as db:
        load_sample(SAMPLE_TODAY, ws.settings.label_store, session=db)
    yield ws
    ws.engine.dispose()


def test_jobs_show_the_batchs_ref_not_its_record_id(
    sample_workspace: Workspace, server: ChatServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before: "batch 18", the batch's record id, which no contract or vendor uses."""
    ws = sample_workspace
    with session_scope(ws.engine) as db:
        task = prompts.task_type_of("pref_pair", session=db)
        batch = jobs.labelled_batches(task, session=db)[-1]
        source = estimates.job_source(ws.settings.label_store, batch_id=batch.id, session=db)
        options = client.RunOptions(model="gpt-4o-mini", base_url=server.base_url)
        job, _, _ = jobs.prepare_job(
            ws.settings.label_store, "pref_pair", source, options, session=db
        )
        [row] = llm.job_rows([job], session=db)
    assert (row.batch_ref, row.items_file, row.items_name) == (
        batch.ref,
        None,
        f"batch {batch.ref}",
    )
    assert run(["--home", str(ws.settings.home), "llm", "jobs"]) == 0
    assert f"batch {batch.ref}" in capsys.readouterr().out


# --- invalid and failed items ----------------------------------------------------------------

PROBLEM_ITEMS = [
    *items(2),
    ("never", "post label:B out-of-set"),
    ("text", "post malformed"),
    ("bad", "post always-500"),
]


def test_invalid_and_failed_items_are_listed_with_the_raw_answer(
    workspace: Workspace, server: ChatServer
) -> None:
    """Before: only their counts were shown; the answers were not kept."""
    job = execute(workspace, server, PROBLEM_ITEMS, max_retries=0)
    assert (job.done, job.invalid, job.failed) == (2, 2, 1)
    found = llm.problems(workspace.settings.llm_jobs, job.id or 0)
    assert [(p.item_id, p.status, p.answer) for p in found] == [
        ("never", "invalid", json.dumps({"label": "banana", "confidence": 0.9})),
        ("text", "invalid", "I think it is probably the first one"),
        ("bad", "failed", None),
    ]
    assert found[0].problem == "'banana' is not one of the allowed labels"
    assert found[2].problem.startswith("InternalServerError: ") and "500" in found[2].problem


def test_the_cli_lists_a_jobs_problems(
    workspace: Workspace, server: ChatServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = _items_file(tmp_path, PROBLEM_ITEMS)
    assert run(_run(workspace, file, server, "--json")) == 0
    job_id = json.loads(capsys.readouterr().out)["id"]
    assert run(_llm(workspace, "jobs", "--problems", str(job_id), "--json")) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["job"]["items_file"] == "items.csv"
    assert [(p["item_id"], p["status"]) for p in payload["problems"]] == [
        ("never", "invalid"),
        ("text", "invalid"),
        ("bad", "failed"),
    ]
    assert payload["problems"][1]["answer"] == "I think it is probably the first one"
    assert run(_llm(workspace, "jobs", "--problems", str(job_id))) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"job {job_id} (items.csv, tiny): 2 invalid, 1 failed")
    assert '{"label": "banana", "confidence": 0.9}' in out
    assert run(_llm(workspace, "jobs", "--problems", "99")) == 2
    assert "no LLM job 99" in capsys.readouterr().err


# --- a finished job is not run twice ---------------------------------------------------------


def test_a_finished_job_is_repeated_only_when_asked(
    workspace: Workspace, server: ChatServer
) -> None:
    """Before: running a finished job's settings again paid for the same labels twice."""
    todo = items(4)
    first = execute(workspace, server, todo)
    with pytest.raises(llm.DuplicateJobError, match=f"job {first.id} labelled these items already"):
        start(workspace, server, todo)
    with Session(workspace.engine) as db:
        assert len(db.exec(select(LlmJob)).all()) == 1
        same = llm.finished_duplicate(
            "topic",
            estimates.JobSource("items test", todo),
            client.RunOptions(model="tiny", base_url=server.base_url),
            session=db,
        )
        other = llm.finished_duplicate(
            "topic",
            estimates.JobSource("items other", todo),
            client.RunOptions(model="tiny", base_url=server.base_url),
            session=db,
        )
    assert same is not None and same.id == first.id and other is None
    assert all(server.calls[t] == 1 for _, t in todo)
    second = execute(workspace, server, todo, repeat=True)
    assert second.id != first.id and second.status == JobStatus.finished
    assert all(server.calls[t] == 2 for _, t in todo)


def test_a_job_stored_without_an_endpoint_counts_as_openais(workspace: Workspace) -> None:
    """Jobs stored before the provider chose the endpoint have none: they ran on OpenAI's."""
    with session_scope(workspace.engine) as db:
        save_price(
            {
                "model": "gpt-x",
                "provider": "openai",
                "price_in_per_mtok": "1",
                "price_out_per_mtok": "1",
                "read_on": date(2026, 11, 1),
            },
            session=db,
        )
        task = prompts.task_type_of("topic", session=db)
        db.add(
            LlmJob(
                task_type_id=task.id or 0,
                items_source="items old",
                model="gpt-x",
                prompt_version=prompts.DEFAULT_VERSION,
                status=JobStatus.finished,
            )
        )
    with pytest.raises(llm.DuplicateJobError), session_scope(workspace.engine) as db:
        jobs.prepare_job(
            workspace.settings.label_store,
            "topic",
            estimates.JobSource("items old", items(2)),
            client.RunOptions(model="gpt-x"),
            session=db,
        )


def test_the_cli_refuses_a_finished_job_unless_repeat(
    workspace: Workspace, server: ChatServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = _items_file(tmp_path, items(3))
    assert run(_run(workspace, file, server, "--json")) == 0
    first = json.loads(capsys.readouterr().out)["id"]
    assert run(_run(workspace, file, server)) == 2
    out, err = capsys.readouterr()
    assert out == "" and f"job {first} labelled these items already" in err and "--repeat" in err
    assert run(_run(workspace, file, server, "--repeat", "--json")) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["id"] != first and second["status"] == "finished"
    assert sum(server.calls.values()) == 6
