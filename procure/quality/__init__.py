"""Batch quality: agreement of label files, the report from stored labels (vendor, LLM, gold),
reviews and the disagreement queue, acceptance rules and evidence, and background fits.

The statistics themselves are pure functions in ``procure.quality.stats``.
"""

from typing import TYPE_CHECKING

from procure._lazy import lazy_front

if TYPE_CHECKING:
    from procure.quality.background import (
        RUNNING,
        claim,
        compute_dawid_skene,
        read_result,
        result_path,
    )
    from procure.quality.files import file_agreement
    from procure.quality.report import (
        add_review,
        batch_evidence,
        dawid_skene_report,
        disagreement_queue,
        quality_page,
        quality_report,
        select_labels,
        set_rule,
    )

__getattr__, __all__ = lazy_front(__name__)
