"""Preference figures from the label store: the sample's story, the stored figures equal to the
stateless command's on the same rows, and a Likert rating imported from Label Studio."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from sqlmodel import Session, select

from procure.cli import run
from procure.db import session_scope
from procure.labels.store import LlmRunSpec, import_labels
from procure.quality import quality_report, select_labels
from procure.quality.preferences import file_preferences
from procure.quality.results import PreferenceReport
from procure.records.catalog import save_task_type
from procure.records.models import Batch, LabelSet
from procure.records.workspace import Workspace


@pytest.fixture
def labelled(sample: Workspace) -> Workspace:
    from procure.sample.labels import load_sample_labels

    with session_scope(sample.engine) as db:
        load_sample_labels(sample.settings.label_store, session=db)
    return sample


def _preferences(workspace: Workspace) -> PreferenceReport:
    store = workspace.settings.label_store
    with Session(workspace.engine) as db:
        report = quality_report(
            store, select_labels("pref_pair", store=store, session=db), session=db
        )
    assert report.preferences is not None
    return report.preferences


def test_the_samples_preference_story(labelled: Workspace) -> None:
    figures = _preferences(labelled)
    assert (figures.items, figures.annotators, figures.judgements) == (1200, 4, 4800)
    by_name = {a.annotator_id: a for a in figures.per_annotator}
    picker = by_name["nw_annotator_4"]  # always picks the response shown first, never ties
    assert picker.first_chosen == 1.0 and picker.position_p_value is not None
    assert [a.tie_flag for a in figures.per_annotator] == [None, None, None, "avoids ties"]
    assert picker.position_p_value < 1e-100
    assert all(
        a.first_chosen_ci95 and a.first_chosen_ci95[0] < 0.5 < a.first_chosen_ci95[1]
        for name, a in by_name.items()
        if name != "nw_annotator_4"
    )
    margins = figures.margin_calibration  # right judgements state stronger margins
    assert margins is not None and margins.reference == "gold" and margins.informative
    agreement = [level.agreement or 0 for level in margins.levels]
    assert [level.margin for level in margins.levels] == ["slight", "clear", "strong"]
    assert agreement == sorted(agreement)
    judge = figures.judge  # run in both orders, keeping its verdict on 85-90% of the pairs
    assert judge is not None and judge.swap_tested == 1200
    assert judge.swap_consistency is not None and 0.85 <= judge.swap_consistency <= 0.90
    ceiling = figures.loo_ceiling
    assert ceiling is not None and ceiling.items == 1200
    assert ceiling.with_ties is not None and ceiling.without_ties is not None
    assert ceiling.with_ties < ceiling.without_ties  # ties cost agreement, as on MT-Bench
    strengths = figures.bradley_terry
    assert strengths is not None
    for source in ("vendor", "judge", "gold"):
        fitted = strengths.sources[source]
        assert fitted is not None
        assert max(fitted, key=lambda s: s.strength).model == "cirrus-405b"
    assert {g.group.split()[0] for g in figures.groups} == {"vendor", "batch", "week"}
    weeks = [g for g in figures.groups if g.group.startswith("week")]
    assert [g.judgements for g in weeks] == [1200] * 4


def test_stored_figures_equal_the_files(labelled: Workspace, tmp_path: Path) -> None:
    """The vendor's stored labels and the LLM run written out as files give the same figures
    through ``procure preferences`` (the margins' reference aside: gold in the workspace)."""
    store = labelled.settings.label_store
    with Session(labelled.engine) as db:
        selection = select_labels("pref_pair", store=store, session=db)
        vendor = [str(store / s.path) for s, _ in selection.vendor]
        assert selection.llm is not None
        judge = str(store / selection.llm.path)
    with duckdb.connect() as con:
        con.execute(
            "COPY (SELECT * EXCLUDE (label_code) FROM read_parquet($files)) TO "
            f"'{tmp_path / 'vendor.parquet'}' (FORMAT parquet)",
            {"files": vendor},
        )
    stored = _preferences(labelled)
    files = file_preferences(tmp_path / "vendor.parquet", Path(judge))
    for field in ("tie_rate", "position_bias", "length_bias", "loo_ceiling", "per_annotator"):
        assert getattr(stored, field) == getattr(files, field), field
    assert stored.judge == files.judge and stored.transitivity == files.transitivity


def test_quality_json_has_the_preference_section(
    labelled: Workspace, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    if labelled.settings.database_url:
        monkeypatch.setenv("PROCURE_DATABASE_URL", labelled.settings.database_url)
    home = str(labelled.settings.home)
    assert run(["--home", home, "quality", "--task-type", "pref_pair", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["preferences"]["judge"]["swap_tested"] == 1200
    assert run(["--home", home, "quality", "--task-type", "sft_instruction", "--json"]) == 0
    assert "preferences" not in json.loads(capsys.readouterr().out)  # not a preference task
    assert run(["--home", home, "quality", "--task-type", "pref_pair"]) == 0
    assert "swap consistency" in capsys.readouterr().out


def test_a_likert_rating_from_label_studio_is_a_preference(
    sample: Workspace, tmp_path: Path
) -> None:
    export = [
        {
            "id": n,
            "data": {"text": f"pair {n}"},
            "annotations": [
                {
                    "completed_by": {"email": who},
                    "result": [{"from_name": "pref", "value": {"rating": rating}}],
                }
                for who, rating in (("ana@x", 2), ("ben@x", 6))
            ],
        }
        for n in (1, 2)
    ]
    path = tmp_path / "export.json"
    path.write_text(json.dumps(export))
    with session_scope(sample.engine) as db:
        batch = db.exec(select(Batch).where(Batch.ref == "NW-PP-01")).one()
        stored = import_labels(
            sample.settings.label_store,
            path,
            source="vendor",
            task_type_key="pref_pair",
            batch_id=batch.id,
            adapter="label-studio",
            field="pref",
            session=db,
        )
        label_set = db.get(LabelSet, stored.id)
        assert label_set is not None
    with duckdb.connect() as con:
        rows = con.execute(
            "SELECT item_id, annotator_id, label, margin FROM read_parquet($p) ORDER BY ALL",
            {"p": str(sample.settings.label_store / label_set.path)},
        ).fetchall()
    assert rows == [
        ("1", "ana@x", "A", "clear"),
        ("1", "ben@x", "B", "clear"),
        ("2", "ana@x", "A", "clear"),
        ("2", "ben@x", "B", "clear"),
    ]


def test_a_preference_task_type_keeps_to_its_labels(sample: Workspace) -> None:
    from procure.errors import InputError

    with session_scope(sample.engine) as db, pytest.raises(InputError, match="labels are A and B"):
        save_task_type(
            {
                "key": "pairs",
                "name": "Pairs",
                "unit": "pair",
                "label_kind": "preference",
                "labels": ["left", "right"],
            },
            session=db,
        )


def test_an_llm_run_imported_with_both_orders_keeps_them_apart(
    labelled: Workspace, tmp_path: Path
) -> None:
    """One judge id in a file with shown_first A and B: stored as an annotator per order."""
    path = tmp_path / "judge.csv"
    path.write_text(
        "item_id,annotator_id,label,shown_first\n"
        "NW-PP-01-0000,judge,A,A\nNW-PP-01-0000,judge,B,B\n"
        "NW-PP-01-0001,judge,B,A\nNW-PP-01-0001,judge,B,B\n"
    )
    store = labelled.settings.label_store
    with session_scope(labelled.engine) as db:
        stored = import_labels(
            store,
            path,
            source="llm",
            task_type_key="pref_pair",
            llm=LlmRunSpec("judge-x"),
            session=db,
        )
        llm_id = stored.id
    with duckdb.connect() as con:
        annotators = con.execute(
            "SELECT DISTINCT annotator_id FROM read_parquet($p) ORDER BY 1",
            {"p": str(store / stored.path)},
        ).fetchall()
    assert annotators == [("judge (A shown first)",), ("judge (B shown first)",)]
    with Session(labelled.engine) as db:
        selection = select_labels("pref_pair", store=store, llm_set_id=llm_id, session=db)
        figures = quality_report(store, selection, session=db).preferences
    assert figures is not None and figures.judge is not None
    assert (figures.judge.swap_tested, figures.judge.swap_consistency) == (2, 0.5)
