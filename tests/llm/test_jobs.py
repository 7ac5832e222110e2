"""LLM labelling through the real `openai` client against a local Chat Completions server."""

from __future__ import annotations

import json
import threading
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlmodel import Session, select

from procure.cli import run
from procure.db import session_scope
from procure.errors import InputError
from procure.kinds import JobStatus
from procure.llm import client, estimates, jobs, prompts
from procure.quality import quality_report, select_labels
from procure.records.models import LabelSet, LlmJob, LlmRun
from procure.records.workspace import Workspace
from tests.llm.conftest import PRICE_IN, PRICE_OUT
from tests.llm.server import ChatServer


def items(n: int, extra: str = "") -> list[tuple[str, str]]:
    return [(f"i{k:03d}", f"post {k} label:{'ABC'[k % 3]} {extra}".strip()) for k in range(n)]


def start(
    ws: Workspace,
    server: ChatServer,
    todo: list[tuple[str, str]],
    key: str = "items test",
    **options: Any,
) -> tuple[LlmJob, prompts.Prompt, client.RunOptions]:
    defaults: dict[str, Any] = {
        "model": "tiny",
        "base_url": server.base_url,
        "api_key": "sk-test-secret-123",
        "backoff": 0.01,
    }
    version = options.pop("prompt_version", None)
    run_options = client.RunOptions(**(defaults | options))
    with session_scope(ws.engine) as db:
        job, prompt, _ = jobs.prepare_job(
            ws.settings.label_store,
            "topic",
            estimates.JobSource(key, todo),
            run_options,
            version,
            session=db,
        )
    return job, prompt, run_options


def execute(
    ws: Workspace, server: ChatServer, todo: list[tuple[str, str]], **options: Any
) -> LlmJob:
    stop = options.pop("stop", None)
    progress = options.pop("progress", None)
    job, prompt, run_options = start(ws, server, todo, **options)
    return jobs.run_job(
        ws.engine,
        ws.settings.label_store,
        ws.settings.llm_jobs,
        job.id or 0,
        prompt,
        todo,
        run_options,
        stop=stop,
        progress=progress,
    )


def expected_cost(usages: list[tuple[int, int]]) -> D:
    return sum(((i * PRICE_IN + o * PRICE_OUT) / 1_000_000 for i, o in usages), D(0))


def stored_labels(ws: Workspace, label_set_id: int) -> dict[str, str]:
    with Session(ws.engine) as db:
        label_set = db.get(LabelSet, label_set_id)
        assert label_set is not None
        frame = pd.read_parquet(ws.settings.label_store / label_set.path)
    return dict(zip(frame.item_id, frame.label_code.map(lambda c: "ABC"[c]), strict=True))


def test_happy_path_with_exact_token_and_cost_accounting(
    workspace: Workspace, server: ChatServer
) -> None:
    todo = items(30)
    job = execute(workspace, server, todo, concurrency=3)
    assert job.status == JobStatus.finished
    assert (job.done, job.invalid, job.failed, job.retries) == (30, 0, 0, 0)
    assert job.input_tokens == sum(i for i, _ in server.usages)
    assert job.output_tokens == sum(o for _, o in server.usages)
    assert job.spent == expected_cost(server.usages)
    assert job.label_set_id is not None
    assert stored_labels(workspace, job.label_set_id) == {i: t.split("label:")[1] for i, t in todo}
    with Session(workspace.engine) as db:
        run_row = db.exec(select(LlmRun).where(LlmRun.label_set_id == job.label_set_id)).one()
    assert (run_row.model, run_row.prompt_version) == ("tiny", prompts.DEFAULT_VERSION)
    assert (run_row.input_tokens, run_row.cost) == (job.input_tokens, job.spent)
    # bounded concurrency, structured output with the label set, the key sent and never stored
    assert 1 <= server.most_in_flight <= 3
    schema = server.requests[0]["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["label"]["enum"] == ["A", "B", "C"]
    assert server.authorization == {"Bearer sk-test-secret-123"}
    for path in workspace.settings.home.rglob("*"):
        if path.is_file():
            assert b"sk-test-secret-123" not in path.read_bytes(), path


def test_estimate_then_actual(workspace: Workspace, server: ChatServer) -> None:
    todo = items(10)
    with session_scope(workspace.engine) as db:
        task = prompts.task_type_of("topic", session=db)
        prompt = prompts.build_prompt(
            workspace.settings.label_store,
            task,
            prompts.template(task, None, session=db),
            session=db,
        )
        figures = estimates.estimate(prompt, todo, estimates.model_price("tiny", session=db), 50)
    messages = [prompt.messages(text) for _, text in todo]
    assert figures.input_tokens == sum(
        -(-len(m["content"]) // 4) + prompts.MESSAGE_OVERHEAD for ms in messages for m in ms
    )
    job = execute(workspace, server, todo)
    assert job.estimated_cost == figures.cost
    # the 4-characters rule is close on this prompt; the worst case bounds the actual cost
    assert abs(job.input_tokens - figures.input_tokens) / job.input_tokens < 0.05
    assert job.spent <= figures.worst_case


def test_rate_limits_and_server_errors_are_retried(
    workspace: Workspace, server: ChatServer
) -> None:
    todo = [
        *items(6),
        ("r1", "post label:B rate-limit-once"),
        ("s1", "post label:C server-error-once"),
    ]
    job = execute(workspace, server, todo)
    assert job.status == JobStatus.finished and job.retries == 2 and job.done == 8
    assert server.calls["post label:B rate-limit-once"] == 2
    assert server.calls["post label:C server-error-once"] == 2
    assert job.spent == expected_cost(server.usages)  # failed calls cost nothing


def test_persistent_errors_fail_the_item_and_resume_retries_it(
    workspace: Workspace, server: ChatServer
) -> None:
    todo = [*items(4), ("bad", "post always-500")]
    job = execute(workspace, server, todo, max_retries=2)
    assert job.status == JobStatus.stopped and job.failed == 1 and job.done == 4
    assert "1 items failed" in job.message
    assert server.calls["post always-500"] == 3
    again = execute(workspace, server, todo, max_retries=0)
    assert again.id == job.id  # resumed, not a new job
    assert server.calls["post always-500"] == 4  # only the failed item was asked again
    assert all(server.calls[t] == 1 for _, t in items(4))


def test_timeouts_count_as_failures(workspace: Workspace, server: ChatServer) -> None:
    server.slow_seconds = 1.0
    job = execute(workspace, server, [("slow", "post slow label:A")], max_retries=0, timeout=0.2)
    assert job.status == JobStatus.stopped and job.failed == 1


def test_out_of_set_answers_are_asked_once_more_then_invalid(
    workspace: Workspace, server: ChatServer
) -> None:
    todo = [
        *items(3),
        ("once", "post label:B out-of-set-once"),
        ("never", "post label:B out-of-set"),
        ("text", "post malformed"),
    ]
    job = execute(workspace, server, todo)
    assert job.status == JobStatus.finished
    assert (job.done, job.invalid) == (4, 2)
    assert server.calls["post label:B out-of-set"] == 2 and server.calls["post malformed"] == 2
    assert job.label_set_id is not None
    labels = stored_labels(workspace, job.label_set_id)
    assert labels["once"] == "B" and "never" not in labels and "text" not in labels
    assert job.spent == expected_cost(server.usages)  # the invalid answers were paid for
    journal = jobs.read_journal(jobs.journal_path(workspace.settings.llm_jobs, job.id or 0))
    assert journal["never"][-1]["problem"] == "'banana' is not one of the allowed labels"


def test_budget_stops_before_it_is_exceeded_and_resume_finishes(
    workspace: Workspace, server: ChatServer
) -> None:
    todo = items(40)
    budget = D("0.0006")  # about 4 items held back at their worst case
    job = execute(workspace, server, todo, budget=budget, concurrency=2)
    assert job.status == JobStatus.stopped and "budget" in job.message
    assert 0 < job.done < 40
    assert job.spent <= budget
    first = job.done
    job = execute(workspace, server, todo, budget=D("1"))
    assert job.status == JobStatus.finished and job.done == 40
    assert all(server.calls[t] == 1 for _, t in todo)  # nothing labelled twice
    assert len(server.usages) == 40 and first < 40


def test_cancellation_stops_and_resume_skips_what_is_done(
    workspace: Workspace, server: ChatServer
) -> None:
    server.slow_seconds = 0.1  # progress is saved every half second: let the run last longer
    todo = items(30, "slow")
    stop = threading.Event()
    job = execute(
        workspace, server, todo, concurrency=2, stop=stop, progress=lambda row: stop.set()
    )
    assert job.status == JobStatus.stopped and job.message == "stopped"
    assert job.done < 30
    job = execute(workspace, server, todo)
    assert job.status == JobStatus.finished and job.done == 30
    assert all(server.calls[t] == 1 for _, t in todo)


def test_the_stop_flag_in_the_records_stops_a_running_job(
    workspace: Workspace, server: ChatServer
) -> None:
    server.slow_seconds = 0.1
    todo = items(30, "slow")

    def ask_to_stop(row: LlmJob) -> None:
        with session_scope(workspace.engine) as db:
            jobs.request_stop(row.id or 0, session=db)

    job = execute(workspace, server, todo, concurrency=1, progress=ask_to_stop)
    assert job.status == JobStatus.stopped and job.done < 30


def test_repeated_runs_give_test_retest_consistency(
    workspace: Workspace, server: ChatServer
) -> None:
    todo = items(12)
    first = execute(workspace, server, todo)
    second = execute(workspace, server, todo, repeat=True)  # a new run of the finished one
    assert first.id != second.id and second.status == JobStatus.finished
    with Session(workspace.engine) as db:
        selection = select_labels("topic", store=workspace.settings.label_store, session=db)
        report = quality_report(workspace.settings.label_store, selection, session=db)
    retest = report.llm_test_retest
    assert retest and retest[0].percent_agreement == 1.0 and retest[0].items == 12


def test_prompt_versions_and_few_shot_from_gold(
    workspace: Workspace, server: ChatServer, tmp_path: Path
) -> None:
    gold = tmp_path / "gold.csv"
    pd.DataFrame(
        {"item_id": ["g1", "g2"], "label": ["A", "C"], "text": ["gold one", "gold two"]}
    ).to_csv(gold, index=False)
    from procure.labels.store import import_labels

    with session_scope(workspace.engine) as db:
        import_labels(
            workspace.settings.label_store, gold, source="gold", task_type_key="topic", session=db
        )
        prompts.save_template("topic", "v2", "Classify the post's topic.", few_shot=2, session=db)
        with pytest.raises(InputError, match="exists already"):
            prompts.save_template("topic", "v2", "Another text.", session=db)
    job = execute(workspace, server, items(2), prompt_version="v2")
    messages = server.requests[0]["messages"]
    assert messages[0]["content"].startswith("Classify the post's topic.")
    assert [m["content"] for m in messages[1:5:2]] == ["gold one", "gold two"]
    assert json.loads(messages[2]["content"])["label"] == "A"
    assert job.prompt_version == "v2"


@pytest.mark.parametrize(
    ("content", "label", "problem"),
    [
        ('{"label": "A", "confidence": 0.9}', "A", None),
        ("  B \n", "B", None),
        ('{"label": "a"}', None, "'a' is not one of the allowed labels"),
        ('{"answer": "A"}', None, "the answer has no label"),
        ("[1, 2]", None, "the answer has no label"),
        (None, None, "'' is not one of the allowed labels"),
    ],
)
def test_answers_are_parsed_strictly(
    content: str | None, label: str | None, problem: str | None
) -> None:
    answer = prompts.parse_answer(content, ("A", "B", "C"))
    assert (answer.label, answer.problem) == (label, problem)


def test_the_cli_labels_an_items_file(
    capsys: pytest.CaptureFixture[str], workspace: Workspace, server: ChatServer, tmp_path: Path
) -> None:
    file = tmp_path / "items.csv"
    pd.DataFrame(items(8), columns=["item_id", "text"]).to_csv(file, index=False)
    home = str(workspace.settings.home)
    base = ["--home", home, "llm"]
    assert (
        run(
            [
                *base,
                "estimate",
                "--task-type",
                "topic",
                "--model",
                "tiny",
                "--items",
                str(file),
                "--json",
            ]
        )
        == 0
    )
    estimate = json.loads(capsys.readouterr().out)
    assert estimate["items"] == 8 and D(estimate["estimated_cost"]) > 0
    code = run(
        [
            *base,
            "run",
            "--task-type",
            "topic",
            "--model",
            "tiny",
            "--items",
            str(file),
            "--base-url",
            server.base_url,
            "--json",
        ]
    )
    out, _ = capsys.readouterr()
    assert code == 0
    job = json.loads(out)
    assert job["status"] == "finished" and job["done"] == 8
    assert D(job["spent"]) == expected_cost(server.usages)
    assert D(job["estimate_difference"]) == D(job["spent"]) - D(job["estimated_cost"])
    assert run([*base, "jobs", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["jobs"][0]["id"] == job["id"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["run", "--task-type", "topic", "--model", "tiny", "--items", "{items}"],
            "the price table gives model 'tiny' no provider",
        ),
        (
            [
                "run",
                "--task-type",
                "topic",
                "--model",
                "nope",
                "--items",
                "{items}",
                "--base-url",
                "http://x",
            ],
            "no price for model 'nope'",
        ),
        (
            ["estimate", "--task-type", "topic", "--model", "tiny", "--items", "{missing}"],
            "no such file",
        ),
        (
            ["estimate", "--task-type", "topic", "--model", "tiny", "--items", "{textless}"],
            "missing column 'text'",
        ),
        (
            ["estimate", "--task-type", "topic", "--model", "tiny"],
            "either a batch or an items file",
        ),
        (
            [
                "run",
                "--task-type",
                "topic",
                "--model",
                "tiny",
                "--items",
                "{items}",
                "--base-url",
                "http://x",
                "--budget",
                "-1",
            ],
            "budget above 0",
        ),
        (["prompt", "add", "--task-type", "topic", "--version", "v1"], "--instructions"),
    ],
)
def test_llm_cli_bad_input_exits_2(
    capsys: pytest.CaptureFixture[str],
    workspace: Workspace,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    expected: str,
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    good, textless = tmp_path / "items.csv", tmp_path / "textless.csv"
    pd.DataFrame(items(2), columns=["item_id", "text"]).to_csv(good, index=False)
    textless.write_text("item_id,label\n1,A\n")
    paths = {
        "{items}": str(good),
        "{missing}": str(tmp_path / "none.csv"),
        "{textless}": str(textless),
    }
    with Session(workspace.engine) as db:
        jobs_before = len(db.exec(select(LlmJob)).all())
    code = run(["--home", str(workspace.settings.home), "llm", *[paths.get(a, a) for a in args]])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert expected in err and "Traceback" not in err
    with Session(workspace.engine) as db:
        assert len(db.exec(select(LlmJob)).all()) == jobs_before
