"""Economics inputs measured from the workspace, the price table, and `procure economics`."""

from __future__ import annotations

import json
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlmodel import col, select

from procure.cli import run
from procure.config import Settings
from procure.db import session_scope
from procure.delivery.portfolio import build_report
from procure.economics.measured import measured_scenario
from procure.kinds import BatchStatus
from procure.quality import quality_report, select_labels
from procure.records.models import LabelSet, LlmRun, TaskType
from procure.records.pricing import accepted_units
from procure.records.workspace import open_workspace
from tests.conftest import ROOT, SAMPLE_TODAY

SCENARIO = ROOT / "sample_data" / "economics_scenario.yaml"


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def sample(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Settings:
    home = tmp_path / "ws"
    assert cli(capsys, "--home", str(home), "init", "--with-sample")[0] == 0
    return Settings(home=home)


def test_measured_inputs_come_from_the_records_and_labels(sample: Settings) -> None:
    workspace = open_workspace(sample, create=False)
    with session_scope(workspace.engine) as db:
        measured = measured_scenario(sample.label_store, "pref_pair", SAMPLE_TODAY, session=db)
        scenario = measured.scenario
        vendor: Any = scenario.strategy("Northwind Annotation")
        report = build_report(SAMPLE_TODAY, session=db)
        northwind = next(r for r in report.contracts if r.vendor.name == "Northwind Annotation")
        priced = [c for c in northwind.spend.batches if not c.pending]
        assert vendor.unit_price == sum(c.cost for c in priced) / sum(
            c.billable_units for c in priced
        )
        decided = [
            b for b in northwind.batches if BatchStatus(b.status) not in ("received", "in_review")
        ]
        accepted = sum(
            accepted_units(BatchStatus(b.status), b.quantity, b.accepted_quantity) for b in decided
        )
        assert vendor.acceptance_rate == D(accepted) / D(sum(b.quantity for b in decided))
        # accuracy: the vendor-vs-gold agreement of the quality report on the same batches
        selection = select_labels(
            "pref_pair",
            batch_ids=[b.id or 0 for b in northwind.batches],
            store=sample.label_store,
            session=db,
        )
        pair = quality_report(sample.label_store, selection, session=db).pairs["vendor_vs_gold"]
        # 120 gold items; the comparison leaves out the 12 the vendor tied, the accuracy counts
        # them as wrong labels
        assert (vendor.accuracy_n, pair.items) == (120, 108)
        assert vendor.accuracy == D(round(pair.percent_agreement * 108)) / D(120)
        # LLM tokens per item from the recorded usage, prices from the dated table
        run_row, label_set = db.exec(
            select(LlmRun, LabelSet)
            .join(LabelSet, col(LlmRun.label_set_id) == col(LabelSet.id))
            .where(LabelSet.task_type_id == selection.task_type.id)
            .order_by(col(LabelSet.id).desc())
        ).first()  # type: ignore[misc]
        llm: Any = scenario.strategy("gpt-4o-mini")
        assert llm.input_tokens_per_item == D(run_row.input_tokens or 0) / D(label_set.items)
        assert llm.price_in_per_mtok == D("0.15")
    provenance = {p.input: p for p in measured.inputs}
    assert provenance["Northwind Annotation: unit_price"].measured
    assert not provenance["hourly_rate"].measured
    assert "read on 2025-06-02" in provenance["gpt-4o-mini: price_in_per_mtok"].note
    workspace.engine.dispose()


def test_error_capture_is_measured_from_the_llm_confidence(sample: Settings) -> None:
    workspace = open_workspace(sample, create=False)
    with session_scope(workspace.engine) as db:
        scenario = measured_scenario(
            sample.label_store, "pref_pair", SAMPLE_TODAY, session=db
        ).scenario
        relabel: Any = next(
            s for s in scenario.strategies if getattr(s, "policy", "") == "relabel_uncertain"
        )
        sets = db.exec(select(LabelSet).join(TaskType).where(TaskType.key == "pref_pair")).all()
        llm_path = max((s for s in sets if s.source == "llm"), key=lambda s: s.id or 0).path
        gold_paths = [s.path for s in sets if s.source == "gold"]
    workspace.engine.dispose()
    # independently, with pandas: the newest LLM run (judged in both orders: an item's verdict
    # is its label where the two agree, no answer where they do not, its confidence the lower)
    # against the gold file
    rows = pd.read_parquet(sample.label_store / llm_path)
    assert rows.groupby("item_id").size().eq(2).all()
    llm = (
        rows.groupby("item_id")
        .agg(
            label_code=("label_code", lambda codes: codes.iloc[0] if codes.nunique() == 1 else -1),
            confidence=("confidence", "min"),
        )
        .reset_index()
    )
    gold = pd.concat(pd.read_parquet(sample.label_store / p) for p in gold_paths)
    joined = llm.merge(gold[["item_id", "label_code"]], on="item_id", suffixes=("", "_gold"))
    joined = joined.sort_values(["confidence", "item_id"])
    wrong = (joined.label_code != joined.label_code_gold).to_numpy()
    cut = int(0.2 * len(joined))
    assert relabel.error_capture == D(int(wrong[:cut].sum())) / D(int(wrong.sum()))


def test_economics_cli_with_the_sample_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "economics", "--scenario", str(SCENARIO), "--json")
    assert code == 0 and err == ""
    report = json.loads(out)
    assert report["currency"] == "USD"
    by_name = {s["name"]: s for s in report["strategies"]}
    assert set(by_name) >= {"vendor", "gpt-4o-mini"}
    for s in report["strategies"]:
        per_accepted = D(s["cost_per_accepted_label"])
        assert D(s["total_cost"]) == pytest.approx(per_accepted * report["volume"], rel=D("1e-11"))
        assert D(s["cost_per_correct_label"]) == pytest.approx(
            per_accepted / D(s["accuracy"]), rel=D("1e-11")
        )
    code, out, _ = cli(capsys, "economics", "--scenario", str(SCENARIO))
    assert code == 0 and "per correct" in out and "times less than" in out


def test_economics_cli_measured_and_saved(
    capsys: pytest.CaptureFixture[str], sample: Settings, tmp_path: Path
) -> None:
    saved = tmp_path / "measured.yaml"
    code, out, _ = cli(
        capsys,
        "--home",
        str(sample.home),
        "economics",
        "--task-type",
        "pref_pair",
        "--as-of",
        "2026-11-19",
        "--save-scenario",
        str(saved),
        "--json",
    )
    assert code == 0
    measured = json.loads(out)
    assert any(not i["measured"] for i in measured["inputs"])
    code, out, _ = cli(capsys, "economics", "--scenario", str(saved), "--json")
    again = json.loads(out)
    assert [s["all_in_cost_per_correct_label"] for s in again["strategies"]] == [
        s["all_in_cost_per_correct_label"] for s in measured["strategies"]
    ]
    code, out, _ = cli(
        capsys, "economics", "--scenario", str(saved), "--volume", "1000000", "--json"
    )
    assert json.loads(out)["volume"] == 1_000_000


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["economics"], "either --scenario FILE or --task-type KEY"),
        (["economics", "--scenario", "missing.yaml"], "missing.yaml: no such file"),
        (["economics", "--scenario", "{bad}"], "line 4"),
        (["economics", "--task-type", "nope"], "no task type 'nope'"),
        (["economics", "--task-type", "unbought"], "no committed contract"),
        (["llm-price", "set", "m", "--in", "x", "--out", "1"], "price_in_per_mtok"),
        (["llm-price", "delete", "nope"], "no price for model 'nope'"),
    ],
)
def test_economics_bad_input_exits_2(
    capsys: pytest.CaptureFixture[str],
    sample: Settings,
    tmp_path: Path,
    args: list[str],
    expected: str,
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "volume: 10\ncurrency: USD\nstrategies:\n  - {name: a, kind: human, unit_price: -1, accuracy: 0.9}\n"
    )
    args = [str(bad) if a == "{bad}" else a for a in args]
    new_type = ["task-type", "add", "unbought", "--name", "Unbought", "--unit", "item"]
    assert (
        cli(
            capsys,
            "--home",
            str(sample.home),
            *new_type,
            "--label-kind",
            "categorical",
            "--labels",
            "a,b",
        )[0]
        == 0
    )
    before = sorted(p.name for p in sample.home.rglob("*"))
    code, out, err = cli(capsys, "--home", str(sample.home), *args)
    assert code == 2 and out == ""
    assert expected in err and "Traceback" not in err
    assert sorted(p.name for p in sample.home.rglob("*")) == before


def test_price_table_from_the_cli_and_in_documents(
    capsys: pytest.CaptureFixture[str], sample: Settings, tmp_path: Path
) -> None:
    home = str(sample.home)
    code, out, _ = cli(
        capsys,
        "--home",
        home,
        "llm-price",
        "set",
        "local-llama",
        "--in",
        "0.02",
        "--out",
        "0.05",
        "--read-on",
        "2026-11-20",
        "--batch-discount",
        "0",
    )
    assert code == 0 and "read on 2026-11-20" in out
    prices = json.loads(cli(capsys, "--home", home, "llm-price", "list", "--json")[1])["prices"]
    local = next(p for p in prices if p["model"] == "local-llama")
    assert (local["price_in_per_mtok"], local["read_on"]) == ("0.02", "2026-11-20")
    # the sample's prices keep the date they were read: never shifted with the sample's dates
    assert next(p for p in prices if p["model"] == "gpt-4o")["read_on"] == "2025-06-02"
    exported = tmp_path / "ws.yaml"
    assert cli(capsys, "--home", home, "contract", "export", "--output", str(exported))[0] == 0
    assert "local-llama" in exported.read_text()
    assert cli(capsys, "--home", home, "llm-price", "delete", "local-llama")[0] == 0
    assert cli(capsys, "--home", home, "contract", "import", str(exported), "--force")[0] == 0
    prices = json.loads(cli(capsys, "--home", home, "llm-price", "list", "--json")[1])["prices"]
    assert "local-llama" in {p["model"] for p in prices}


def test_a_contract_without_batches_borrows_no_other_contracts_accuracy(
    sample: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before: a contract with a price line and no batch yet was measured on every vendor label
    of the task type (Northwind's), as if they were its own."""
    document = tmp_path / "acme.yaml"
    document.write_text(
        "version: 1\n"
        "vendors:\n  - {name: Acme Data, kind: managed_workforce}\n"
        "contracts:\n"
        "  - vendor: Acme Data\n    title: Pilot\n    start_date: 2026-11-02\n"
        "    end_date: 2026-12-13\n    currency: USD\n    committed_budget: 20000\n"
        "    status: active\n"
        "    price_lines:\n      - {task_type: pref_pair, unit_price: 2.50, quantity: 4000}\n"
    )
    home = str(sample.home)
    assert cli(capsys, "--home", home, "contract", "import", str(document))[0] == 0
    workspace = open_workspace(sample, create=False)
    with session_scope(workspace.engine) as db:
        measured = measured_scenario(sample.label_store, "pref_pair", SAMPLE_TODAY, session=db)
    workspace.engine.dispose()
    notes = {p.input: p for p in measured.inputs}
    assert not notes["Acme Data: accuracy"].measured
    assert notes["Acme Data: accuracy"].note == "no gold or reviewed items"
    assert notes["Northwind Annotation: accuracy"].measured
