"""Labelling with an LLM through any OpenAI-compatible endpoint: prompts, estimates, jobs with a
budget cap, stop and resume, and the labels stored as an LLM run."""

from typing import TYPE_CHECKING

from procure._lazy import lazy_front

if TYPE_CHECKING:
    from procure.llm.client import RunOptions
    from procure.llm.endpoints import (
        Endpoint,
        base_url_for,
        hosted_endpoint,
        provider_endpoint,
    )
    from procure.llm.estimates import (
        Estimate,
        JobSource,
        Plan,
        estimate,
        job_source,
        model_price,
        plan,
    )
    from procure.llm.jobs import (
        DuplicateJobError,
        finished_duplicate,
        get_job,
        labelled_batches,
        list_jobs,
        prepare_job,
        request_stop,
        run_job,
        run_job_recording_failure,
    )
    from procure.llm.listing import JobRow, Problem, job_rows, problems
    from procure.llm.prompts import (
        DEFAULT_VERSION,
        build_prompt,
        save_template,
        task_type_of,
        template,
        templates,
    )

__getattr__, __all__ = lazy_front(__name__)
