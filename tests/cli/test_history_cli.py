"""Amendments, decisions, corrections, invoices and retired label sets from the command line, on
the sample workspace (Northwind: pairs at 3.50, 3.20 from pair 20,001; 10% off week 1)."""

from __future__ import annotations

import io
import json
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from procure.cli import run


def cli(capsys: pytest.CaptureFixture[str], home: str, *args: str) -> tuple[int, str, str]:
    code = run(["--home", home, *args])
    out, err = capsys.readouterr()
    return code, out, err


def batches(capsys: pytest.CaptureFixture[str], home: str) -> dict[str, dict[str, Any]]:
    code, out, _ = cli(capsys, home, "batch", "list", "-c", "1", "--json")
    assert code == 0
    return {b["ref"]: b for b in json.loads(out)["batches"]}


def test_amend_from_a_date(capsys: pytest.CaptureFixture[str], home: str, tmp_path: Path) -> None:
    document = tmp_path / "northwind.yaml"
    assert cli(capsys, home, "contract", "export", "-c", "1", "-o", str(document))[0] == 0
    text = document.read_text()
    assert "unit_price: 3.50" in text
    document.write_text(text.replace("unit_price: 3.50", "unit_price: 4.00"))
    code, _, err = cli(capsys, home, "contract", "import", str(document))
    assert code == 2 and "through an amendment" in err and "procure contract amend 1" in err
    code, _, err = cli(
        capsys, home, "contract", "amend", "1", str(document), "--effective", "2026-11-10",
        "--reason", "",
    )  # fmt: skip
    assert code == 2 and "needs a reason" in err
    code, out, _ = cli(
        capsys, home, "contract", "amend", "1", str(document), "--effective", "2026-11-10",
        "--reason", "market rate",
    )  # fmt: skip
    assert code == 0 and "amended from 2026-11-10" in out
    found = batches(capsys, home)
    # Accepted weeks 1-3 keep their frozen cost; week 4 (delivered 2026-11-14, in review) is now
    # priced at 4.00: 5,000 x 4.00.
    assert [D(found[ref]["cost"]) for ref in ("NW-PP-01", "NW-PP-02", "NW-PP-03")] == [
        D("15750"),  # 5,000 x 3.50 x 0.9
        D("17500"),
        D("17500"),
    ]
    assert D(found["NW-PP-04"]["cost"]) == D("20000") and not found["NW-PP-04"]["frozen"]
    code, out, _ = cli(capsys, home, "contract", "history", "1", "--json")
    versions = json.loads(out)["versions"]
    assert [(v["number"], v["effective_from"], v["reason"]) for v in versions][1] == (
        2,
        "2026-11-10",
        "market rate",
    )
    assert versions[1]["changes"] == [
        "price line pref_pair: 3.50 per unit, from unit 20,001 3.20; 30,000 units -> "
        "4.00 per unit, from unit 20,001 3.20; 30,000 units"
    ]
    code, out, _ = cli(capsys, home, "contract", "history", "1")
    assert "version 2, effective from 2026-11-10" in out and "- price line pref_pair" in out


def test_decide_edit_void_and_history(
    capsys: pytest.CaptureFixture[str], home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    week4 = str(batches(capsys, home)["NW-PP-04"]["id"])
    assert (
        cli(capsys, home, "batch", "status", week4, "rejected", "--note", "too many ties")[0] == 0
    )
    code, _, err = cli(capsys, home, "batch", "status", week4, "accepted")
    assert code == 2 and "re-deciding it needs a reason" in err
    code, out, _ = cli(
        capsys, home, "batch", "status", week4, "partially_accepted", "--accepted-quantity",
        "4000", "--reason", "1,000 ties relabelled",
    )  # fmt: skip
    assert code == 0 and "14,000.00 USD" in out  # 4,000 x 3.50
    code, _, err = cli(capsys, home, "batch", "edit", week4, "--quantity", "4500", "--reason", "x")
    assert code == 2 and "reopen it for review first" in err
    code, _, _ = cli(capsys, home, "batch", "edit", week4, "--notes", "see email", "--reason", "x")
    assert code == 0
    code, out, _ = cli(capsys, home, "batch", "history", week4, "--json")
    events = json.loads(out)["events"]
    assert [e["kind"] for e in events] == [
        "recorded",
        "in review",
        "decided",
        "re-decided",
        "edited",
    ]
    decided = events[2]
    assert decided["note"] == "too many ties" and decided["evidence"]["batch_id"] == int(week4)
    assert decided["evidence"]["rule"]["max_error_rate"] == 0.05  # what the decider was shown
    code, out, _ = cli(capsys, home, "batch", "history", week4)
    assert code == 0 and "re-decided" in out and "1,000 ties relabelled" in out
    # Voiding asks to confirm; with no answer nothing happens.
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    code, _, err = cli(capsys, home, "batch", "void", week4, "--reason", "duplicate")
    assert code == 2 and "not confirmed" in err and "NW-PP-04" in batches(capsys, home)
    assert cli(capsys, home, "batch", "void", week4, "--reason", "duplicate", "--yes")[0] == 0
    assert "NW-PP-04" not in batches(capsys, home)
    code, out, _ = cli(capsys, home, "spend", "-c", "1", "--json")
    [contract] = json.loads(out)["contracts"]
    assert D(contract["spent"]) == D("50750") and D(contract["pending"]) == 0


def test_invoices(capsys: pytest.CaptureFixture[str], home: str) -> None:
    code, out, _ = cli(
        capsys, home, "invoice", "add", "1", "--number", "NW-001", "--units", "10000",
        "--amount", "33250", "-b", "NW-PP-01", "-b", "NW-PP-02", "--issued-on", "2026-11-02",
    )  # fmt: skip
    assert code == 0 and "matched" in out
    code, out, _ = cli(
        capsys, home, "invoice", "add", "1", "--number", "NW-002", "--units", "10000",
        "--amount", "36000", "--from", "2026-11-03", "--to", "2026-11-15",
    )  # fmt: skip
    assert code == 0 and "awaiting decision" in out  # week 4 is still in review
    code, _, err = cli(
        capsys, home, "invoice", "add", "1", "--number", "NW-002", "--units", "1", "--amount",
        "1", "-b", "NW-PP-03",
    )  # fmt: skip
    assert code == 2 and "already recorded" in err
    week4 = str(batches(capsys, home)["NW-PP-04"]["id"])
    assert cli(capsys, home, "batch", "status", week4, "accepted")[0] == 0
    code, out, _ = cli(capsys, home, "invoice", "list", "--json")
    rows = {i["number"]: i for i in json.loads(out)["invoices"]}
    # NW-002 bills weeks 3 and 4: 17,500 + 17,500 = 35,000 accepted; 36,000 billed.
    assert (rows["NW-002"]["state"], D(rows["NW-002"]["credit_due"])) == ("over-billed", D(1000))
    assert rows["NW-002"]["batches"] == ["NW-PP-03", "NW-PP-04"]
    code, out, _ = cli(capsys, home, "invoice", "reconcile", str(rows["NW-002"]["id"]))
    assert code == 0 and "over-billed by 1,000.00" in out and "credit due 1,000.00 USD" in out
    code, out, _ = cli(capsys, home, "spend", "-c", "1", "--json")
    [contract] = json.loads(out)["contracts"]
    assert (D(contract["invoiced"]), D(contract["accrued"]), D(contract["credit_due"])) == (
        D("69250"),
        D("0"),
        D("1000"),
    )
    assert (
        cli(capsys, home, "invoice", "paid", str(rows["NW-001"]["id"]), "--on", "2026-11-10")[0]
        == 0
    )
    code, _, _ = cli(
        capsys, home, "invoice", "void", str(rows["NW-002"]["id"]), "--reason", "reissued", "--yes"
    )
    assert code == 0
    code, out, _ = cli(capsys, home, "invoice", "list")
    assert "NW-002" not in out and "2026-11-10" in out


def test_retire_a_label_set(capsys: pytest.CaptureFixture[str], home: str) -> None:
    code, out, _ = cli(capsys, home, "labels", "list", "--json")
    first = json.loads(out)["label_sets"][0]
    code, _, _ = cli(
        capsys, home, "labels", "retire", str(first["id"]), "--reason", "wrong batch", "--yes"
    )
    assert code == 0
    code, out, _ = cli(capsys, home, "labels", "list", "--json")
    assert first["id"] not in [s["id"] for s in json.loads(out)["label_sets"]]
    code, out, _ = cli(capsys, home, "labels", "list", "--retired")
    assert "retired: wrong batch" in out


def test_a_contract_with_batches_is_closed_not_deleted(
    capsys: pytest.CaptureFixture[str], home: str
) -> None:
    code, _, err = cli(capsys, home, "contract", "delete", "1", "--yes")
    assert code == 2 and "close it instead" in err and "procure batch void" in err
    code, out, _ = cli(capsys, home, "contract", "delete", "5", "--yes")  # the draft, no batches
    assert code == 0 and "deleted" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["invoice", "add", "1", "--number", "X", "--units", "1", "--amount", "1e-30",
          "-b", "NW-PP-01"], "at most 10 decimal places"),
        (["invoice", "add", "1", "--number", "X", "--units", "99999999999999999999",
          "--amount", "1", "-b", "NW-PP-01"], "less than or equal to 1000000000000"),
        (["invoice", "add", "1", "--number", "X", "--units", "1", "--amount", "1",
          "-b", "NW-PP-01", "--from", "2026-11-01", "--to", "2026-11-15"], "not both"),
        (["invoice", "add", "1", "--number", "X", "--units", "1", "--amount", "1",
          "-b", "NW-PP-01", "-b", "NW-PP-01"], "named twice"),
        (["invoice", "add", "1", "--number", "X", "--units", "1", "--amount", "1",
          "-b", "NW-PP-01", "--issued-on", "2026-11-10", "--paid-on", "2026-11-01"],
         "paid on 2026-11-01; expected a day from the invoice's date"),
        (["invoice", "add", "1", "--number", "X", "--units", "1", "--amount", "1",
          "-b", "NW-PP-01", "--issued-on", "2001-01-01"], "expected a day from the contract's"),
        (["batch", "edit", "1", "--reason", "x", "--week", "0"], "greater than or equal to 1"),
        (["batch", "edit", "4", "--reason", "x", "--quantity", "0"], "greater than 0"),
        (["batch", "edit", "4", "--reason", "x", "--ref", "  "], "at least 1 character"),
        (["invoice", "reconcile", "999"], "no invoice with id 999"),
        (["review", "queue", "--task-type", "pref_pair", "--limit", "-1"], "not in the range"),
    ],
)  # fmt: skip
def test_bad_records_input_gets_one_message(
    capsys: pytest.CaptureFixture[str], home: str, args: list[str], message: str
) -> None:
    before = (
        cli(capsys, home, "spend", "--json")[1],
        cli(capsys, home, "batch", "list", "--json")[1],
    )
    code, out, err = cli(capsys, home, *args)
    assert (code, out) == (2, "") and message in err and "Traceback" not in err
    after = cli(capsys, home, "spend", "--json")[1], cli(capsys, home, "batch", "list", "--json")[1]
    assert after == before


def test_invoice_numbers_and_payments(capsys: pytest.CaptureFixture[str], home: str) -> None:
    add = ["invoice", "add", "1", "--units", "5000", "--amount", "15750", "-b", "NW-PP-01"]
    assert cli(capsys, home, *add, "--number", "NW-7")[0] == 0
    code, _, err = cli(capsys, home, *add[:-2], "-b", "NW-PP-02", "--number", "nw-7")
    assert code == 2 and "already recorded" in err  # numbers compare case-insensitively
    assert cli(capsys, home, "invoice", "paid", "1", "--on", "2026-11-19")[0] == 0
    code, _, err = cli(capsys, home, "invoice", "paid", "1", "--on", "2026-11-19")
    assert code == 2 and "already paid on 2026-11-19" in err
    assert cli(capsys, home, "invoice", "void", "1", "--reason", "typo", "--yes")[0] == 0
    code, _, err = cli(capsys, home, "invoice", "reconcile", "1")
    assert code == 2 and "was voided (typo)" in err
    assert cli(capsys, home, *add, "--number", "NW-7")[0] == 0  # a voided number is free again


def test_amend_changes_terms_only(
    capsys: pytest.CaptureFixture[str], home: str, tmp_path: Path
) -> None:
    document = tmp_path / "northwind.yaml"
    assert cli(capsys, home, "contract", "export", "-c", "1", "-o", str(document))[0] == 0
    text = document.read_text().replace("status: active", "status: terminated")
    document.write_text(text.replace("committed_budget: 105000", "committed_budget: 107000"))
    code, _, err = cli(
        capsys, home, "contract", "amend", "1", str(document), "--effective", "2026-11-16",
        "--reason", "x",
    )  # fmt: skip
    assert code == 2 and "status differs" in err
