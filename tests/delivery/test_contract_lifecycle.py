"""A six-week contract run as a lead runs one: an amendment halfway, invoices that match and one
that over-bills, a rejected batch that is re-decided, and corrections after acceptance. Every
figure is computed by hand below, on SQLite and PostgreSQL, through the domain and the CLI."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session

from procure.cli import run
from procure.config import Settings
from procure.db import session_scope
from procure.delivery import build_report, invoices_payload, spend_payload
from procure.errors import InputError
from procure.kinds import LabelSource
from procure.labels import retire_label_set
from procure.records import (
    Amendment,
    BatchEdit,
    add_invoice,
    amendment_timeline,
    batch_history,
    contract_spec,
    decide_batch,
    edit_batch,
    export_document,
    get_batch,
    get_contract,
    import_document,
    record_batch,
    save_contract,
    save_task_type,
    save_vendor,
    void_batch,
    void_invoice,
)
from procure.records.models import LabelSet
from procure.records.workspace import Workspace, open_workspace

AS_OF = date(2026, 11, 15)  # the contract's last day: still running
START, END = date(2026, 10, 5), date(2026, 11, 15)  # six weeks from a Monday
PRICE_RISE = date(2026, 10, 26)  # week 4 starts: the amendment's effective date

CONTRACT: dict[str, Any] = {
    "vendor": "Acme",
    "title": "Six weeks of pairs",
    "start_date": START,
    "end_date": END,
    "currency": "USD",
    "committed_budget": "30000",
    "status": "active",
    "discounts": [{"kind": "first_batch", "percent": "10"}],
    "price_lines": [
        {
            "task_type": "pref_pair",
            "unit_price": "2.00",
            "quantity": 6000,
            "tiers": [{"from_unit": 2501, "unit_price": "1.50"}],
        }
    ],
    "schedule": [{"week": w, "task_type": "pref_pair", "quantity": 1000} for w in range(1, 7)],
}
# The amendment: 2.50 a pair, 2.00 from pair 2,501 on, for units delivered from week 4.
AMENDED = {
    **CONTRACT,
    "price_lines": [
        {
            "task_type": "pref_pair",
            "unit_price": "2.50",
            "quantity": 6000,
            "tiers": [{"from_unit": 2501, "unit_price": "2.00"}],
        }
    ],
}
DELIVERIES = [  # (ref, week, delivered on)
    ("A", 1, date(2026, 10, 10)),
    ("B", 2, date(2026, 10, 17)),
    ("C", 3, date(2026, 10, 24)),
    ("D", 4, date(2026, 10, 31)),
    ("E", 5, date(2026, 11, 7)),
    ("F", 6, date(2026, 11, 14)),
]

# By hand. Tier positions are taken by decisions, in the order they are made, after every
# position already frozen on the line; undecided batches follow, in delivery order.
# A accepted:  units 1-1,000 at 2.00, first batch -10%                      = 1,800.00
# B rejected:  no units
# C accepted:  units 1,001-2,000 at 2.00 (delivered before the amendment)   = 2,000.00
# B re-decided, 800 accepted: units 2,001-2,800 under version 1 (delivered 10-17):
#              500 x 2.00 + 300 x 1.50                                      = 1,450.00
# D accepted:  units 2,801-3,800 under version 2 (delivered 10-31): x 2.00   = 2,000.00
# E accepted:  units 3,801-4,800 under version 2: x 2.00                    = 2,000.00
# F in review (pending): units 4,801-5,800 at 2.00                          = 2,000.00
# Still to come: 6,000 contracted - 5,800 billable = 200 (week 6's shortfall), units
# 5,801-6,000 at 2.00 = 400.00
COSTS = {"A": D("1800"), "B": D("1450"), "C": D("2000"), "D": D("2000"), "E": D("2000")}
FIRST_UNITS = {"A": 1, "B": 2001, "C": 1001, "D": 2801, "E": 3801, "F": 4801}
SPENT = sum(COSTS.values())  # 9,250.00
PENDING = D("2000")
REMAINING = D("400")
# INV-1 bills A (1,000 units, 1,800.00): matched.
# INV-2 bills what was delivered 10-15 to 10-25 (B and C) as 2,000 units at 2.00 = 4,000.00;
#   accepted: 1,450 + 2,000 = 3,450.00 -> over-billed by 550.00, 200 rejected units billed,
#   credit due 550.00 (disputed: the invoice's 4,000.00).
# D and E are accepted and not invoiced: accrued 2,000 + 2,000 = 4,000.00.
INVOICED = D("5800")
ACCRUED = D("4000")
CREDIT_DUE = D("550")
DISPUTED = D("4000")


def _deliver(
    workspace: Workspace, contract_id: int, deliveries: list[tuple[str, int, date]]
) -> dict[str, int]:
    """Record 1,000-pair batches, each in its own transaction; their ids by ref."""
    ids = {}
    for ref, week, day in deliveries:
        batch = {"ref": ref, "task_type": "pref_pair", "week": week, "delivered_on": day}
        with session_scope(workspace.engine) as db:
            recorded = record_batch(
                contract_id, {**batch, "quantity": 1000}, as_of=AS_OF, session=db
            )
            ids[ref] = recorded.id or 0
    return ids


def _run_contract(workspace: Workspace) -> dict[str, int]:
    """Record the contract's life; returns the batch ids by ref."""
    ids: dict[str, int] = {}
    with session_scope(workspace.engine) as db:
        save_vendor({"name": "Acme", "kind": "managed_workforce"}, session=db)
        save_task_type(
            {
                "key": "pref_pair",
                "name": "Preference pair",
                "unit": "pair",
                "label_kind": "categorical",
                "labels": ["A", "B", "tie"],
            },
            session=db,
        )
        contract_id = save_contract(CONTRACT, session=db).id or 0
    ids |= _deliver(workspace, contract_id, DELIVERIES[:3])
    with session_scope(workspace.engine) as db:
        decide_batch(ids["A"], "accepted", session=db)
        decide_batch(ids["B"], "rejected", note="40% wrong in review", session=db)
        decide_batch(ids["C"], "accepted", session=db)
    with (
        pytest.raises(InputError, match="re-deciding it needs a reason"),
        session_scope(workspace.engine) as db,
    ):
        decide_batch(ids["B"], "partially_accepted", accepted_quantity=800, session=db)
    with session_scope(workspace.engine) as db:
        decide_batch(
            ids["B"],
            "partially_accepted",
            accepted_quantity=800,
            reason="vendor relabelled 200 items; 800 pass review",
            session=db,
        )
    # Halfway, the price rises; a direct edit is refused, the amendment is kept.
    with (
        pytest.raises(InputError, match="through an amendment"),
        session_scope(workspace.engine) as db,
    ):
        save_contract(AMENDED, contract_id=contract_id, session=db)
    with session_scope(workspace.engine) as db:
        save_contract(
            AMENDED,
            contract_id=contract_id,
            amendment=Amendment(PRICE_RISE, "market rate from week 4"),
            session=db,
        )
    ids |= _deliver(workspace, contract_id, DELIVERIES[3:])
    with session_scope(workspace.engine) as db:
        decide_batch(ids["D"], "accepted", session=db)
        decide_batch(ids["E"], "accepted", session=db)
        decide_batch(ids["F"], "in_review", session=db)
        add_invoice(
            contract_id,
            {"number": "INV-1", "issued_on": date(2026, 10, 20), "units": 1000,
             "amount": "1800.00", "batches": ["A"]},
            as_of=AS_OF,
            session=db,
        )  # fmt: skip
        add_invoice(
            contract_id,
            {"number": "INV-2", "issued_on": date(2026, 11, 1), "units": 2000,
             "amount": "4000.00", "period_start": date(2026, 10, 15),
             "period_end": date(2026, 10, 25)},
            as_of=AS_OF,
            session=db,
        )  # fmt: skip
    return ids


def _report(workspace: Workspace, as_of: date = AS_OF) -> Any:
    with Session(workspace.engine) as db:
        [report] = build_report(as_of, session=db).contracts
    return report


def _costs(report: Any) -> dict[str, D]:
    return {
        batch.ref: cost.cost
        for batch, cost in zip(report.batches, report.batch_costs, strict=True)
        if not cost.pending
    }


def test_every_figure_equals_the_hand_computation(workspace: Workspace) -> None:
    _run_contract(workspace)
    report = _report(workspace)
    assert _costs(report) == COSTS
    spend = report.spend
    assert (spend.spent, spend.pending, spend.remaining) == (SPENT, PENDING, REMAINING)
    assert spend.projected == SPENT + PENDING + REMAINING == D("11650")
    firsts = {b.ref: c.first_unit for b, c in zip(report.batches, spend.batches, strict=True)}
    assert firsts == FIRST_UNITS
    assert (report.invoiced, report.accrued, report.credit_due, report.disputed) == (
        INVOICED,
        ACCRUED,
        CREDIT_DUE,
        DISPUTED,
    )
    first, second = report.invoices
    assert (first.state.value, first.difference, first.credit_due) == ("matched", 0, 0)
    assert [b.ref for b in second.batches] == ["B", "C"]
    assert (second.state.value, second.difference, second.rejected_units_billed) == (
        "over-billed",
        D("550"),
        200,
    )
    # The frozen terms name the version each batch was priced under.
    versions = {b.ref: (b.priced_terms or {}).get("contract_version") for b in report.batches}
    assert versions == {"A": 1, "B": 1, "C": 1, "D": 2, "E": 2, "F": None}
    assert any("over-bills by $550.00" in a.message for a in _alerts(workspace))


def _alerts(workspace: Workspace) -> list[Any]:
    with Session(workspace.engine) as db:
        return build_report(AS_OF, session=db).alerts


def test_the_cli_reports_the_same_figures(
    workspace: Workspace, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _run_contract(workspace)
    if workspace.settings.database_url:
        monkeypatch.setenv("PROCURE_DATABASE_URL", workspace.settings.database_url)
    home = str(workspace.settings.home)
    assert run(["--home", home, "spend", "--json", "--as-of", AS_OF.isoformat()]) == 0
    [contract] = json.loads(capsys.readouterr().out)["contracts"]
    figures = {k: D(contract[k]) for k in ("spent", "pending", "remaining", "projected")}
    assert figures == {
        "spent": SPENT,
        "pending": PENDING,
        "remaining": REMAINING,
        "projected": D("11650"),
    }
    money = {k: D(contract[k]) for k in ("invoiced", "accrued", "credit_due", "disputed")}
    assert money == {
        "invoiced": INVOICED,
        "accrued": ACCRUED,
        "credit_due": CREDIT_DUE,
        "disputed": DISPUTED,
    }
    assert {b["ref"]: D(b["cost"]) for b in contract["batches"] if not b["pending"]} == COSTS
    assert run(["--home", home, "invoice", "list", "--json"]) == 0
    invoices = json.loads(capsys.readouterr().out)["invoices"]
    assert [(i["number"], i["state"], D(i["credit_due"])) for i in invoices] == [
        ("INV-1", "matched", 0),
        ("INV-2", "over-billed", CREDIT_DUE),
    ]
    batch_b = next(b["id"] for b in contract["batches"] if b["ref"] == "B")
    assert run(["--home", home, "batch", "history", str(batch_b), "--json"]) == 0
    events = json.loads(capsys.readouterr().out)["events"]
    assert [e["kind"] for e in events] == ["recorded", "decided", "re-decided"]
    assert events[-1]["before"]["status"] == "rejected"
    assert events[-1]["after"] == {
        "status": "partially_accepted",
        "accepted_quantity": 800,
        "cost": "1450.00",
        "currency": "USD",
    }
    assert events[-1]["reason"] == "vendor relabelled 200 items; 800 pass review"


def test_nothing_edited_after_acceptance_changes_an_accepted_cost(workspace: Workspace) -> None:
    ids = _run_contract(workspace)
    with Session(workspace.engine) as db:
        contract_id = get_batch(ids["A"], session=db).contract_id
        spec = contract_spec(get_contract(contract_id, session=db), session=db)
    # An amendment (after E's delivery), corrections of decided batches' facts, a void of the
    # pending batch, an invoice voided: every decided cost stays as it was.
    cheaper = spec.model_copy(deep=True)
    cheaper.price_lines[0].unit_price = D("0.10")
    cheaper.price_lines[0].tiers = []
    cheaper.discounts = []
    cheaper.committed_budget = D("99999")
    # Reaching back over a decided batch's price line is refused: E was delivered on 11-07.
    with (
        pytest.raises(InputError, match="batch 'E', delivered on 2026-11-07, was decided"),
        session_scope(workspace.engine) as db,
    ):
        save_contract(
            cheaper,
            contract_id=contract_id,
            amendment=Amendment(date(2026, 11, 2), "renegotiated"),
            session=db,
        )
    with session_scope(workspace.engine) as db:
        save_contract(
            cheaper,
            contract_id=contract_id,
            amendment=Amendment(date(2026, 11, 8), "renegotiated"),
            session=db,
        )
        edit_batch(ids["C"], BatchEdit(notes="late labels", week=3), reason="note", session=db)
        edit_batch(ids["D"], BatchEdit(delivered_on=date(2026, 10, 30)), reason="typo", session=db)
        void_batch(ids["F"], reason="sent to the wrong contract", session=db)
        void_invoice(1, reason="issued twice", session=db)
    # Moving a decided batch into another version's days would change what it was decided under.
    with (
        pytest.raises(InputError, match="decided under contract version 2"),
        session_scope(workspace.engine) as db,
    ):
        edit_batch(ids["D"], BatchEdit(delivered_on=date(2026, 10, 20)), reason="x", session=db)
    report = _report(workspace)
    assert _costs(report) == COSTS
    assert [b.ref for b in report.batches] == ["A", "B", "C", "D", "E"]  # F is voided
    assert report.spend.pending == 0
    # Only what nobody relied on moves: the 1,200 units still to come are at 0.10 now.
    assert report.spend.remaining == D("120.0")
    assert report.accrued == COSTS["A"] + ACCRUED  # INV-1 voided: A is accrued again
    with Session(workspace.engine) as db:
        timeline = amendment_timeline(contract_id, session=db)
    assert [v.number for v in timeline] == [1, 2, 3]
    assert timeline[1].changes == (
        "price line pref_pair: 2.00 per unit, from unit 2,501 1.50; 6,000 units -> "
        "2.50 per unit, from unit 2,501 2.00; 6,000 units",
    )
    with Session(workspace.engine) as db:
        kinds = [e.kind for e in batch_history(ids["D"], session=db)]
    assert kinds == ["recorded", "decided", "edited"]


def test_quantity_of_a_decided_batch_is_part_of_its_decision(workspace: Workspace) -> None:
    ids = _run_contract(workspace)
    with (
        pytest.raises(InputError, match="reopen it for review first"),
        session_scope(workspace.engine) as db,
    ):
        edit_batch(ids["A"], BatchEdit(quantity=900), reason="recount", session=db)
    with (
        pytest.raises(InputError, match="a correction needs a reason"),
        session_scope(workspace.engine) as db,
    ):
        edit_batch(ids["F"], BatchEdit(quantity=900), reason=" ", session=db)
    with session_scope(workspace.engine) as db:
        edit_batch(ids["F"], BatchEdit(quantity=900), reason="recount", as_of=AS_OF, session=db)
    assert _report(workspace).spend.pending == D("1800")  # 900 x 2.00


@pytest.mark.parametrize(
    ("invoice", "message"),
    [
        ({"number": "INV-1", "batches": ["D"]}, "invoice 'INV-1' of this vendor is already"),
        ({"number": "INV-9", "batches": ["A"]}, "batch 'A' is already billed by invoice 'INV-1'"),
        ({"number": "INV-9", "batches": ["Z"]}, "has no batch 'Z'"),
        ({"number": "INV-9", "batches": ["D"], "currency": "EUR"}, "the contract in USD"),
        (
            {"number": "INV-9", "batches": ["D"], "issued_on": date(2026, 12, 1)},
            "to the as-of date",
        ),
        ({"number": "INV-9"}, "names the batches it bills"),
        ({"number": "INV-9", "batches": ["D"], "amount": "NaN"}, "amount"),
    ],
)
def test_bad_invoices_are_refused(
    workspace: Workspace, invoice: dict[str, Any], message: str
) -> None:
    _run_contract(workspace)
    data = {"issued_on": date(2026, 11, 10), "units": 1000, "amount": "2500", **invoice}
    with (
        pytest.raises(InputError, match=message),
        session_scope(workspace.engine) as db,
    ):
        add_invoice(1, data, as_of=AS_OF, session=db)


def test_dates_and_states(workspace: Workspace) -> None:
    ids = _run_contract(workspace)
    with (
        pytest.raises(InputError, match="after the as-of date 2026-11-15"),
        session_scope(workspace.engine) as db,
    ):
        batch = {"task_type": "pref_pair", "week": 6, "quantity": 10}
        record_batch(1, {**batch, "delivered_on": date(2026, 11, 16)}, as_of=AS_OF, session=db)
    # Four days after its end the contract has ended: not active, nothing more to come.
    with Session(workspace.engine) as db:
        portfolio = build_report(date(2026, 11, 19), session=db)
    [report] = portfolio.contracts
    assert report.state.value == "ended" and portfolio.active == []
    assert portfolio.ended_not_closed == [report]
    assert report.spend.remaining == 0
    assert any("ended on 2026-11-15 and is not closed" in a.message for a in portfolio.alerts)
    # Extended by an amendment, the shortfall is to come again.
    with Session(workspace.engine) as db:
        spec = contract_spec(get_contract(1, session=db), session=db)
    with session_scope(workspace.engine) as db:
        save_contract(
            spec.model_copy(update={"end_date": date(2026, 11, 29)}),
            contract_id=1,
            amendment=Amendment(date(2026, 11, 16), "two more weeks"),
            session=db,
        )
    assert _report(workspace, date(2026, 11, 19)).spend.remaining == REMAINING
    assert ids


def test_a_voided_batch_and_a_retired_label_set_leave_every_figure(
    workspace: Workspace,
) -> None:
    ids = _run_contract(workspace)
    with session_scope(workspace.engine) as db:
        label_set = LabelSet(
            source=LabelSource.vendor,
            task_type_id=1,
            batch_id=ids["F"],
            name="batch F",
            path="x.parquet",
            sha256="0" * 64,
            filename="f.csv",
            rows=1,
            items=1,
            annotators=1,
        )
        db.add(label_set)
    with session_scope(workspace.engine) as db:
        retire_label_set(label_set.id or 0, reason="wrong batch", session=db)
        with pytest.raises(InputError, match="already retired"):
            retire_label_set(label_set.id or 0, reason="again", session=db)
    with (
        pytest.raises(InputError, match="is billed by invoice 'INV-1'; void that invoice"),
        session_scope(workspace.engine) as db,
    ):
        void_batch(ids["A"], reason="mistake", session=db)
    with (
        pytest.raises(InputError, match="needs a reason"),
        session_scope(workspace.engine) as db,
    ):
        void_batch(ids["F"], reason="", session=db)
    with session_scope(workspace.engine) as db:
        void_batch(ids["F"], reason="duplicate", session=db)
    with (
        pytest.raises(InputError, match="is voided"),
        session_scope(workspace.engine) as db,
    ):
        decide_batch(ids["F"], "accepted", session=db)
    with Session(workspace.engine) as db:
        payload = spend_payload(build_report(AS_OF, session=db))
        invoices = invoices_payload(build_report(AS_OF, session=db))
    assert D(payload["contracts"][0]["pending"]) == 0
    assert "F" not in [b["ref"] for b in payload["contracts"][0]["batches"]]
    assert len(invoices["invoices"]) == 2


def test_a_document_keeps_the_amendments_and_every_cost(
    workspace: Workspace, tmp_path: Path
) -> None:
    """Exported with its batches and imported into a new workspace, the contract has the same
    versions and every batch the same cost (each priced under the version of its day)."""
    _run_contract(workspace)
    with Session(workspace.engine) as db:
        text = export_document(with_batches=True, session=db)
    assert "versions:" in text and "market rate from week 4" in text
    fresh = open_workspace(Settings(home=tmp_path / "fresh"), create=True)
    try:
        with session_scope(fresh.engine) as db:
            import_document(text.encode(), "acme.yaml", session=db)
        # Invoices are not part of a document; everything priced is.
        report = _report(fresh)
        assert _costs(report) == COSTS and report.spend.pending == PENDING
        with Session(fresh.engine) as db:
            timeline = amendment_timeline(1, session=db)
            assert [(v.number, v.effective_from) for v in timeline] == [(1, START), (2, PRICE_RISE)]
            again = export_document(with_batches=True, session=db)
        assert again == text
        # A rewritten history is refused; an added version is an amendment.
        rewritten = text.replace("effective_from: 2026-10-26", "effective_from: 2026-10-27", 1)
        with (
            pytest.raises(InputError, match="never rewritten"),
            session_scope(fresh.engine) as db,
        ):
            import_document(rewritten.encode(), "acme2.yaml", session=db)
    finally:
        fresh.engine.dispose()
