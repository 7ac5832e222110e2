"""The system of record from the app: decisions with their history, corrections, invoices and
their reconciliation, amendments, retiring label sets; money as numbers and named CSV files."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from procure.kinds import BatchStatus
from procure.records.catalog import save_vendor
from procure.records.models import Batch, BatchEvent, Contract, LabelSet, Vendor
from tests.conftest import SAMPLE_TODAY
from tests.ui.conftest import open_page, records

DELIVERIES = "pages/deliveries.py"
NORTHWIND = "Preference pairs for RLHF, Q4"


def batch_of(home: Path, ref: str) -> Batch:
    with records(home) as db:
        return db.exec(select(Batch).where(Batch.ref == ref)).one()


def contract_of(home: Path, title: str) -> Contract:
    with records(home) as db:
        return db.exec(select(Contract).where(Contract.title == title)).one()


def table(at: AppTest, column: str) -> Any:
    """The page's table (interactive or static) that has ``column``."""
    return next(t.value for t in [*at.dataframe, *at.table] if column in t.value.columns)


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def button_keys(at: AppTest) -> set[str]:
    return {b.key for b in at.button if b.key}


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """The files the page offers for download, by file name, as the browser would get them."""
    offered: dict[str, bytes] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def load_and_get_id(
        self: Any, data: Any, mimetype: str, kind: Any, filename: Any = None
    ) -> str:
        if filename and isinstance(data, bytes):
            offered[filename] = data
        return original(self, data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", load_and_get_id)
    return offered


def open_contract(home: Path, title: str = NORTHWIND) -> tuple[AppTest, int]:
    contract = contract_of(home, title)
    at = open_page(DELIVERIES)
    at.selectbox(key="deliveries_contract").select(contract.id).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    return at, contract.id or 0


def test_a_decided_batch_shows_its_decision_and_needs_a_reason_to_re_decide(
    sample_home: Path,
) -> None:
    at, cid = open_contract(sample_home)
    batch = batch_of(sample_home, "NW-PP-01")
    at.selectbox(key=f"deliveries_batch_{cid}").select(batch.id).run()
    # No silent Accept/Reject on an accepted batch: its decision, who made it, the frozen cost.
    assert f"deliveries_accept_{batch.id}" not in button_keys(at)
    standing = " ".join(str(i.value) for i in at.info)
    assert "Accepted (5,000 units), decided by" in standing
    assert "Cost frozen at \\$15,750.00, contract version 1" in standing

    at.selectbox(key=f"deliveries_status_{batch.id}").select(BatchStatus.rejected)
    at.button(key=f"deliveries_redecide_{batch.id}_save").click().run()
    assert not at.exception
    assert "re-deciding it needs a reason" in at.error[0].value
    assert batch_of(sample_home, "NW-PP-01").status == BatchStatus.accepted

    at.selectbox(key=f"deliveries_status_{batch.id}").select(BatchStatus.rejected)
    at.text_input(key=f"deliveries_reason_{batch.id}").input("Gold audit: 14% wrong")
    at.text_input(key=f"deliveries_renote_{batch.id}").input("vendor informed")
    at.button(key=f"deliveries_redecide_{batch.id}_save").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert [s.value for s in at.success] == ["Batch NW-PP-01 rejected."]
    history = table(at, "evidence shown")
    assert list(history["what"]) == ["recorded", "decided", "re-decided"]
    last = history.iloc[-1]
    assert (last["reason"], last["note"]) == ("Gold audit: 14% wrong", "vendor informed")
    assert "accepted -> rejected" in last["change"]
    assert "reviewed" in last["evidence shown"]
    with records(sample_home) as db:
        event = db.exec(
            select(BatchEvent).where(
                BatchEvent.batch_id == batch.id, BatchEvent.kind == "re-decided"
            )
        ).one()
    assert event.evidence is not None and event.evidence["ref"] == "NW-PP-01"


def test_correct_and_void_a_batch_with_a_reason_and_a_confirmation(sample_home: Path) -> None:
    at, cid = open_contract(sample_home)
    batch = batch_of(sample_home, "NW-PP-04")  # in review: its quantity may be corrected
    at.selectbox(key=f"deliveries_batch_{cid}").select(batch.id).run()
    form = f"batch_edit_{batch.id}"
    assert at.number_input(key=f"{form}_quantity").value == 5000
    at.number_input(key=f"{form}_quantity").set_value(4800)
    at.text_input(key=f"{form}_reason").input("vendor's recount")
    at.button(key=f"{form}_save").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    history = table(at, "evidence shown")
    assert history.iloc[-1]["what"] == "edited"
    assert history.iloc[-1]["change"] == "quantity: 5000 -> 4800"
    assert batch_of(sample_home, "NW-PP-04").quantity == 4800

    void = f"void_batch_{batch.id}"
    assert at.button(key=f"{void}_go").proto.disabled  # neither a reason nor a confirmation yet
    at.text_input(key=f"{void}_reason").input("delivered to the wrong contract")
    at.run()
    assert at.button(key=f"{void}_go").proto.disabled  # a reason, not yet confirmed
    at.checkbox(key=f"{void}_confirm").check().run()
    assert not at.button(key=f"{void}_go").proto.disabled
    at.button(key=f"{void}_go").click().run()
    assert not at.exception
    # It drops out of every figure: week 4 now has nothing delivered.
    assert [e.value for e in at.error] == [
        "Northwind Annotation: Preference pairs for RLHF, Q4: week 4 pref_pair missing: "
        "5,000 units planned, nothing delivered, 4 days overdue"
    ]
    assert "NW-PP-04" not in list(table(at, "frozen")["ref"])
    voided = batch_of(sample_home, "NW-PP-04")
    assert voided.voided_at is not None and voided.void_reason == "delivered to the wrong contract"


def test_invoices_are_reconciled_and_leave_as_numbers(
    sample_home: Path, downloads: dict[str, bytes]
) -> None:
    at, cid = open_contract(sample_home)
    for n, (number, ref, amount) in enumerate(
        [("INV-1", "NW-PP-01", "15750.00"), ("INV-2", "NW-PP-02", "18000.00")]
    ):
        form = f"invoice_form_{cid}_{n}"
        at.text_input(key=f"{form}_number").input(number)
        at.number_input(key=f"{form}_units").set_value(5000)
        at.text_input(key=f"{form}_amount").input(amount)
        at.multiselect(key=f"{form}_batches").select(ref)
        at.button(key=f"{form}_save").click().run()
        assert not at.exception and not at.error, [e.value for e in at.error]
    invoices = table(at, "amount (USD)")
    assert list(invoices["number"]) == ["INV-1", "INV-2"]
    assert list(invoices["state"]) == ["matched", "over-billed"]
    assert list(invoices["difference (USD)"]) == [0.0, 500.0]  # NW-PP-02 cost $17,500.00
    shown = metrics(at)
    assert shown["Invoiced"] == "$33,750.00"
    assert shown["Accrued"] == "$17,500.00"  # NW-PP-03: accepted, not invoiced
    assert shown["Disputed"] == "$18,000.00"
    assert shown["Credit due"] == "$500.00"
    assert any("invoice INV-2 over-bills by \\$500.00" in str(w.value) for w in at.warning)

    name = f"northwind-annotation-preference-pairs-for-rlhf-q4-invoices-{SAMPLE_TODAY}.csv"
    rows = list(csv.DictReader(io.StringIO(downloads[name].decode())))
    assert [(r["number"], r["amount (USD)"], r["credit due (USD)"]) for r in rows] == [
        ("INV-1", "15750.00", "0.00"),
        ("INV-2", "18000.00", "500.00"),
    ]

    inv2 = int(invoices.set_index("number")["id"]["INV-2"])
    at.selectbox(key=f"invoice_pick_{cid}").select(inv2).run()
    at.button(key=f"invoice_mark_paid_{inv2}").click().run()
    assert not at.error, [e.value for e in at.error]
    assert str(table(at, "amount (USD)")["paid on"].iloc[1]) == str(SAMPLE_TODAY)
    at.selectbox(key=f"invoice_pick_{cid}").select(inv2).run()
    at.text_input(key=f"void_invoice_{inv2}_reason").input("sent again as INV-3")
    at.checkbox(key=f"void_invoice_{inv2}_confirm").check().run()
    at.button(key=f"void_invoice_{inv2}_go").click().run()
    assert not at.exception and not at.error
    assert metrics(at)["Disputed"] == "$0.00" and metrics(at)["Invoiced"] == "$15,750.00"


def test_batches_and_overview_tables_hold_money_as_numbers(
    sample_home: Path, downloads: dict[str, bytes]
) -> None:
    at, _ = open_contract(sample_home)
    batches = table(at, "frozen")
    assert batches["cost (USD)"].dtype == float
    assert list(batches["frozen"]) == [True, True, True, False]
    name = f"northwind-annotation-preference-pairs-for-rlhf-q4-batches-{SAMPLE_TODAY}.csv"
    rows = list(csv.DictReader(io.StringIO(downloads[name].decode())))
    assert [(r["ref"], r["cost (USD)"], r["frozen"]) for r in rows][:2] == [
        ("NW-PP-01", "15750.00", "true"),
        ("NW-PP-02", "17500.00", "true"),
    ]

    at = open_page("pages/overview.py")
    assert {"Pending", "Invoiced", "Accrued", "Disputed", "Credit due"} <= set(metrics(at))
    contracts = table(at, "budget (as USD)")
    for column in ("budget (USD)", "budget (EUR)", "budget (as USD)", "spent (as USD)"):
        assert contracts[column].dtype == float, column
    assert contracts["accepted"].dtype == int and contracts["planned"].dtype == int
    # One currency per column: a EUR contract has no USD budget, and the reverse.
    assert contracts[["budget (USD)", "budget (EUR)"]].notna().sum(axis=1).eq(1).all()
    by_budget = contracts.sort_values("budget (as USD)")["budget (as USD)"].tolist()
    assert by_budget == sorted(by_budget)
    assert "ended" in set(contracts["state"]) or set(contracts["state"]) <= {
        "active",
        "completed",
        "draft",
    }
    rows = list(
        csv.DictReader(io.StringIO(downloads[f"procure-contracts-{SAMPLE_TODAY}.csv"].decode()))
    )
    assert {r["budget (USD)"] for r in rows if r["currency"] == "USD"} >= {"105000.00"}


def test_a_contract_with_batches_is_not_deleted(sample_home: Path) -> None:
    contract = contract_of(sample_home, NORTHWIND)
    at = open_page("pages/vendors_contracts.py")
    at.selectbox(key="contract_pick").select(contract.id).run()
    delete = f"delete_contract_{contract.id}"
    assert at.button(key=f"{delete}_go").proto.disabled
    at.checkbox(key=f"{delete}_confirm").check().run()
    at.button(key=f"{delete}_go").click().run()
    assert not at.exception
    [message] = [e.value for e in at.error]
    assert "close it instead" in message and "void batches" in message
    assert contract_of(sample_home, NORTHWIND).id == contract.id


def test_retire_a_label_set(sample_home: Path) -> None:
    with records(sample_home) as db:
        stale = db.exec(
            select(LabelSet).where(LabelSet.source == "llm").order_by(col(LabelSet.id))
        ).first()
    assert stale is not None
    at = open_page("pages/quality.py")
    at.selectbox(key="quality_task_type").select("pref_pair").run()
    at.selectbox(key="retire_pick_pref_pair").select(stale.id).run()
    key = f"retire_label_set_{stale.id}"
    at.text_input(key=f"{key}_reason").input("run with the wrong prompt")
    at.checkbox(key=f"{key}_confirm").check().run()
    at.button(key=f"{key}_go").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    with records(sample_home) as db:
        retired = db.get(LabelSet, stale.id)
    assert retired is not None and retired.retire_reason == "run with the wrong prompt"
    assert stale.id not in list(table(at, "annotators")["id"])  # out of the stored sets


def test_a_decided_batch_on_the_quality_page_offers_only_a_re_decision(sample_home: Path) -> None:
    batch = batch_of(sample_home, "KE-01")
    at = open_page("pages/quality.py")
    at.selectbox(key="quality_task_type").select("expert_report").run()
    at.selectbox(key="acceptance_batch_expert_report").select(batch.id).run()
    assert not at.exception and not at.error
    assert f"acceptance_accept_{batch.id}" not in button_keys(at)
    assert f"acceptance_redecide_{batch.id}_save" in button_keys(at)
    assert any("Accepted (40 units)" in str(i.value) for i in at.info)


def test_user_text_is_shown_as_typed(sample_home: Path) -> None:
    with records(sample_home) as db:
        lumen = db.exec(select(Vendor).where(Vendor.name == "Lumen Labs")).one()
        save_vendor(
            {"name": "Lumen *Labs* $x$", "kind": lumen.kind}, vendor_id=lumen.id, session=db
        )
        db.commit()
    at = open_page("pages/overview.py")
    warnings = [str(w.value) for w in at.warning]
    assert any(w.startswith("Lumen \\*Labs\\* \\$x\\$: Multilingual") for w in warnings), warnings


def test_burn_ups_are_per_task_type_or_in_money_titled_and_from_zero(sample_home: Path) -> None:
    import json

    at, _ = open_contract(sample_home)
    charts = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    titles = [c["layout"]["title"]["text"] for c in charts]
    assert titles == ["Units burn-up: pref_pair (preference pairs)", "Value burn-up (USD)"]
    assert [c["layout"]["yaxis"]["title"]["text"] for c in charts] == [
        "cumulative preference pairs",
        "cumulative USD",
    ]
    assert all(c["layout"]["yaxis"]["rangemode"] == "tozero" for c in charts)

    at = open_page("pages/overview.py")
    [money, spend] = [json.loads(chart.proto.spec)["layout"] for chart in at.get("plotly_chart")]
    assert money["title"]["text"] == "Value burn-up across committed contracts (USD)"
    assert money["yaxis"]["rangemode"] == "tozero" and spend["xaxis"]["rangemode"] == "tozero"
