"""The Labels & quality page names what it compares, shows ties and reviews as the CLI does: the
same selection gives the same figures on the page and in ``procure quality --json``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from procure.cli import run
from procure.config import Settings
from procure.db import session_scope
from procure.labels import LlmRunSpec, import_labels
from procure.records.workspace import open_workspace
from tests.ui.conftest import open_page, records


def quality_json(home: Path, capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    capsys.readouterr()
    assert run(["--home", str(home), "quality", "--task-type", "pref_pair", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def table_with(at: AppTest, column: str) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if column in d.value.columns)


def test_the_page_and_the_cli_agree_and_name_the_llm_run(
    sample_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stray = tmp_path / "stray.csv"
    stray.write_text("item_id,label\n" + "".join(f"x{i},A\n" for i in range(20)))
    workspace = open_workspace(Settings(home=sample_home))
    with session_scope(workspace.engine) as db:
        stored = import_labels(
            workspace.settings.label_store,
            stray,
            source="llm",
            task_type_key="pref_pair",
            llm=LlmRunSpec("gpt-4o-mini", "openai", "sample-v1"),
            session=db,
        )
    workspace.engine.dispose()
    expected = quality_json(sample_home, capsys)
    at = open_page("pages/quality.py")
    at.selectbox(key="quality_task_type").select("pref_pair").run()
    assert not at.exception and not at.error
    # The default run is the sample's (all 1,200 items), not the newer stray one, and it is named.
    picker = at.selectbox(key="quality_llm_run_pref_pair_None")
    assert picker.value == expected["llm_run"]["label_set_id"] != stored.id
    assert any("labels 1,200 of the 1,200 selected items" in str(c.value) for c in at.caption)
    table = table_with(at, "comparison").set_index("comparison")
    for name, pair in expected["pairs"].items():
        shown = table.loc[name.replace("_", " ")]
        assert shown["items"] == pair["items"]
        assert shown["agreement"] == pytest.approx(pair["percent_agreement"])
        assert shown["Cohen's kappa"] == pytest.approx(pair["cohen_kappa"])
    # Ties: the same counts as the CLI, by batch.
    ties = table_with(at, "share tied")
    assert list(ties["ties"]) == [t["tied"] for t in expected["ties"]]
    # Per-class figures of the pair shown (the first)
    classes = table_with(at, "recall").set_index("label")
    first = next(iter(expected["pairs"].values()))["per_class"]
    for label, figures in first.items():
        assert classes.loc[label, "recall"] == pytest.approx(figures["recall"])
    # Choosing the stray run: a warning says it labels none of the selected items, the
    # comparisons with it disappear (no all-zero matrix), and the CLI agrees.
    picker.select(stored.id).run()
    assert not at.exception
    assert any("labels none of the selected items" in str(w.value) for w in at.warning)
    chosen = quality_json(sample_home, capsys, "--llm-run", str(stored.id))
    assert chosen["pairs"]["vendor_vs_llm"]["items"] == 0
    assert "vendor vs llm" not in list(table_with(at, "comparison")["comparison"])


def test_blind_review_and_the_tie_policy_on_the_page(sample_home: Path) -> None:
    at = open_page("pages/quality.py")
    at.selectbox(key="quality_task_type").select("pref_pair").run()
    queue = table_with(at, "why")
    assert {"vendor votes", "LLM label"} <= set(queue.columns) and "tie" in set(queue["why"])
    at.toggle(key="review_blind_pref_pair").set_value(True).run()
    blind = table_with(at, "why")
    assert list(blind.columns) == ["item", "why", "text"]
    with records(sample_home) as db:
        from procure.records import get_task_type

        task_type = get_task_type("pref_pair", session=db)
    before = table_with(at, "comparison").set_index("comparison").loc["vendor vs llm", "items"]
    at.multiselect(key=f"tie_break_{task_type.id}_order").set_value(["tie", "B", "A"])
    at.button(key=f"tie_break_{task_type.id}_save").click().run()
    assert not at.exception and not at.error
    after = table_with(at, "comparison").set_index("comparison").loc["vendor vs llm", "items"]
    assert (before, after) == (907, 1200)  # the vendor's and the LLM's ties, then none
    with records(sample_home) as db:
        assert get_task_type("pref_pair", session=db).tie_break == ["tie", "B", "A"]


def test_llm_only_labels_and_markdown_labels_on_the_page(sample_home: Path, tmp_path: Path) -> None:
    """A task type with only an LLM run is not shown as empty; label names in the review form
    are shown as typed, not as Markdown."""
    from procure.records import get_task_type, save_task_type

    llm_only = tmp_path / "llm.csv"
    llm_only.write_text("item_id,label\n1,yes\n2,no\n")
    workspace = open_workspace(Settings(home=sample_home))
    with session_scope(workspace.engine) as db:
        save_task_type(
            {"key": "triage", "name": "Triage", "unit": "ticket", "label_kind": "categorical",
             "labels": ["yes", "no"]},
            session=db,
        )  # fmt: skip
        import_labels(
            workspace.settings.label_store,
            llm_only,
            source="llm",
            task_type_key="triage",
            llm=LlmRunSpec("gpt-4o-mini", "openai", "v1"),
            session=db,
        )
        pref = get_task_type("pref_pair", session=db)
        save_task_type(
            {
                **pref.model_dump(exclude={"id"}),
                "label_kind": "categorical",  # preference labels are A and B
                "labels": ["*A*", "B", "tie"],
            },
            task_type_id=pref.id,
            session=db,
        )
    workspace.engine.dispose()
    at = open_page("pages/quality.py")
    at.selectbox(key="quality_task_type").select("triage").run()
    assert not at.exception and not at.error
    assert not any("No labels for this task type yet" in str(i.value) for i in at.info)
    assert at.selectbox(key="quality_llm_run_triage_None").value is not None
    assert not any("labels none of the selected items" in str(c.value) for c in at.caption)
    at.selectbox(key="quality_task_type").select("pref_pair").run()
    radio = next(r for r in at.radio if r.label == "Correct label")
    assert radio.options == [r"\*A\*", "B", "tie"]
