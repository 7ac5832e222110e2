"""The app, run by Streamlit's AppTest on a fresh file-backed SQLite workspace per test."""

from __future__ import annotations

import time
from datetime import date, timedelta
from decimal import Decimal as D
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from procure.config import Settings
from procure.db import session_scope
from procure.delivery.portfolio import build_report
from procure.records.contracts import contract_spec, get_contract, list_contracts
from procure.records.workspace import open_workspace
from procure.sample.loader import load_sample
from tests.conftest import SAMPLE_TODAY
from tests.ui.conftest import PAGES, open_page, records


def comparisons(at: AppTest) -> pd.DataFrame:
    """The quality page's table of vendor consensus vs LLM vs gold."""
    return next(d.value for d in at.dataframe if "comparison" in d.value.columns)


@pytest.mark.parametrize("page", PAGES)
def test_pages_on_an_empty_workspace_say_what_to_do(home: Path, page: str) -> None:
    at = open_page(page)
    assert not at.error
    guidance = " ".join(str(i.value) for i in at.info)
    assert "Vendors & contracts" in guidance or "vendor" in guidance


@pytest.mark.parametrize("page", PAGES)
def test_pages_on_the_sample_workspace(sample_home: Path, page: str) -> None:
    at = open_page(page)
    assert not at.error


def test_overview_kpis_match_the_report(sample_home: Path) -> None:
    at = open_page(PAGES[0])
    metrics = {m.label: m.value for m in at.metric}
    with records(sample_home) as db:
        totals = build_report(SAMPLE_TODAY, session=db).totals
    assert totals is not None
    assert metrics["Active contracts"] == "3"
    assert metrics["Spent"] == f"${totals.spent:,.2f}"
    assert metrics["Late or short weeks"] == "2"
    warnings = " ".join(str(w.value) for w in at.warning)
    assert (
        "Lumen Labs: Multilingual SFT instructions: week 3 sft_instruction short by 1,400 units"
        in warnings
    )


def test_load_sample_from_the_empty_overview(home: Path) -> None:
    at = open_page(PAGES[0])
    at.button(key="load_sample").click().run()
    assert not at.exception
    assert "Sample workspace loaded." in [s.value for s in at.success]
    assert {m.label for m in at.metric} >= {"Active contracts", "Spent", "Projected"}


def test_create_a_vendor_and_a_contract_through_the_forms(sample_home: Path) -> None:
    at = open_page(PAGES[1])
    at.text_input(key="vendor_form_None_name").input("Orchid Raters")
    at.selectbox(key="vendor_form_None_kind").select("in_house")
    at.button(key="vendor_form_None_save").click().run()
    assert "Vendor 'Orchid Raters' saved." in [s.value for s in at.success]

    at.selectbox(key="contract_form_None_vendor").select("Orchid Raters")
    at.text_input(key="contract_form_None_title").input("Red-team evaluations")
    at.date_input(key="contract_form_None_start").set_value(date(2026, 12, 7))
    at.date_input(key="contract_form_None_end").set_value(date(2027, 1, 17))
    at.selectbox(key="contract_form_None_currency").select("EUR")
    at.text_input(key="contract_form_None_budget").input("12500.50")
    at.selectbox(key="contract_form_None_status").select("active")
    at.button(key="contract_form_None_save").click().run()
    assert not at.exception and not at.error
    assert "Contract 'Red-team evaluations' saved." in [s.value for s in at.success]
    with records(sample_home) as db:
        stored = next(c for c in list_contracts(session=db) if c.title == "Red-team evaluations")
    assert (stored.currency, stored.committed_budget, stored.status) == (
        "EUR",
        D("12500.50"),
        "active",
    )
    assert (stored.start_date, stored.end_date) == (date(2026, 12, 7), date(2027, 1, 17))


def test_editing_a_contract_with_decided_batches_is_an_amendment(sample_home: Path) -> None:
    with records(sample_home) as db:
        contract = next(
            c for c in list_contracts(session=db) if c.title == "Preference pairs for RLHF, Q4"
        )
        before = contract_spec(contract, session=db)
    at = open_page(PAGES[1])
    at.selectbox(key="contract_pick").select(contract.id).run()
    form = f"contract_form_{contract.id}"
    at.text_input(key=f"{form}_budget").input("110000")
    at.button(key=f"{form}_save").click().run()
    # Its accepted batches rely on the terms: a direct edit is refused, saying how to amend.
    assert not at.exception
    [refused] = [e.value for e in at.error]
    assert "through an amendment" in refused and "'Effective from' and 'Reason'" in refused
    with records(sample_home) as db:
        assert contract_spec(get_contract(contract.id or 0, session=db), session=db) == before

    at.date_input(key=f"{form}_v1_effective_from").set_value(SAMPLE_TODAY)
    at.text_input(key=f"{form}_v1_reason").input("Budget raised for week 5 re-labelling")
    at.button(key=f"{form}_save").click().run()
    assert not at.error and not at.exception
    assert [s.value for s in at.success] == [
        f"Contract {contract.title!r} saved, amended from {SAMPLE_TODAY}."
    ]
    with records(sample_home) as db:
        after = contract_spec(get_contract(contract.id or 0, session=db), session=db)
    assert after.committed_budget == D(110000)
    unchanged = {"committed_budget", "versions"}  # the amendment is a new version
    assert after.model_dump(exclude=unchanged) == before.model_dump(exclude=unchanged)
    timeline = next(t.value for t in at.table if "effective from" in t.value.columns)
    assert list(timeline["version"]) == ["1", "2"]
    assert list(timeline["reason"])[1] == "Budget raised for week 5 re-labelling"
    assert "budget" in str(timeline["what changed"].iloc[1])
    assert at.text_input(key=f"{form}_v2_reason").value == ""  # the next amendment starts blank


def test_form_errors_are_shown_and_nothing_is_saved(sample_home: Path) -> None:
    at = open_page(PAGES[1])
    at.text_input(key="contract_form_None_title").input("Backwards")
    at.date_input(key="contract_form_None_start").set_value(date(2027, 1, 17))
    at.date_input(key="contract_form_None_end").set_value(date(2026, 12, 7))
    at.button(key="contract_form_None_save").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "contract, end_date: end date 2026-12-07 is before start date 2027-01-17; "
        "expected an end on or after the start"
    ]
    at.text_input(key="contract_form_None_budget").input("a lot")
    at.date_input(key="contract_form_None_end").set_value(date(2027, 2, 7))
    at.button(key="contract_form_None_save").click().run()
    assert "committed_budget: Input should be a valid decimal" in at.error[0].value
    with records(sample_home) as db:
        assert "Backwards" not in [c.title for c in list_contracts(session=db)]


def test_a_new_contract_never_replaces_one_with_its_title(sample_home: Path) -> None:
    with records(sample_home) as db:
        before = {c.id: contract_spec(c, session=db) for c in list_contracts(session=db)}
    at = open_page(PAGES[1])
    assert at.selectbox(key="contract_form_None_vendor").value == "Kestrel Experts"
    at.text_input(key="contract_form_None_title").input("Expert reports: chemistry and law")
    at.button(key="contract_form_None_save").click().run()
    assert not at.exception
    assert "already has a contract titled 'Expert reports: chemistry and law'" in at.error[0].value
    with records(sample_home) as db:
        after = {c.id: contract_spec(c, session=db) for c in list_contracts(session=db)}
    assert after == before


def test_a_half_filled_row_is_named_not_dropped(sample_home: Path) -> None:
    at = open_page(PAGES[1])
    at.text_input(key="contract_form_None_title").input("Half a line")
    at.session_state["contract_form_None_lines"] = {
        "edited_rows": {},
        "added_rows": [{"unit_price": 2.0, "quantity": 100}],
        "deleted_rows": [],
    }
    at.button(key="contract_form_None_save").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "price lines: row 1: task type is empty; fill it in or delete the row"
    ]
    with records(sample_home) as db:
        assert "Half a line" not in [c.title for c in list_contracts(session=db)]


def test_record_and_review_a_batch_on_the_deliveries_page(sample_home: Path) -> None:
    with records(sample_home) as db:
        lumen = next(
            c for c in list_contracts(session=db) if c.title == "Multilingual SFT instructions"
        )
    at = open_page(PAGES[2])
    at.selectbox(key="deliveries_contract").select(lumen.id).run()
    form = f"batch_form_{lumen.id}"
    at.number_input(key=f"{form}_week").set_value(5)
    at.number_input(key=f"{form}_quantity").set_value(4000)
    at.date_input(key=f"{form}_delivered_on").set_value(lumen.start_date + timedelta(days=30))
    at.button(key=f"{form}_save").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert [s.value for s in at.success] == ["Batch W5-sft_instruction-1 recorded."]

    with records(sample_home) as db:
        report = build_report(SAMPLE_TODAY, [lumen.id or 0], session=db)
    [week5] = [row for row in report.contracts[0].rows if row.week == 5]
    assert week5.delivered == 4000

    at.number_input(key=f"{form}_quantity").set_value(0)
    at.button(key=f"{form}_save").click().run()
    assert [e.value for e in at.error] == ["batch, quantity: Input should be greater than 0, got 0"]


def test_quality_page_shows_the_stored_figures(home: Path, tmp_path: Path) -> None:
    from sqlmodel import select

    from procure.labels.store import LlmRunSpec, import_labels
    from procure.records.models import Batch

    workspace = open_workspace(Settings(home=home))
    with session_scope(workspace.engine) as db:
        load_sample(SAMPLE_TODAY, session=db)  # the records only: this test brings its own labels
    files = {
        "vendor.csv": "item_id,annotator_id,label\n1,a,A\n1,b,A\n2,a,B\n2,b,B\n3,a,tie\n3,b,A\n",
        "llm.csv": "item_id,label\n1,A\n2,B\n3,A\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with session_scope(workspace.engine) as db:
        batch = db.exec(select(Batch).where(Batch.ref == "NW-PP-01")).one()
        store = workspace.settings.label_store
        import_labels(
            store,
            tmp_path / "vendor.csv",
            source="vendor",
            task_type_key="pref_pair",
            batch_id=batch.id,
            session=db,
        )
        import_labels(
            store,
            tmp_path / "llm.csv",
            source="llm",
            task_type_key="pref_pair",
            llm=LlmRunSpec("model-x"),
            session=db,
        )
    at = open_page("pages/quality.py")
    at.selectbox(key="quality_task_type").select("pref_pair").run()
    assert not at.exception and not at.error
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Items"] == "3" and metrics["Agreement"] == "66.7%"
    table = comparisons(at)
    assert list(table["comparison"]) == ["vendor vs llm"] and table["agreement"].iloc[
        0
    ] == pytest.approx(1.0)
    # The confusion matrix, the weekly trend and (a preference task type) the annotators' ties;
    # a rerun replays the same charts from the cache.
    drawn = [chart.proto.spec for chart in at.get("plotly_chart")]
    assert len(drawn) == 3 and '"heatmap"' in drawn[0] and "Ties, position" in drawn[2]
    at.run()
    assert [chart.proto.spec for chart in at.get("plotly_chart")] == drawn


def test_review_and_accept_a_batch_on_the_quality_page(sample_home: Path) -> None:
    from sqlmodel import select

    from procure.records.models import Batch, Review

    at = open_page("pages/quality.py")
    at.selectbox(key="quality_task_type").select("pref_pair").run()
    at.multiselect(key="quality_weeks_pref_pair").set_value([4]).run()  # NW-PP-04's queue
    first = at.selectbox(key="review_item_pref_pair_0").options[0]
    # No label is chosen for the reviewer: saving without one says so and saves nothing.
    assert at.radio(key=f"review_label_pref_pair_{first}").value is None
    at.button(key="FormSubmitter:review_form_pref_pair-Save review").click().run()
    assert [e.value for e in at.error] == ["Choose the correct label first: there is no default."]
    at.radio(key=f"review_label_pref_pair_{first}").set_value("tie")
    at.button(key="FormSubmitter:review_form_pref_pair-Save review").click().run()
    # The 30th review of NW-PP-04: 5 errors, 4 of them items the vendor left tied -> reject
    [advice] = [e.value for e in at.error]
    assert advice.startswith("Recommendation: **reject**. 5 errors in 30 reviewed items")
    assert "4 of the 30 reviewed items are ties the vendor's annotators left" in advice
    assert not at.exception
    assert f"Review of {first} saved; it counts as gold now." in [s.value for s in at.success]
    assert first not in at.selectbox(key="review_item_pref_pair_0").options
    with records(sample_home) as db:
        assert [(r.item_id, r.label) for r in db.exec(select(Review))] == [(first, "tie")]
        batch = db.exec(select(Batch).where(Batch.ref == "NW-PP-04")).one()
    at.selectbox(key="acceptance_batch_pref_pair").select(batch.id).run()
    at.text_input(key=f"acceptance_note_{batch.id}").input("the ties are fine for us")
    at.button(key=f"acceptance_accept_{batch.id}").click().run()
    assert not at.exception and [e.value for e in at.error] == [advice]
    assert "Batch NW-PP-04 accepted." in [s.value for s in at.success]
    with records(sample_home) as db:
        assert db.get(Batch, batch.id).status == "accepted"


def test_upload_labels_on_the_quality_page(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json
    import tempfile

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # where the page's uploads go

    from sqlmodel import select

    from procure.records.models import LabelSet

    workspace = open_workspace(Settings(home=home))
    with session_scope(workspace.engine) as db:
        load_sample(SAMPLE_TODAY, session=db)  # records only; the test uploads its labels
    export = [
        {
            "id": i,
            "data": {"text": f"pair {i}"},
            "annotations": [
                {
                    "completed_by": 1,
                    "result": [
                        {
                            "from_name": "preference",
                            "type": "choices",
                            "value": {"choices": ["A" if i % 2 else "B"]},
                        }
                    ],
                }
            ],
        }
        for i in range(6)
    ]
    at = open_page("pages/quality.py")
    at.selectbox(key="quality_task_type").select("pref_pair").run()
    at.radio(key="labels_file_kind").set_value("label-studio").run()
    at.file_uploader(key="labels_upload").set_value(
        ("export.json", json.dumps(export).encode(), "application/json")
    ).run()
    assert at.selectbox(key="labels_field").value == "preference"
    at.radio(key="labels_source").set_value("gold").run()
    at.button(key="labels_import").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert [s.value for s in at.success] == ["Imported 6 labels as 'export'."]
    with records(home) as db:
        assert [(s.source, s.rows, s.filename) for s in db.exec(select(LabelSet))] == [
            ("gold", 6, "export.json")
        ]
    assert list(scratch.iterdir()) == []  # no upload folder left behind by the reruns

    at.radio(key="labels_file_kind").set_value("labels").run()
    at.file_uploader(key="labels_upload").set_value(
        ("bad.csv", b"item_id,label\n1,A\n2,maybe\n", "text/csv")
    ).run()
    at.radio(key="labels_source").set_value("gold").run()
    at.button(key="labels_import").click().run()
    assert [e.value for e in at.error] == [
        "bad.csv: column label: labels outside the task type's set (A, B, tie): 'maybe' (1 row, first at line 3)"
    ]
    with records(home) as db:
        assert len(db.exec(select(LabelSet)).all()) == 1


def test_quality_page_filters_by_week(sample_home: Path) -> None:
    from procure.quality import quality_report, select_labels

    at = open_page("pages/quality.py")
    at.selectbox(key="quality_task_type").select("pref_pair").run()
    everything = comparisons(at)["items"].iloc[0]
    with records(sample_home) as db:
        store = Settings(home=sample_home).label_store
        report = quality_report(
            store, select_labels("pref_pair", store=store, session=db), session=db
        )
    weeks = {w.week: w.items for w in report.weeks}
    assert everything == sum(weeks.values()) == report.pairs["vendor_vs_llm"].items
    at.multiselect(key="quality_weeks_pref_pair").select(1).run()
    assert not at.exception and not at.error
    assert comparisons(at)["items"].iloc[0] == weeks[1]  # the first of four weekly batches
    at.multiselect(key="quality_vendors_pref_pair").select("Northwind Annotation").run()
    assert comparisons(at)["items"].iloc[0] == weeks[1]


def test_economics_page_compares_strategies_and_explores(sample_home: Path) -> None:
    at = open_page("pages/economics.py")
    at.selectbox(key="economics_task").set_value("pref_pair").run()
    assert not at.exception and not at.error
    summary = str(at.success[0].value)
    assert "At 30,000 labels" in summary and "times less than Northwind Annotation" in summary
    at.number_input(key="economics_pref_pair_volume").set_value(1_000_000).run()
    assert "At 1,000,000 labels" in str(at.success[0].value)
    at.button(key="economics_save_prices").click().run()
    assert "Price table saved (5 models)" in str(at.success[0].value)


def test_label_a_batch_with_an_llm_from_the_page(sample_home: Path) -> None:
    from procure.kinds import JobStatus
    from procure.llm import list_jobs
    from procure.quality import select_labels
    from tests.llm.server import chat_server

    with chat_server() as server:
        at = open_page("pages/llm_labelling.py")
        at.selectbox(key="llm_task").set_value("pref_pair").run()
        at.selectbox(key="llm_model").set_value("gpt-4o-mini").run()
        at.text_input(key="llm_base_url").set_value(server.base_url).run()
        assert not at.error, [e.value for e in at.error]
        assert at.metric[0].value == "300"  # the batch's items
        at.button(key="llm_run").click().run()
        assert not at.exception and not at.error
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with records(sample_home) as db:
                job = list_jobs(session=db)[0]
            if job.status not in (JobStatus.running, JobStatus.stopping):
                break
            time.sleep(0.2)
    assert job.status == JobStatus.finished, job.message
    assert job.done == 300 and len(server.usages) == 300
    store = Settings(home=sample_home).label_store
    with records(sample_home) as db:
        compared = select_labels("pref_pair", store=store, session=db)
        chosen = select_labels(
            "pref_pair", store=store, llm_set_id=job.label_set_id, session=db
        ).llm_choice
    # A run on one batch's items does not replace the sample's run over all four batches...
    assert compared.llm_choice is not None and compared.llm_choice.covered == 1200
    assert compared.llm is not None and compared.llm.id != job.label_set_id
    # ... until it is chosen; then every heading says how much it covers.
    assert chosen is not None and (chosen.covered, chosen.selected) == (300, 1200)
    assert "labels 300 of the 1,200 selected items" in chosen.title
    at.run()
    assert not at.exception


def test_dawid_skene_runs_in_the_background(sample_home: Path) -> None:
    at = open_page("pages/quality.py")
    at.selectbox(key="quality_task_type").set_value("pref_pair").run()
    at.button(key="dawid_skene").click().run()
    assert not at.exception
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list((sample_home / "derived").glob("*.json")):
        time.sleep(0.2)
    at.run()
    assert not at.exception and not at.error
    shown = " ".join(str(m.value) for m in at.markdown)
    assert "Dawid-Skene** (" in shown
    assert any("gold items, Dawid-Skene's labels are right" in str(c.value) for c in at.caption)


def test_a_dawid_skene_result_of_an_older_procure_is_computed_again(sample_home: Path) -> None:
    """A result stored before the majority counted ties as wrong (no ``majority_tied``) is not
    read: the page offers to estimate again instead of failing on the old shape."""
    import json

    from procure.quality import result_path
    from procure.records.workspace import data_version

    with records(sample_home) as db:
        version = data_version(session=db)
    old = result_path(sample_home, version, "dawid_skene", ["pref_pair", None])
    old.parent.mkdir(parents=True, exist_ok=True)
    gold = {"items": 111, "dawid_skene": 0.95, "majority": 0.94}
    result = {"iterations": 9, "converged": True, "priors": {}, "annotators": []}
    old.write_text(json.dumps({"result": {**result, "against_gold": gold}}))
    at = open_page("pages/quality.py")
    at.selectbox(key="quality_task_type").set_value("pref_pair").run()
    assert not at.exception
    assert at.button(key="dawid_skene") is not None
    assert not any("Dawid-Skene** (" in str(m.value) for m in at.markdown)


def test_the_economics_run_picker_survives_a_run_it_cannot_cost(
    sample_home: Path, tmp_path: Path
) -> None:
    """A model whose only run has no price and no recorded cost stops the default comparison
    with a message naming the run; the picker stays, titled by gold items, and choosing the
    runs that can be costed goes on."""
    from procure.labels import LlmRunSpec, import_labels

    items = tmp_path / "uncosted.csv"
    items.write_text("item_id,label\nNW-PP-01-0001,A\n")
    workspace = open_workspace(Settings(home=sample_home))
    with session_scope(workspace.engine) as db:
        stray = import_labels(
            workspace.settings.label_store,
            items,
            source="llm",
            task_type_key="pref_pair",
            llm=LlmRunSpec("unpriced-model"),
            session=db,
        )
    workspace.engine.dispose()
    at = open_page("pages/economics.py")
    at.selectbox(key="economics_task").set_value("pref_pair").run()
    assert not at.exception
    [error] = [str(e.value) for e in at.error]
    assert f"LLM run {stray.id} of 'unpriced-model' has neither" in error
    picker = at.multiselect(key="economics_llm_runs_pref_pair")
    titles = list(picker.options)  # as the user reads them
    assert any(t.endswith("120 gold items (the default)") for t in titles), titles
    assert any("0 gold items; no price or recorded cost (the default)" in t for t in titles)
    costed = [int(t.split()[2]) for t in titles if t.endswith("120 gold items (the default)")]
    picker.set_value(costed).run()
    assert not at.exception and not at.error
