"""Derived figures cached across reruns, keyed by the workspace and its data version (which
every write advances), so a page rerun reads them instead of recomputing over the labels."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Any

import streamlit as st

from procure.economics import measured_scenario
from procure.quality import BatchEvidence, QualityPage, batch_evidence, quality_page, select_labels
from procure.records import data_version
from procure.ui.state import session, workspace


def version() -> int:
    with session() as db:
        return data_version(session=db)


@st.cache_data(max_entries=32, show_spinner=False)
def _page(
    database: str, version: int, task_key: str, batch_ids: tuple[int, ...] | None, limit: int
) -> QualityPage:
    with session() as db:
        selection = select_labels(
            task_key, batch_ids=list(batch_ids) if batch_ids else None, session=db
        )
        return quality_page(workspace().settings.label_store, selection, limit, session=db)


@st.cache_data(max_entries=64, show_spinner=False)
def _evidence(database: str, version: int, batch_id: int) -> BatchEvidence:
    with session() as db:
        return batch_evidence(workspace().settings.label_store, batch_id, session=db)


def quality(
    task_key: str, batch_ids: tuple[int, ...] | None = None, limit: int = 100
) -> QualityPage:
    """The quality report and the disagreement queue of a task type, for some of its batches
    or all (copies; cached until the workspace changes)."""
    return _page(workspace().settings.database_label, version(), task_key, batch_ids, limit)


def evidence(batch_id: int) -> BatchEvidence:
    """A batch's acceptance evidence and recommendation."""
    return _evidence(workspace().settings.database_label, version(), batch_id)


@st.cache_data(max_entries=16, show_spinner=False)
def _measured(
    database: str, version: int, task_key: str, as_of: date
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    with session() as db:
        measured = measured_scenario(workspace().settings.label_store, task_key, as_of, session=db)
    return measured.scenario.model_dump(), [asdict(i) for i in measured.inputs]


def measured(task_key: str, as_of: date) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A task type's measured economics scenario (as a dict) and where each input came from."""
    return _measured(workspace().settings.database_label, version(), task_key, as_of)
