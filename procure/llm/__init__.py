"""Labelling with an LLM through any OpenAI-compatible endpoint: prompts, estimates, jobs with a
budget cap, stop and resume, and the labels stored as an LLM run."""

from typing import TYPE_CHECKING

from procure._lazy import lazy_front

if TYPE_CHECKING:
    from procure.llm.jobs import (
        DEFAULT_VERSION,
        JobSource,
        RunOptions,
        build_prompt,
        estimate,
        job_source,
        labelled_batches,
        list_jobs,
        model_price,
        prepare_job,
        request_stop,
        run_job,
        run_job_recording_failure,
        save_template,
        task_type_of,
        template,
        templates,
    )

__getattr__, __all__ = lazy_front(__name__)
