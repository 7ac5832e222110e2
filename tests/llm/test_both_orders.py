"""An LLM judge run on preference pairs in both orders, against the local Chat Completions
server: each pair asked twice with the responses swapped, the swapped answer mapped back, one
annotator per order in the stored run, and the swap consistency it gives."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest
from sqlmodel import select

from procure.cli import run
from procure.db import session_scope
from procure.quality.preferences import file_preferences
from procure.records.catalog import save_task_type
from procure.records.models import LabelSet
from procure.records.workspace import Workspace
from tests.llm.server import ChatServer

# The server answers the first "label:X" it reads: a response carrying its own label is picked
# in either order (consistent); a prompt carrying one is answered so whatever the order
# (position-blind text, so the swapped answer maps to the other response: inconsistent).
PAIRS = [
    ("p1", "Which is kinder?", "label:A yes", "label:B no"),  # A first, then B first: A both times
    ("p2", "label:A Which is shorter?", "one", "two words"),  # "A" twice: A, then B
    ("p3", "label:tie Same?", "x", "y"),  # a tie both times
]


@pytest.fixture
def pairs_file(workspace: Workspace, tmp_path: Path) -> Path:
    with session_scope(workspace.engine) as db:
        save_task_type(
            {
                "key": "pref",
                "name": "Preference pair",
                "unit": "pair",
                "label_kind": "preference",
                "labels": ["A", "B", "tie"],
            },
            session=db,
        )
    path = tmp_path / "pairs.csv"
    pd.DataFrame(PAIRS, columns=["item_id", "text", "response_a", "response_b"]).to_csv(
        path, index=False
    )
    return path


def _llm(workspace: Workspace, *args: str) -> list[str]:
    return ["--home", str(workspace.settings.home), "llm", *args]


def test_a_judge_runs_in_both_orders_and_its_swaps_are_measured(
    workspace: Workspace,
    server: ChatServer,
    pairs_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    common = ["--task-type", "pref", "--model", "tiny", "--items", str(pairs_file)]
    assert run(_llm(workspace, "estimate", *common, "--both-orders", "--json")) == 0
    assert '"items": 6' in capsys.readouterr().out  # each pair twice
    assert run(_llm(workspace, "run", *common, "--both-orders", "--base-url", server.base_url)) == 0
    asked = [body["messages"][-1]["content"] for body in server.requests]
    assert len(asked) == 6
    assert "Which is kinder?\n\nResponse A:\nlabel:A yes\n\nResponse B:\nlabel:B no" in asked
    assert "Which is kinder?\n\nResponse A:\nlabel:B no\n\nResponse B:\nlabel:A yes" in asked
    with session_scope(workspace.engine) as db:
        stored = db.exec(select(LabelSet)).one()
        path = workspace.settings.label_store / stored.path
    with duckdb.connect() as con:
        rows = con.execute(
            "SELECT item_id, annotator_id, label, shown_first FROM read_parquet($p) ORDER BY ALL",
            {"p": str(path)},
        ).fetchall()
    assert rows == [
        ("p1", "tiny (A shown first)", "A", "A"),
        ("p1", "tiny (B shown first)", "A", "B"),  # it said B (the first shown): response A
        ("p2", "tiny (A shown first)", "A", "A"),
        ("p2", "tiny (B shown first)", "B", "B"),  # it said A again: now response B
        ("p3", "tiny (A shown first)", "tie", "A"),
        ("p3", "tiny (B shown first)", "tie", "B"),
    ]
    humans = tmp_path / "humans.csv"
    humans.write_text("item_id,annotator_id,label\np1,a,A\np2,a,B\np3,a,tie\n")
    judge = file_preferences(humans, path).judge
    assert judge is not None
    assert (judge.swap_tested, judge.swap_consistency) == (3, 2 / 3)  # p2 did not survive
    assert judge.position_bias is not None and judge.position_bias.first_chosen == 3 / 4


def test_only_preference_pairs_with_both_responses_are_judged_in_both_orders(
    workspace: Workspace, pairs_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = tmp_path / "plain.csv"
    plain.write_text("item_id,text\n1,hello\n")
    refused = [
        (["--task-type", "topic", "--items", str(pairs_file)], "only preference pairs"),
        (["--task-type", "pref", "--items", str(plain)], "has no response_a, response_b column"),
    ]
    for args, message in refused:
        assert run(_llm(workspace, "estimate", "--model", "tiny", *args, "--both-orders")) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1
