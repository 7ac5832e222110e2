"""Derived figures cached across reruns, keyed by the workspace and its data version (which
every write advances), so a page rerun reads them instead of recomputing over the labels."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Any

import streamlit as st

from procure.economics import MeasuredRun, llm_run_options, measured_scenario
from procure.quality import (
    BatchEvidence,
    LlmRunChoice,
    QualityPage,
    ReviewSummary,
    batch_evidence,
    llm_run_choices,
    quality_page,
    review_summary,
    select_labels,
)
from procure.records import data_version
from procure.ui.state import session, workspace


def version() -> int:
    with session() as db:
        return data_version(session=db)


@st.cache_data(max_entries=32, show_spinner=False)
def _page(
    database: str,
    version: int,
    task_key: str,
    batch_ids: tuple[int, ...] | None,
    llm_run: int | None,
    limit: int,
) -> QualityPage:
    choices = _llm_runs(database, version, task_key, batch_ids)  # cached: computed once
    with session() as db:
        selection = select_labels(
            task_key,
            batch_ids=list(batch_ids) if batch_ids else None,
            llm_set_id=llm_run,
            llm_choices=choices,
            store=workspace().settings.label_store,
            session=db,
        )
        return quality_page(workspace().settings.label_store, selection, limit, session=db)


@st.cache_data(max_entries=32, show_spinner=False)
def _llm_runs(
    database: str, version: int, task_key: str, batch_ids: tuple[int, ...] | None
) -> list[LlmRunChoice]:
    store = workspace().settings.label_store
    with session() as db:
        selection = select_labels(
            task_key,
            batch_ids=list(batch_ids) if batch_ids else None,
            store=store,
            with_llm=False,
            session=db,
        )
        return llm_run_choices(store, selection, session=db)


def llm_runs(task_key: str, batch_ids: tuple[int, ...] | None = None) -> list[LlmRunChoice]:
    """The LLM runs a task type's selection can be compared with, the default (the run that
    labels the most selected items) first."""
    return _llm_runs(workspace().settings.database_label, version(), task_key, batch_ids)


@st.cache_data(max_entries=16, show_spinner=False)
def _reviews(database: str, version: int, task_key: str) -> ReviewSummary:
    with session() as db:
        return review_summary(task_key, session=db)


def reviews(task_key: str) -> ReviewSummary:
    """A task type's reviews and the reviewers' agreement."""
    return _reviews(workspace().settings.database_label, version(), task_key)


@st.cache_data(max_entries=64, show_spinner=False)
def _evidence(database: str, version: int, batch_id: int) -> BatchEvidence:
    with session() as db:
        return batch_evidence(workspace().settings.label_store, batch_id, session=db)


def quality(
    task_key: str,
    batch_ids: tuple[int, ...] | None = None,
    llm_run: int | None = None,
    limit: int = 100,
) -> QualityPage:
    """The quality report and the review queue of a task type, for some of its batches or all,
    against an LLM run (default: the one covering the most selected items); copies, cached
    until the workspace changes."""
    return _page(
        workspace().settings.database_label, version(), task_key, batch_ids, llm_run, limit
    )


def evidence(batch_id: int) -> BatchEvidence:
    """A batch's acceptance evidence and recommendation."""
    return _evidence(workspace().settings.database_label, version(), batch_id)


@st.cache_data(max_entries=16, show_spinner=False)
def _measured(
    database: str, version: int, task_key: str, as_of: date, llm_runs: tuple[int, ...]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    with session() as db:
        measured = measured_scenario(
            workspace().settings.label_store, task_key, as_of, llm_runs=llm_runs, session=db
        )
    return measured.scenario.model_dump(), [asdict(i) for i in measured.inputs]


def measured(
    task_key: str, as_of: date, llm_runs: tuple[int, ...] = ()
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A task type's measured economics scenario (as a dict) and where each input came from,
    the LLMs measured from ``llm_runs`` (default: each model's run with the most gold items
    among those whose cost is known)."""
    return _measured(workspace().settings.database_label, version(), task_key, as_of, llm_runs)


@st.cache_data(max_entries=16, show_spinner=False)
def _economics_runs(database: str, version: int, task_key: str) -> list[MeasuredRun]:
    with session() as db:
        return llm_run_options(workspace().settings.label_store, task_key, session=db)


def economics_runs(task_key: str) -> list[MeasuredRun]:
    """The LLM runs Economics can measure a task type's models from (``llm_run_options``)."""
    return _economics_runs(workspace().settings.database_label, version(), task_key)
