"""Long work started from a page runs in a background thread, so the page stays responsive:
LLM labelling jobs (progress and the stop request go through the job's record) and Dawid-Skene
fits (the result is a file named by the data version). Nothing is kept in shared memory."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import streamlit as st

from procure import llm, quality
from procure.ui import cached
from procure.ui.state import session, workspace

KEY_NAME = "OPENAI_API_KEY"


def api_key(name: str = KEY_NAME) -> tuple[str, str]:
    """The API key kept under ``name`` (the provider's usual variable) and where it was found:
    Streamlit secrets, else the environment."""
    try:
        secret = st.secrets.get(name)
    except Exception:
        secret = None
    if secret:
        return str(secret), "Streamlit secrets"
    value = os.environ.get(name, "")
    return value, "the environment" if value else ""


def launch(
    task_key: str, source: llm.JobSource, options: llm.RunOptions, prompt_version: str | None
) -> int:
    """Record the job (new or resumed), then run it in a background thread; returns its id."""
    settings = workspace().settings
    with session(read_only=False) as db:
        job, prompt, _ = llm.prepare_job(
            settings.label_store, task_key, source, options, prompt_version, session=db
        )
        job_id = job.id or 0
    threading.Thread(
        target=llm.run_job_recording_failure,
        args=(workspace().engine, settings.label_store, settings.llm_jobs, job_id, prompt),
        kwargs={"items": source.items, "options": options},
        name=f"procure-llm-job-{job_id}",
        daemon=True,
    ).start()
    return job_id


def dawid_skene_path(task_key: str, batch_ids: tuple[int, ...] | None) -> Path:
    """Where the Dawid-Skene estimate of this selection at the current data version goes."""
    return quality.result_path(
        workspace().settings.home,
        cached.version(),
        f"dawid_skene-f{quality.DawidSkeneReport.FORMAT}",
        [task_key, batch_ids],
    )


def start_dawid_skene(task_key: str, batch_ids: tuple[int, ...] | None) -> None:
    """Fit Dawid-Skene in a background thread, unless it is under way already."""
    path = dawid_skene_path(task_key, batch_ids)
    if not quality.claim(path):
        return
    settings = workspace().settings
    threading.Thread(
        target=quality.compute_dawid_skene,
        args=(
            workspace().engine,
            settings.label_store,
            task_key,
            list(batch_ids or []) or None,
            path,
        ),
        name="procure-dawid-skene",
        daemon=True,
    ).start()
