"""Inputs belong to the record they edit: switching batch, task type or contract shows that
record's values, never the ones typed for the previous record (issue 12's two stale cases)."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import select
from streamlit.testing.v1 import AppTest

from procure.config import Settings
from procure.db import session_scope
from procure.quality import batch_evidence, set_rule
from procure.records.models import Batch
from procure.records.workspace import open_workspace
from tests.ui.conftest import open_page, records

QUALITY = "pages/quality.py"


def _number(at: AppTest, label: str) -> float:
    """The value of the number input labelled ``label`` (looked up by label, so the test reads
    the page as a user does, whatever the widget's key)."""
    [widget] = [n for n in at.number_input if n.label == label]
    assert widget.value is not None
    return float(widget.value)


def test_accepted_units_follow_the_batch_not_the_last_task_type(sample_home: Path) -> None:
    at = open_page(QUALITY)
    at.selectbox(key="quality_task_type").select("expert_report").run()
    # A 40-unit expert-report batch: the partial acceptance offers 39 units at most.
    assert _number(at, "Units to accept (for a partial acceptance)") <= 39

    at.selectbox(key="quality_task_type").select("pref_pair").run()
    assert not at.exception and not at.error
    with records(sample_home) as db:
        batch = db.exec(select(Batch).where(Batch.ref == "NW-PP-04")).one()
    workspace = open_workspace(Settings(home=sample_home), create=False)
    with session_scope(workspace.engine) as db:
        evidence = batch_evidence(workspace.settings.label_store, batch.id or 0, session=db)
    [choice] = [s for s in at.selectbox if (s.key or "").startswith("acceptance_batch")]
    if choice.value != batch.id:  # the page opened on another pref_pair batch: pick NW-PP-04
        choice.select(batch.id).run()
    suggested = evidence.suggested_accepted_quantity or evidence.quantity - 1
    assert _number(at, "Units to accept (for a partial acceptance)") == min(
        suggested, evidence.quantity - 1
    )


def test_the_rule_form_shows_the_saved_rule_of_the_task_type(sample_home: Path) -> None:
    with records(sample_home) as db:
        batch = db.exec(select(Batch).where(Batch.ref == "NW-PP-04")).one()
    workspace = open_workspace(Settings(home=sample_home), create=False)
    with session_scope(workspace.engine) as db:
        set_rule(batch.contract_id, "pref_pair", max_error_rate="0.2", min_reviewed=50, session=db)

    at = open_page(QUALITY)
    at.selectbox(key="quality_task_type").select("expert_report").run()
    assert _number(at, "Max error rate") == 0.05  # no rule: the default
    at.selectbox(key="quality_task_type").select("pref_pair").run()
    assert not at.exception and not at.error
    assert _number(at, "Max error rate") == 0.2
    assert _number(at, "Min reviewed items") == 50
