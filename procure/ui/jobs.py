"""LLM labelling jobs started from a page run in a background thread, so the page stays
responsive; progress and the stop request go through the job's record, not shared memory."""

from __future__ import annotations

import os
import threading

import streamlit as st

from procure import llm_labeller as llm
from procure.ui.state import session, workspace

KEY_NAME = "OPENAI_API_KEY"


def api_key() -> tuple[str, str]:
    """The API key and where it was found: Streamlit secrets, else the environment."""
    try:
        secret = st.secrets.get(KEY_NAME)
    except Exception:
        secret = None
    if secret:
        return str(secret), "Streamlit secrets"
    value = os.environ.get(KEY_NAME, "")
    return value, "the environment" if value else ""


def launch(
    task_key: str, source: llm.JobSource, options: llm.RunOptions, prompt_version: str | None
) -> int:
    """Record the job (new or resumed), then run it in a background thread; returns its id."""
    settings = workspace().settings
    with session() as db:
        job, prompt, _ = llm.prepare_job(
            db, settings.label_store, task_key, source, options, prompt_version
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
