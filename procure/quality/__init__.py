"""Batch quality: agreement of label files, the report from stored labels (vendor, LLM, gold),
reviews and the disagreement queue, acceptance rules and evidence, and background fits.

The statistics themselves are pure functions in ``procure.quality.stats``.
"""

from typing import TYPE_CHECKING

from procure._lazy import lazy_front

if TYPE_CHECKING:
    from procure.labels.selection import (  # re-exported: the usual entry
        LlmRunChoice,
        Selection,
        llm_run_choices,
        select_labels,
    )
    from procure.quality.acceptance import batch_evidence, set_rule
    from procure.quality.background import (
        RUNNING,
        claim,
        compute_dawid_skene,
        read_result,
        result_path,
    )
    from procure.quality.files import file_agreement
    from procure.quality.preferences import file_preferences
    from procure.quality.reliability import dawid_skene_report
    from procure.quality.report import quality_report
    from procure.quality.results import (
        AnnotatorFigures,
        BatchEvidence,
        Comparison,
        DawidSkeneReport,
        FileAgreement,
        PreferenceReport,
        QualityPage,
        QualityReport,
        QueueItem,
        ReviewQueue,
        ReviewSummary,
        TieGroup,
        TiePolicy,
        Ties,
        WeekAgreement,
    )
    from procure.quality.reviews import (
        add_review,
        blind_json,
        disagreement_queue,
        quality_page,
        queue_rows,
        review_rows,
        review_summary,
    )

__getattr__, __all__ = lazy_front(__name__)
