"""Label files: readers and checks, the annotation tools' adapters, and the Parquet label store
(immutable files, one per batch, LLM run or gold set, queried in place by DuckDB)."""

from typing import TYPE_CHECKING

from procure._lazy import lazy_front

if TYPE_CHECKING:
    from procure.kinds import Adapter
    from procure.labels.adapters import convert, fields
    from procure.labels.files import preview
    from procure.labels.selection import (
        BatchFilter,
        LlmRunChoice,
        Selection,
        batch_filter,
        batch_vendors,
        batches_of,
        llm_run_choices,
        select_labels,
    )
    from procure.labels.store import (
        LlmRunSpec,
        import_labels,
        label_sets,
        retire_label_set,
    )

__getattr__, __all__ = lazy_front(__name__)
