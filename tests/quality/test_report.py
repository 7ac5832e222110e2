"""Quality from the label store, against hand-computed figures and independent libraries."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from sqlmodel import Session, select

from procure.cli import run
from procure.db import session_scope
from procure.errors import InputError
from procure.labels.store import LlmRunSpec, import_labels
from procure.quality import quality_report, select_labels
from procure.quality.results import AcceptanceRuleFigures, GoldCheck, QualityReport, Ties
from procure.records.catalog import save_task_type, set_tie_break
from procure.records.models import Batch, TaskType
from procure.records.workspace import Workspace
from tests.conftest import SAMPLE_TODAY


def _batch(ws: Workspace, ref: str) -> int:
    with Session(ws.engine) as db:
        return db.exec(select(Batch).where(Batch.ref == ref)).one().id or 0


def _report(ws: Workspace) -> QualityReport:
    """The quality report of every pref_pair label."""
    with Session(ws.engine) as db:
        return quality_report(
            ws.settings.label_store,
            select_labels("pref_pair", store=ws.settings.label_store, session=db),
            session=db,
        )


def _import(ws: Workspace, tmp_path: Path, name: str, text: str, **options: object) -> None:
    path = tmp_path / name
    path.write_text(text)
    with session_scope(ws.engine) as db:
        import_labels(
            ws.settings.label_store,
            path,
            task_type_key="pref_pair",
            session=db,
            **options,  # type: ignore[arg-type]
        )


def test_three_way_figures_by_hand(sample: Workspace, tmp_path: Path) -> None:
    # week 1: items 1-3 by annotators a, b; week 2: item 4 by a, b
    _import(
        sample,
        tmp_path,
        "w1.csv",
        "item_id,annotator_id,label\n1,a,A\n1,b,A\n2,a,B\n2,b,A\n3,a,tie\n3,b,tie\n",
        source="vendor",
        batch_id=_batch(sample, "NW-PP-01"),
    )
    _import(
        sample,
        tmp_path,
        "w2.csv",
        "item_id,annotator_id,label\n4,a,B\n4,b,B\n",
        source="vendor",
        batch_id=_batch(sample, "NW-PP-02"),
    )
    _import(
        sample,
        tmp_path,
        "llm.csv",
        "item_id,label\n1,A\n2,B\n3,tie\n4,A\n",
        source="llm",
        llm=LlmRunSpec("model-x"),
    )
    _import(sample, tmp_path, "gold.csv", "item_id,label\n1,A\n2,B\n4,B\n", source="gold")
    report = _report(sample)
    # vendor consensus: 1 A, 2 a tie of A and B (left out), 3 "tie", 4 B
    assert report.pairs["vendor_vs_llm"].confusion.counts == [
        [1, 0, 0],
        [1, 0, 0],
        [0, 0, 1],
    ]
    assert report.pairs["vendor_vs_llm"].percent_agreement == pytest.approx(2 / 3)
    assert report.pairs["vendor_vs_gold"].percent_agreement == pytest.approx(2 / 2)
    assert report.pairs["llm_vs_gold"].percent_agreement == pytest.approx(2 / 3)
    assert report.human.percent_agreement == pytest.approx(3 / 4)  # items 1, 3, 4 agree
    assert [(t.batch_ref, t.labels_per_item, t.items, t.tied) for t in report.ties] == [
        ("NW-PP-01", 2, 3, 1),
        ("NW-PP-02", 2, 1, 0),
    ]
    assert report.tied == Ties(4, 1, 0.25) and report.tie_policy.tie_break == []
    weeks = {w.week: w for w in report.weeks}
    assert weeks[1].items == 2 and weeks[1].percent_agreement == pytest.approx(1.0)
    assert (weeks[2].items, weeks[2].percent_agreement) == (1, 0.0)
    annotators = {a.annotator: a for a in report.annotators}
    # annotator a vs LLM: A/A, B/B, tie/tie, B/A -> 3 of 4; vs gold: A/A, B/B, B/B -> 3 of 3
    assert annotators["a"].labels == 4
    assert annotators["a"].vs_llm.percent_agreement == pytest.approx(3 / 4)
    assert annotators["a"].vs_gold.percent_agreement == pytest.approx(1.0)
    assert annotators["b"].vs_gold.percent_agreement == pytest.approx(2 / 3)
    assert report.llm is not None and report.llm["model"] == "model-x"
    # A tie-break order settles item 2 (to B: it agrees with the LLM and gold), in every figure
    with session_scope(sample.engine) as db:
        set_tie_break("pref_pair", ["B", "A"], session=db)
    with Session(sample.engine) as db:
        broken = quality_report(
            sample.settings.label_store,
            select_labels("pref_pair", store=sample.settings.label_store, session=db),
            session=db,
        )
    assert broken.pairs["vendor_vs_llm"].confusion.counts == [[1, 0, 0], [1, 1, 0], [0, 0, 1]]
    assert broken.pairs["vendor_vs_gold"].percent_agreement == pytest.approx(3 / 3)
    assert broken.tied == report.tied and broken.tie_policy.tie_break == ["B", "A"]


def test_an_llm_file_of_two_models_is_compared_by_its_consensus(
    sample: Workspace, tmp_path: Path
) -> None:
    # One annotator's labels are read as they are; two need the per-item consensus.
    _import(
        sample,
        tmp_path,
        "v.csv",
        "item_id,label\n1,A\n2,B\n3,tie\n",
        source="vendor",
        batch_id=_batch(sample, "NW-PP-01"),
    )
    _import(
        sample,
        tmp_path,
        "two.csv",
        "item_id,annotator_id,label\n1,m1,A\n1,m2,A\n2,m1,B\n2,m2,A\n3,m1,tie\n3,m2,tie\n",
        source="llm",
        llm=LlmRunSpec("two models"),
    )
    report = _report(sample)
    # LLM consensus: 1 A, 2 a tie of A and B (left out), 3 "tie"
    assert report.pairs["vendor_vs_llm"].confusion.counts == [
        [1, 0, 0],
        [0, 0, 0],
        [0, 0, 1],
    ]


def test_stored_figures_match_sklearn(sample: Workspace, tmp_path: Path) -> None:
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(5)
    labels = np.array(["A", "B", "tie"])
    vendor = rng.integers(0, 3, 500)
    llm = np.where(rng.random(500) < 0.7, vendor, rng.integers(0, 3, 500))
    _import(
        sample,
        tmp_path,
        "v.csv",
        "item_id,label\n" + "".join(f"{i},{labels[v]}\n" for i, v in enumerate(vendor)),
        source="vendor",
        batch_id=_batch(sample, "NW-PP-03"),
    )
    _import(
        sample,
        tmp_path,
        "l.csv",
        "item_id,label\n" + "".join(f"{i},{labels[v]}\n" for i, v in enumerate(llm)),
        source="llm",
        llm=LlmRunSpec("m"),
    )
    report = _report(sample)
    pair = report.pairs["vendor_vs_llm"]
    assert pair.cohen_kappa == pytest.approx(metrics.cohen_kappa_score(vendor, llm), abs=1e-9)
    assert pair.confusion.counts == metrics.confusion_matrix(vendor, llm).tolist()


def test_many_labels_take_text_keys(sample: Workspace, tmp_path: Path) -> None:
    """With 90 labels and 3 annotators the count vectors do not fit 128 bits and are written as
    text; the consensus and the human ceiling still match numpy and the krippendorff package."""
    krippendorff = pytest.importorskip("krippendorff")
    with session_scope(sample.engine) as db:
        save_task_type(
            {
                "key": "wide",
                "name": "Wide",
                "unit": "item",
                "label_kind": "categorical",
                "labels": [f"L{i}" for i in range(90)],
            },
            session=db,
        )
        batch = db.exec(select(Batch).where(Batch.ref == "NW-PP-01")).one()
        batch.task_type_id = db.exec(select(TaskType).where(TaskType.key == "wide")).one().id or 0
    rng = np.random.default_rng(11)
    grid = rng.integers(0, 4, (3, 300))  # few distinct labels, so items often agree
    grid[1] = np.where(rng.random(300) < 0.5, grid[0], grid[1])
    llm = np.where(rng.random(300) < 0.6, grid[0], rng.integers(0, 90, 300))
    vendor_rows = "".join(f"{i},a{a},L{grid[a, i]}\n" for a in range(3) for i in range(300))
    path = tmp_path / "wide.csv"
    path.write_text("item_id,annotator_id,label\n" + vendor_rows)
    llm_path = tmp_path / "wide_llm.csv"
    llm_path.write_text("item_id,label\n" + "".join(f"{i},L{v}\n" for i, v in enumerate(llm)))
    with session_scope(sample.engine) as db:
        store = sample.settings.label_store
        import_labels(
            store, path, source="vendor", task_type_key="wide", batch_id=batch.id, session=db
        )
        import_labels(
            store, llm_path, source="llm", task_type_key="wide", llm=LlmRunSpec("m"), session=db
        )
    with Session(sample.engine) as db:
        report = quality_report(
            sample.settings.label_store,
            select_labels("wide", store=sample.settings.label_store, session=db),
            session=db,
        )
    counts = np.stack([np.bincount(grid[:, i], minlength=90) for i in range(300)])
    consensus = counts.argmax(axis=1)
    single = (counts == counts.max(axis=1, keepdims=True)).sum(axis=1) == 1  # ties left out
    expected = np.zeros((90, 90), dtype=int)
    np.add.at(expected, (consensus[single], llm[single]), 1)
    assert report.tied.tied == int((~single).sum()) > 0
    assert report.pairs["vendor_vs_llm"].confusion.counts == expected.tolist()
    assert report.human.krippendorff_alpha == pytest.approx(
        krippendorff.alpha(reliability_data=grid.astype(float), level_of_measurement="nominal"),
        abs=1e-9,
    )


def test_quality_cli(
    sample: Workspace,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if sample.settings.database_url:
        monkeypatch.setenv("PROCURE_DATABASE_URL", sample.settings.database_url)
    _import(
        sample,
        tmp_path,
        "v.csv",
        "item_id,annotator_id,label\n1,a,A\n1,b,A\n",
        source="vendor",
        batch_id=_batch(sample, "NW-PP-01"),
    )
    home = str(sample.settings.home)
    assert run(["--home", home, "quality", "--task-type", "pref_pair", "--json"]) == 0
    assert '"human"' in capsys.readouterr().out
    assert run(["--home", home, "quality", "--task-type", "essay"]) == 2
    assert "no task type 'essay'" in capsys.readouterr().err


def test_the_sample_labels_tell_their_stories(sample: Workspace) -> None:
    """procure/sample/labels.py's three stories hold in the figures a lead would look at."""
    from procure.quality import disagreement_queue
    from procure.sample.labels import load_sample_labels

    with session_scope(sample.engine) as db:
        assert load_sample_labels(sample.settings.label_store, session=db) == 19
    with Session(sample.engine) as db:
        reports = {
            key: quality_report(
                sample.settings.label_store,
                select_labels(key, store=sample.settings.label_store, session=db),
                session=db,
            )
            for key in ("pref_pair", "sft_instruction", "expert_report")
        }
    weekly = [w.cohen_kappa for w in reports["pref_pair"].weeks]
    assert weekly == sorted(weekly) and weekly[-1] - weekly[0] > 0.2  # Northwind improves
    lumen = reports["sft_instruction"]
    assert lumen.pairs["vendor_vs_llm"].cohen_kappa > lumen.human.krippendorff_alpha + 0.3
    kestrel = reports["expert_report"].pairs["vendor_vs_llm"]
    assert kestrel.percent_agreement > 0.7 and kestrel.gwet_ac1 > kestrel.cohen_kappa + 0.3
    llm_run = reports["expert_report"].llm
    assert llm_run is not None and llm_run["cost"] is not None
    with Session(sample.engine) as db:
        queue = disagreement_queue(
            sample.settings.label_store,
            select_labels("pref_pair", store=sample.settings.label_store, session=db),
            session=db,
        ).items
    confidences = [q.llm_confidence for q in queue]
    assert confidences == sorted(confidences, reverse=True) and confidences[0] > 0.9
    [retest] = reports["pref_pair"].llm_test_retest
    assert 0.9 < retest.percent_agreement < 0.97


def test_wilson_interval_matches_statsmodels() -> None:
    proportion = pytest.importorskip("statsmodels.stats.proportion")
    from procure.quality.stats.acceptance import wilson_interval

    for errors, n in [(0, 10), (3, 40), (17, 60), (50, 50), (81, 263)]:
        interval = wilson_interval(errors, n)
        assert interval is not None
        expected = proportion.proportion_confint(errors, n, alpha=0.05, method="wilson")
        assert (interval.low, interval.high) == pytest.approx(expected, abs=1e-9)
    assert wilson_interval(0, 0) is None


def test_reviews_become_gold_and_leave_the_queue(sample: Workspace, tmp_path: Path) -> None:
    from procure.quality import add_review, disagreement_queue

    _import(
        sample,
        tmp_path,
        "v.csv",
        "item_id,annotator_id,label,text\n1,a,A,first\n1,b,A,first\n2,a,B,second\n2,b,B,second\n3,a,tie,third\n3,b,tie,third\n",
        source="vendor",
        batch_id=_batch(sample, "NW-PP-01"),
    )
    _import(
        sample,
        tmp_path,
        "l.csv",
        "item_id,label,confidence\n1,B,0.6\n2,A,0.95\n3,tie,0.9\n",
        source="llm",
        llm=LlmRunSpec("m"),
    )
    with Session(sample.engine) as db:
        queue = disagreement_queue(
            sample.settings.label_store,
            select_labels("pref_pair", store=sample.settings.label_store, session=db),
            session=db,
        ).items
    assert [(q.item_id, q.vendor_consensus, q.llm_label, q.llm_confidence) for q in queue] == [
        ("2", "B", "A", 0.95),
        ("1", "A", "B", 0.6),
    ]
    assert queue[0].text == "second" and queue[0].vendor_votes == "B x2"
    with session_scope(sample.engine) as db:
        add_review("pref_pair", "2", "A", reviewer="lead", session=db)
        add_review("pref_pair", "1", "B", session=db)
        add_review("pref_pair", "1", "A", note="second look", session=db)  # the newest review wins
    with Session(sample.engine) as db:
        selection = select_labels("pref_pair", store=sample.settings.label_store, session=db)
        assert [
            q.item_id
            for q in disagreement_queue(sample.settings.label_store, selection, session=db).items
        ] == []
        report = quality_report(sample.settings.label_store, selection, session=db)
    # gold from reviews: 1 A, 2 A; vendor: 1 A, 2 B -> 1 of 2; llm: 1 B, 2 A -> 1 of 2
    assert report.pairs["vendor_vs_gold"].items == 2
    assert report.pairs["vendor_vs_gold"].percent_agreement == pytest.approx(0.5)
    assert report.pairs["llm_vs_gold"].percent_agreement == pytest.approx(0.5)
    with (
        pytest.raises(InputError, match="'maybe' is not a label of 'pref_pair'"),
        session_scope(sample.engine) as db,
    ):
        add_review("pref_pair", "2", "maybe", session=db)


def test_batch_acceptance_follows_the_rule(sample: Workspace, tmp_path: Path) -> None:
    from procure.quality import add_review, batch_evidence, set_rule

    batch_id = _batch(sample, "NW-PP-04")
    rows = "".join(f"{i},A\n" for i in range(60))
    _import(sample, tmp_path, "v.csv", "item_id,label\n" + rows, source="vendor", batch_id=batch_id)
    with Session(sample.engine) as db:
        assert (
            batch_evidence(sample.settings.label_store, batch_id, session=db).recommendation
            == "review more"
        )
    with session_scope(sample.engine) as db:
        for i in range(40):
            add_review("pref_pair", str(i), "B" if i < 12 else "A", session=db)  # 12 of 40 wrong
    with Session(sample.engine) as db:
        evidence = batch_evidence(sample.settings.label_store, batch_id, session=db)
    assert (evidence.reviewed, evidence.errors) == (40, 12)
    assert evidence.rule == AcceptanceRuleFigures(
        max_error_rate=0.05, min_reviewed=30, default=True
    )
    assert evidence.recommendation == "reject"
    assert evidence.suggested_accepted_quantity == 3500  # 5000 x (1 - 0.3)
    with session_scope(sample.engine) as db:
        contract_id = db.get(Batch, batch_id).contract_id
        set_rule(contract_id, "pref_pair", max_error_rate="0.5", min_reviewed=20, session=db)
    with Session(sample.engine) as db:
        evidence = batch_evidence(sample.settings.label_store, batch_id, session=db)
    assert evidence.recommendation == "accept" and not evidence.rule.default
    with (
        pytest.raises(InputError, match="expected a share between 0 and 1"),
        session_scope(sample.engine) as db,
    ):
        set_rule(contract_id, "pref_pair", max_error_rate="5", session=db)


def test_repeated_llm_runs_report_their_consistency(sample: Workspace, tmp_path: Path) -> None:
    _import(
        sample,
        tmp_path,
        "run1.csv",
        "item_id,label\n1,A\n2,B\n3,tie\n4,A\n",
        source="llm",
        llm=LlmRunSpec("m", prompt_version="v1"),
    )
    _import(
        sample,
        tmp_path,
        "run2.csv",
        "item_id,label\n1,A\n2,B\n3,A\n4,A\n5,B\n",
        source="llm",
        llm=LlmRunSpec("m", prompt_version="v1"),
    )
    _import(
        sample,
        tmp_path,
        "other.csv",
        "item_id,label\n1,B\n",
        source="llm",
        llm=LlmRunSpec("m", prompt_version="v2"),
    )
    report = _report(sample)
    [retest] = report.llm_test_retest
    # items 1-4 in both runs; 3 of 4 the same (item 3: tie then A)
    assert (retest.model, retest.prompt_version, retest.items) == ("m", "v1", 4)
    assert retest.percent_agreement == pytest.approx(0.75)
    # Two more runs on other items: the second of them is compared with the first of them,
    # the earliest run it shares items with
    for name, labels in (("run3.csv", "A,B"), ("run4.csv", "A,A")):
        first, second = labels.split(",")
        _import(
            sample,
            tmp_path,
            name,
            f"item_id,label\n10,{first}\n11,{second}\n",
            source="llm",
            llm=LlmRunSpec("m", prompt_version="v1"),
        )
    report = _report(sample)
    runs = [r.runs for r in report.llm_test_retest]
    assert len(runs) == 2 and runs[0] == retest.runs
    assert runs[1][1] - runs[1][0] == 1 and report.llm_test_retest[1].items == 2
    assert report.llm_test_retest[1].percent_agreement == pytest.approx(0.5)


def test_dawid_skene_report_on_stored_labels(sample: Workspace, tmp_path: Path) -> None:
    from procure.quality import add_review, dawid_skene_report

    # annotator c is always wrong on item labels A/B; a and b agree with the truth
    rows = "".join(
        f"{i},a,{'A' if i % 2 else 'B'}\n{i},b,{'A' if i % 2 else 'B'}\n{i},c,{'B' if i % 2 else 'A'}\n"
        for i in range(40)
    )
    _import(
        sample,
        tmp_path,
        "v.csv",
        "item_id,annotator_id,label\n" + rows,
        source="vendor",
        batch_id=_batch(sample, "NW-PP-01"),
    )
    with session_scope(sample.engine) as db:
        add_review("pref_pair", "1", "A", session=db)
    with Session(sample.engine) as db:
        estimate = dawid_skene_report(
            sample.settings.label_store,
            select_labels("pref_pair", store=sample.settings.label_store, session=db),
            session=db,
        )
    assert estimate is not None
    accuracy = {a.annotator: a.estimated_accuracy for a in estimate.annotators}
    assert accuracy["a"] > 0.95 and accuracy["b"] > 0.95 and accuracy["c"] < 0.05
    assert estimate.against_gold == GoldCheck(
        items=1, dawid_skene=1.0, majority=1.0, majority_tied=0
    )


def test_a_reviewed_tie_counts_as_reviewed_and_wrong(sample: Workspace, tmp_path: Path) -> None:
    """The vendor left items 0-2 tied (A-B); gold has items 0-9. A tie is no answer: acceptance
    counts it as a reviewed error, the economics accuracy and the majority against gold as a
    miss, while the consensus comparison leaves it out (and says so in the tie counts)."""
    from procure.economics import measured_scenario
    from procure.quality import add_review, batch_evidence, dawid_skene_report
    from procure.quality.acceptance import gold_matches

    batch_id = _batch(sample, "NW-PP-04")
    rows = "".join(f"{i},a,A\n{i},b,{'B' if i < 3 else 'A'}\n" for i in range(40))
    _import(
        sample,
        tmp_path,
        "v.csv",
        "item_id,annotator_id,label\n" + rows,
        source="vendor",
        batch_id=batch_id,
    )
    _import(
        sample,
        tmp_path,
        "g.csv",
        "item_id,label\n" + "".join(f"{i},A\n" for i in range(9)) + "9,B\n",
        source="gold",
    )
    store = sample.settings.label_store
    with Session(sample.engine) as db:
        evidence = batch_evidence(store, batch_id, session=db)
        selection = select_labels("pref_pair", store=store, batch_ids=[batch_id], session=db)
        matches = gold_matches(store, selection, "vendor", session=db)
        estimate = dawid_skene_report(store, selection, session=db)
        report = quality_report(store, selection, session=db)
    # 10 reviewed: 3 ties and item 9 (vendor A, gold B) are errors
    assert (evidence.reviewed, evidence.errors, evidence.tied) == (10, 4, 3)
    assert (
        "; 3 of the 10 reviewed items are ties the vendor's annotators left unsettled, "
        in evidence.reason
    )
    assert (matches.items, matches.matches, matches.tied) == (10, 6, 3)
    assert estimate is not None and estimate.against_gold is not None
    assert (estimate.against_gold.items, estimate.against_gold.majority_tied) == (10, 3)
    assert estimate.against_gold.majority == pytest.approx(6 / 10)
    assert report.pairs["vendor_vs_gold"].items == 7  # the comparison leaves the ties out
    # the same in the economics model, and a review of a tied item is evidence too
    with session_scope(sample.engine) as db:
        add_review("pref_pair", "20", "A", session=db)
    with Session(sample.engine) as db:
        evidence = batch_evidence(store, batch_id, session=db)
        measured = measured_scenario(store, "pref_pair", SAMPLE_TODAY, session=db)
    assert (evidence.reviewed, evidence.errors, evidence.tied) == (11, 4, 3)
    [accuracy] = [i for i in measured.inputs if i.input == "Northwind Annotation: accuracy"]
    assert accuracy.value == str(Decimal(7) / Decimal(11))
    assert "7 of 11 items (3 left tied, counted as wrong)" in accuracy.note


def test_the_queue_and_the_reviews_agree_on_which_items_have_gold(
    sample: Workspace, tmp_path: Path
) -> None:
    """An item whose gold files tie has no gold: it stays in the queue. A review whose label the
    task type no longer has is no gold either: not marked as gold, and the item is queued again."""
    from procure.quality import add_review, disagreement_queue, review_summary

    _import(
        sample,
        tmp_path,
        "v.csv",
        "item_id,annotator_id,label\n1,a,A\n1,b,B\n2,a,A\n2,b,B\n3,a,A\n3,b,B\n",
        source="vendor",
        batch_id=_batch(sample, "NW-PP-01"),
    )
    # two gold annotators: item 1 tied (no gold), item 2 agreed
    _import(
        sample,
        tmp_path,
        "g.csv",
        "item_id,annotator_id,label\n1,x,A\n1,y,B\n2,x,A\n2,y,A\n",
        source="gold",
    )
    store = sample.settings.label_store

    def queued() -> list[str]:
        with Session(sample.engine) as db:
            selection = select_labels("pref_pair", store=store, session=db)
            return sorted(q.item_id for q in disagreement_queue(store, selection, session=db).items)

    assert queued() == ["1", "3"]
    with session_scope(sample.engine) as db:
        add_review("pref_pair", "3", " tie ", reviewer="ana", session=db)  # read as typed in files
        add_review("pref_pair", "3", "A", reviewer="ben", session=db)
        add_review("pref_pair", "1", "B", session=db)  # unnamed: nobody to agree with ana
        add_review("pref_pair", "1", "A", reviewer="ana", session=db)
    assert queued() == []
    with Session(sample.engine) as db:
        summary = review_summary("pref_pair", session=db)
    assert [(r.item_id, r.label, r.counts) for r in summary.reviews] == [
        ("3", "tie", False),
        ("3", "A", True),
        ("1", "B", False),
        ("1", "A", True),
    ]
    assert (summary.reviewers, summary.items_with_several_reviewers) == (2, 1)
    assert summary.reviewer_agreement == 0.0  # ana and ben disagree on item 3
    # "A" is no longer a label: the reviews that said A are no gold, the older ones are
    with session_scope(sample.engine) as db:
        pref = db.exec(select(TaskType).where(TaskType.key == "pref_pair")).one()
        save_task_type(
            {
                **pref.model_dump(exclude={"id", "tie_break"}),
                "label_kind": "categorical",  # a preference task type must keep A
                "labels": ["B", "tie", "C"],
            },
            task_type_id=pref.id,
            session=db,
        )
    with Session(sample.engine) as db:
        summary = review_summary("pref_pair", session=db)
    assert [(r.item_id, r.label, r.counts) for r in summary.reviews] == [
        ("3", "tie", True),
        ("3", "A", False),
        ("1", "B", True),
        ("1", "A", False),
    ]
    assert summary.reviewer_agreement is None and summary.items_with_several_reviewers == 0


def test_saving_a_task_type_keeps_its_tie_break(sample: Workspace) -> None:
    """The task type form has no tie-break field: saving it keeps the order, less any label
    the save removes."""
    with session_scope(sample.engine) as db:
        set_tie_break("pref_pair", ["tie", "B", "A"], session=db)
        pref = db.exec(select(TaskType).where(TaskType.key == "pref_pair")).one()
        form = pref.model_dump(exclude={"id", "tie_break"})
        save_task_type({**form, "name": "Pairs"}, task_type_id=pref.id, session=db)
        assert pref.tie_break == ["tie", "B", "A"]
        save_task_type({**form, "labels": ["A", "B"]}, task_type_id=pref.id, session=db)
        assert pref.tie_break == ["B", "A"]
        save_task_type({**form, "tie_break": []}, task_type_id=pref.id, session=db)
        assert pref.tie_break == []
