"""What the quality figures return: frozen dataclasses, read by attribute in the pages and written
by ``procure.results.to_json`` for ``--json``. Rates are shares (0-1); ``None`` where a figure is
undefined (see ``procure.quality.stats.agreement``); intervals are ``(low, high)`` at 95%."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from procure.quality.stats import agreement as ag
from procure.results import optional

if TYPE_CHECKING:  # the file agreement reads no records: sqlmodel stays unloaded
    from procure.labels.selection import LlmRunChoice

Interval = tuple[float, float]


def interval(estimate: ag.Interval | None) -> Interval | None:
    return None if estimate is None else (estimate.low, estimate.high)


@dataclass(frozen=True)
class Agreement:
    """Two sources compared item by item: the items both labelled and the agreement figures."""

    items: int
    percent_agreement: float | None
    cohen_kappa: float | None
    cohen_kappa_ci95: Interval | None
    gwet_ac1: float | None

    @classmethod
    def of(cls, confusion: ag.IntArray) -> Agreement:
        estimate = ag.cohen_kappa_ci(confusion)
        return cls(
            items=int(confusion.sum()),
            percent_agreement=ag.confusion_percent_agreement(confusion),
            cohen_kappa=None if estimate is None else estimate.kappa,
            cohen_kappa_ci95=None if estimate is None else interval(estimate.ci95),
            gwet_ac1=ag.confusion_gwet_ac1(confusion),
        )


@dataclass(frozen=True)
class ClassFigures:
    precision: float | None
    recall: float | None
    f1: float | None
    support: int


@dataclass(frozen=True)
class Confusion:
    """Counts with rows the first source and columns the second, in ``labels`` order."""

    labels: list[str]
    counts: list[list[int]]


@dataclass(frozen=True)
class Comparison:
    """Agreement of two sources with the confusion matrix and per-class figures (the second
    source as the reference); the weighted kappa only for ordinal labels."""

    items: int
    percent_agreement: float | None
    cohen_kappa: float | None
    cohen_kappa_ci95: Interval | None
    weighted_kappa: float | None
    gwet_ac1: float | None
    confusion: Confusion
    per_class: dict[str, ClassFigures]


@dataclass(frozen=True)
class Ties:
    """Items whose consensus is a tie (several labels equally most frequent), of ``items``."""

    items: int
    tied: int
    share: float | None

    @classmethod
    def of(cls, items: int, tied: int) -> Ties:
        return cls(items, tied, None if items == 0 else tied / items)


@dataclass(frozen=True)
class TiePolicy:
    """What the consensus figures do with ties: leave them out (``tie_break`` empty) or give each
    to the tied label that comes first in ``tie_break``."""

    tie_break: list[str]

    @property
    def description(self) -> str:
        if not self.tie_break:
            return "ties are left out of the consensus comparisons"
        return f"a tie goes to the tied label first in: {', '.join(self.tie_break)}"


@dataclass(frozen=True)
class TieGroup(Ties):
    """Ties among the items of one batch with one number of labels (annotators) per item."""

    batch_id: int
    batch_ref: str
    labels_per_item: int


@dataclass(frozen=True)
class FileAgreement:
    """``procure agreement``: FILE's annotators among themselves and, with ``--against``, FILE's
    per-item consensus against FILE2's."""

    items: int
    annotators: int
    ratings: int
    level: str
    labels: list[str]
    percent_agreement: float | None
    krippendorff_alpha: float | None
    krippendorff_alpha_ci95: Interval | None
    fleiss_kappa: float | None
    gwet_ac1: float | None
    cohen_kappa: float | None
    ties: Ties
    tie_policy: TiePolicy
    against: Comparison | None = optional()
    against_ties: Ties | None = optional()


@dataclass(frozen=True)
class HumanCeiling:
    """The vendor's own annotators' agreement on the items they share."""

    items: int
    percent_agreement: float | None
    krippendorff_alpha: float | None
    gwet_ac1: float | None
    fleiss_kappa: float | None


@dataclass(frozen=True)
class AnnotatorFigures:
    """An annotator's volume, median seconds per judgement (where files record ``duration_s``)
    and agreement with the LLM and with gold."""

    annotator: str
    labels: int
    median_seconds: float | None
    vs_llm: Agreement | None = optional()
    vs_gold: Agreement | None = optional()


@dataclass(frozen=True)
class WeekAgreement(Agreement):
    week: int


@dataclass(frozen=True)
class TestRetest(Agreement):
    """A repeated LLM run (same model and prompt version) against its first run."""

    model: str
    prompt_version: str
    runs: tuple[int, int]


@dataclass(frozen=True)
class QualityReport:
    """Everything the Labels & quality page and ``procure quality --json`` show for a selection:
    the human ceiling, the pairs (``vendor_vs_llm``, ``vendor_vs_gold``, ``llm_vs_gold``), the
    annotators, the weekly trend of vendor vs LLM, and the LLM's test-retest."""

    task_type: str
    labels: list[str]
    vendor_label_sets: list[int]
    llm_label_set: int | None
    gold_label_sets: list[int]
    human: HumanCeiling | None
    pairs: dict[str, Comparison]
    annotators: list[AnnotatorFigures]
    weeks: list[WeekAgreement]
    llm_test_retest: list[TestRetest]
    tie_policy: TiePolicy
    ties: list[TieGroup]  # the vendor's, by batch and labels per item
    llm: dict[str, Any] | None = optional()  # the LLM run's record, when one is compared
    llm_run: LlmRunChoice | None = optional()  # which run, and how much of the selection it covers

    @property
    def tied(self) -> Ties:
        """The vendor's ties over every batch of the selection."""
        return Ties.of(sum(t.items for t in self.ties), sum(t.tied for t in self.ties))


@dataclass(frozen=True)
class AnnotatorReliability:
    annotator: str
    estimated_accuracy: float
    confusion: list[list[float]]  # rows the true class, columns the annotator's label


@dataclass(frozen=True)
class GoldCheck:
    """How often Dawid-Skene's labels and the plain majority agree with gold, on ``items``; an
    item whose majority is an unsettled tie (``majority_tied`` of them) counts as a miss."""

    items: int
    dawid_skene: float | None
    majority: float | None
    majority_tied: int


@dataclass(frozen=True)
class DawidSkeneReport:
    """Dawid-Skene's estimates; ``converged`` is false when EM stopped at its iteration cap
    (``procure.quality.stats.dawid_skene``) before the posteriors settled: not a result to use."""

    iterations: int
    converged: bool
    priors: dict[str, float]
    annotators: list[AnnotatorReliability]
    against_gold: GoldCheck | None

    # The stored result's shape and meaning: bump it when either changes, so that results
    # stored by an older procure are computed again rather than misread.
    FORMAT: ClassVar[int] = 2  # 2: the majority counts an unsettled tie as wrong

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DawidSkeneReport:
        """Back from ``to_json`` (a background fit stores its result as a JSON file)."""
        gold = data["against_gold"]
        return cls(
            iterations=data["iterations"],
            converged=data["converged"],
            priors=data["priors"],
            annotators=[AnnotatorReliability(**a) for a in data["annotators"]],
            against_gold=None if gold is None else GoldCheck(**gold),
        )


@dataclass(frozen=True)
class QueueItem:
    """An item to review: the vendor's consensus is a ``tie`` (``vendor_consensus`` is then
    ``None`` unless a tie-break settled it) or a ``disagreement`` with the LLM's label."""

    item_id: str
    reason: str
    vendor_consensus: str | None
    llm_label: str | None
    vendor_votes: str
    llm_confidence: float | None
    text: str | None


@dataclass(frozen=True)
class ReviewQueue:
    """The first items to review and how many there are in all."""

    items: list[QueueItem]
    total: int


@dataclass(frozen=True)
class ReviewRecord:
    item_id: str
    label: str
    reviewer: str
    note: str
    reviewed_at: datetime
    counts: bool  # the item's newest review: the one that is gold


@dataclass(frozen=True)
class ReviewSummary:
    """A task type's reviews, and the agreement of reviewers on the items several named
    reviewers reviewed (the mean share of agreeing pairs of their verdicts)."""

    reviews: list[ReviewRecord]
    items: int
    reviewers: int  # named ones
    items_with_several_reviewers: int
    reviewer_agreement: float | None


@dataclass(frozen=True)
class QualityPage:
    """The report and the review queue from one load of the labels."""

    report: QualityReport
    queue: ReviewQueue


@dataclass(frozen=True)
class GoldMatches:
    """A source's consensus on the gold items it labelled: how many, how many equal gold, and
    how many it left tied (counted as not equal)."""

    items: int
    matches: int
    tied: int


@dataclass(frozen=True)
class AcceptanceRuleFigures:
    max_error_rate: float
    min_reviewed: int
    default: bool  # no rule is set: 5% with 30 items reviewed


@dataclass(frozen=True)
class BatchEvidence:
    """A batch's reviewed items and errors against gold and reviews, its rule and the advice."""

    batch_id: int
    ref: str
    quantity: int
    status: str
    labelled: bool
    rule: AcceptanceRuleFigures
    reviewed: int
    errors: int
    tied: int  # errors that are items the vendor left tied (no tie-break settles them)
    error_rate: float | None
    error_rate_ci95: Interval | None
    recommendation: str
    suggested_accepted_quantity: int | None
    reason: str
