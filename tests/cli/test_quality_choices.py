"""Which sources a quality figure compares, ties and reviews, from the command line on the sample
workspace (Northwind's 1,200 preference pairs by three annotators, 120 gold items, one LLM run)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.cli.test_history_cli import cli
from tests.conftest import SAMPLE_TODAY


def as_json(capsys: pytest.CaptureFixture[str], home: str, *args: str) -> Any:
    code, out, err = cli(capsys, home, *args, "--json")
    assert code == 0, err
    return json.loads(out)


def stray_run(capsys: pytest.CaptureFixture[str], home: str, tmp_path: Path) -> int:
    """An LLM run of the sample's model and prompt on items no batch holds (a job on another
    items file): the newest run, labelling none of the selected items."""
    path = tmp_path / "stray.csv"
    path.write_text("item_id,label,cost\n" + "".join(f"elsewhere-{i},A,0.001\n" for i in range(50)))
    code, _, err = cli(
        capsys,
        home,
        "labels",
        "import",
        str(path),
        "--task-type",
        "pref_pair",
        "--llm-model",
        "gpt-4o-mini",
        "--prompt-version",
        "sample-v1",
    )
    assert code == 0, err
    sets = as_json(capsys, home, "labels", "list")["label_sets"]
    return int(max(s["id"] for s in sets if s["source"] == "llm"))


def gold_items(capsys: pytest.CaptureFixture[str], home: str) -> set[str]:
    """The items of the sample's preference gold set."""
    [task_type] = [
        t
        for t in as_json(capsys, home, "task-type", "list")["task_types"]
        if t["key"] == "pref_pair"
    ]
    [gold_set] = [
        s
        for s in as_json(capsys, home, "labels", "list")["label_sets"]
        if s["source"] == "gold" and s["task_type_id"] == task_type["id"]
    ]
    return {
        item
        for (item,) in duckdb.execute(
            "SELECT item_id FROM read_parquet($p)",
            {"p": str(Path(home) / "labels" / gold_set["path"])},
        ).fetchall()
    }


def test_economics_measures_a_model_from_a_run_it_can_cost(
    capsys: pytest.CaptureFixture[str], home: str, tmp_path: Path
) -> None:
    """A newer run of the sample's model on the same gold items, with no cost and no token
    usage, is not the default (it would stop the whole comparison); chosen, it is refused by
    name."""
    path = tmp_path / "uncosted.csv"
    path.write_text(
        "item_id,label\n" + "".join(f"{item},A\n" for item in sorted(gold_items(capsys, home)))
    )
    code, _, err = cli(
        capsys, home, "labels", "import", str(path), "--task-type", "pref_pair",
        "--llm-model", "gpt-4o-mini", "--prompt-version", "sample-v1",
    )  # fmt: skip
    assert code == 0, err
    newest = max(
        s["id"]
        for s in as_json(capsys, home, "labels", "list")["label_sets"]
        if s["source"] == "llm"
    )
    args = ("economics", "--task-type", "pref_pair", "--as-of", SAMPLE_TODAY.isoformat())
    economics = as_json(capsys, home, *args)
    runs = {run["label_set_id"]: run for run in economics["llm_runs"]}
    assert runs[newest]["gold"]["items"] == 120 and not runs[newest]["costable"]
    [used] = [run for run in runs.values() if run["used"]]
    assert used["costable"] and used["label_set_id"] < newest
    notes = {i["input"]: i["note"] for i in economics["inputs"]}
    assert notes["gpt-4o-mini: accuracy"].startswith(f"its label in run {used['label_set_id']} (")
    code, out, _ = cli(capsys, home, *args)
    assert code == 0 and f"not used: LLM run {newest} (gpt-4o-mini" in out
    code, _, err = cli(capsys, home, *args, "--llm-run", str(newest))
    assert code == 2 and f"LLM run {newest} of 'gpt-4o-mini' has neither" in err


def test_a_stray_llm_run_changes_no_figure_until_it_is_chosen(
    capsys: pytest.CaptureFixture[str], home: str, tmp_path: Path
) -> None:
    commands = [
        ("quality", "--task-type", "pref_pair"),
        ("review", "queue", "--task-type", "pref_pair"),
        ("economics", "--task-type", "pref_pair", "--as-of", SAMPLE_TODAY.isoformat()),
    ]

    def figures() -> list[Any]:  # economics lists the runs it measured: the stray one too
        outputs = [as_json(capsys, home, *command) for command in commands]
        return [*outputs[:2], {k: v for k, v in outputs[2].items() if k != "llm_runs"}]

    before = figures()
    sample_run = before[0]["llm_run"]
    assert (sample_run["covered"], sample_run["selected"]) == (1200, 1200)
    stray = stray_run(capsys, home, tmp_path)
    assert stray > sample_run["label_set_id"]
    # The newest run labels none of the selected items: every figure stays as it was.
    assert figures() == before
    code, out, _ = cli(capsys, home, "quality", "--task-type", "pref_pair")
    assert code == 0 and f"compared with LLM run {sample_run['label_set_id']} (gpt-4o-mini" in out
    # Chosen, it is named with what it covers, and nothing is compared with it.
    chosen = as_json(capsys, home, "quality", "--task-type", "pref_pair", "--llm-run", str(stray))
    assert chosen["llm_run"]["label_set_id"] == stray and chosen["llm_run"]["chosen"] is True
    assert (chosen["llm_run"]["covered"], chosen["llm_run"]["items"]) == (0, 50)
    assert chosen["pairs"]["vendor_vs_llm"]["items"] == 0
    queue = as_json(
        capsys, home, "review", "queue", "--task-type", "pref_pair", "--llm-run", str(stray)
    )
    assert {item["reason"] for item in queue["items"]} == {"tie"}  # no LLM label to differ from
    # Economics measures the model from the chosen run, and says it has no gold items there.
    economics = as_json(
        capsys, home, "economics", "--task-type", "pref_pair", "--llm-run", str(stray)
    )
    notes = {i["input"]: i for i in economics["inputs"]}
    accuracy = notes[f"gpt-4o-mini (run {stray}): accuracy"]
    assert accuracy["measured"] is False and accuracy["note"] == "no gold or reviewed items"
    default = {i["input"]: i for i in before[2]["inputs"]}["gpt-4o-mini: accuracy"]
    assert default["measured"] is True and default["note"].startswith(
        f"its label in run {sample_run['label_set_id']} ("
    )
    # So is a batch that is not the task type's (batch 5 is the SFT contract's).
    for command in ("quality", "review queue"):
        code, _, err = cli(
            capsys, home, *command.split(), "--task-type", "pref_pair", "--batch", "1",
            "--batch", "5",
        )  # fmt: skip
        assert code == 2 and "no batch 5 of task type 'pref_pair'" in err
    # A run that is not the task type's is refused with the runs there are.
    code, _, err = cli(capsys, home, "quality", "--task-type", "pref_pair", "--llm-run", "9999")
    assert code == 2 and "no LLM run 9999 for task type 'pref_pair'" in err
    # Retired (with its reason, kept in the history), it can no longer be chosen.
    code, _, _ = cli(capsys, home, "labels", "retire", str(stray), "--reason", "stray", "--yes")
    assert code == 0
    code, _, err = cli(capsys, home, "quality", "--task-type", "pref_pair", "--llm-run", str(stray))
    assert code == 2 and "retired runs are not compared" in err


def test_ties_are_reported_and_follow_the_task_types_policy(
    capsys: pytest.CaptureFixture[str], home: str
) -> None:
    report = as_json(capsys, home, "quality", "--task-type", "pref_pair")
    # 160 of the 1,200 items are ties of the four annotators (2-2, 1-1-1-1 and the like; by
    # batch: 56, 44, 35, 25)
    assert [(t["batch_ref"], t["items"], t["tied"]) for t in report["ties"]] == [
        ("NW-PP-01", 300, 56),
        ("NW-PP-02", 300, 44),
        ("NW-PP-03", 300, 35),
        ("NW-PP-04", 300, 25),
    ]
    assert report["tie_policy"] == {"tie_break": []}
    # ties left out: the vendor's, and the pairs the LLM judged differently in its two orders
    assert report["pairs"]["vendor_vs_llm"]["items"] == 907
    queue = as_json(capsys, home, "review", "queue", "--task-type", "pref_pair", "--limit", "400")
    tied = [item for item in queue["items"] if item["reason"] == "tie"]
    assert tied and all(item["vendor_consensus"] is None for item in tied)
    # The cautious order settles every tie; the ties are still counted.
    code, out, _ = cli(capsys, home, "task-type", "tie-break", "pref_pair", "tie", "B", "A")
    assert code == 0 and "a tie goes to the first of tie, B, A" in out
    broken = as_json(capsys, home, "quality", "--task-type", "pref_pair")
    assert broken["pairs"]["vendor_vs_llm"]["items"] == 1200
    assert broken["ties"] == report["ties"] and broken["tie_policy"] == {
        "tie_break": ["tie", "B", "A"]
    }
    code, _, err = cli(capsys, home, "task-type", "tie-break", "pref_pair", "maybe")
    assert code == 2 and "tie-break labels not among the task type's labels: maybe" in err


def test_the_queue_leaves_out_gold_and_reviewed_items(
    capsys: pytest.CaptureFixture[str], home: str, tmp_path: Path
) -> None:
    queue = as_json(capsys, home, "review", "queue", "--task-type", "pref_pair", "--limit", "2000")
    gold = gold_items(capsys, home)
    assert len(gold) == 120
    listed = [item["item_id"] for item in queue["items"]]
    assert len(listed) == queue["total"] > 0 and not set(listed) & gold
    first, second = listed[:2]
    for reviewer, label in (("ana", "A"), ("ben", "B"), ("ana", "A")):
        code, _, err = cli(
            capsys, home, "review", "add", first, label, "--task-type", "pref_pair",
            "--reviewer", reviewer,
        )  # fmt: skip
        assert code == 0, err
    assert cli(capsys, home, "review", "add", second, "A", "--task-type", "pref_pair")[0] == 0
    after = as_json(capsys, home, "review", "queue", "--task-type", "pref_pair", "--limit", "2000")
    assert [item["item_id"] for item in after["items"]] == listed[2:]
    # Several reviewers of one item: every review kept, the newest is gold, agreement shown.
    summary = as_json(capsys, home, "review", "list", "--task-type", "pref_pair")
    assert [(r["item_id"], r["reviewer"], r["counts"]) for r in summary["reviews"]] == [
        (first, "ana", False),
        (first, "ben", False),
        (first, "ana", True),
        (second, "", True),
    ]
    # On the one item two reviewers judged, ana (newest: A) and ben (B) disagree.
    assert (summary["items_with_several_reviewers"], summary["reviewer_agreement"]) == (1, 0.0)
    # Blind, the queue hides the vendor's and the LLM's answers, also in the CSV.
    exported = tmp_path / "queue.csv"
    code, out, _ = cli(
        capsys, home, "review", "queue", "--task-type", "pref_pair", "--blind", "--csv",
        str(exported),
    )  # fmt: skip
    assert code == 0 and "vendor votes" not in out and "LLM" not in out
    blind = as_json(capsys, home, "review", "queue", "--task-type", "pref_pair", "--blind")
    assert {tuple(item) for item in blind["items"]} == {("item_id", "reason", "text")}
    counted = as_json(capsys, home, "review", "queue", "--task-type", "pref_pair", "--limit", "0")
    assert (counted["items"], counted["total"]) == ([], after["total"])
    with exported.open() as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["item", "why", "text"] and len(rows) == 50
    reviews = tmp_path / "reviews.csv"
    assert (
        cli(capsys, home, "review", "list", "--task-type", "pref_pair", "--csv", str(reviews))[0]
        == 0
    )
    with reviews.open() as handle:
        assert [r["counts as gold"] for r in csv.DictReader(handle)] == [
            "false",
            "false",
            "true",
            "true",
        ]
