"""What the quality figures return: frozen dataclasses, read by attribute in the pages and written
by ``procure.results.to_json`` for ``--json``. Rates are shares (0-1); ``None`` where a figure is
undefined (see ``procure.quality.stats.agreement``); intervals are ``(low, high)`` at 95%."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from procure.quality.stats import agreement as ag
from procure.quality.stats.acceptance import wilson_interval as wilson
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
    preferences: PreferenceReport | None = optional()  # preference task types only

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


# --- preference pairs (procure.quality.preferences) --------------------------------------

# Published human ceilings and LLM judges, shown beside the measured figures.


@dataclass(frozen=True)
class Anchor:
    source: str
    figure: str
    low: float
    high: float


ANCHORS = (
    Anchor(
        "InstructGPT (Ouyang et al. 2022, section 5.1)",
        "labeller-labeller agreement",
        0.726,
        0.773,
    ),
    Anchor("AlpacaEval (Dubois et al. 2023)", "human leave-one-out", 0.657, 0.657),
    Anchor("AlpacaEval (Dubois et al. 2023)", "GPT-4 judge", 0.692, 0.692),
    Anchor("MT-Bench (Zheng et al. 2023, Table 2)", "human-human, ties in", 0.63, 0.63),
    Anchor("MT-Bench (Zheng et al. 2023, Table 2)", "human-human, ties out", 0.81, 0.81),
    Anchor("MT-Bench (Zheng et al. 2023, Table 2)", "GPT-4 judge, ties in", 0.66, 0.66),
    Anchor("MT-Bench (Zheng et al. 2023, Table 2)", "GPT-4 judge, ties out", 0.85, 0.85),
)
LONGER_BASELINE_ANCHOR = Anchor(
    "AlpacaEval (Dubois et al. 2023)", "always pick the longer response", 0.622, 0.622
)


@dataclass(frozen=True)
class Rate:
    """``successes`` of ``n``, as a share with its 95% Wilson interval."""

    successes: int
    n: int
    value: float | None
    ci95: Interval | None

    @classmethod
    def of(cls, successes: int, n: int) -> Rate:
        successes, n = int(successes), int(n)
        return cls(successes, n, None if n == 0 else successes / n, interval(wilson(successes, n)))


@dataclass(frozen=True)
class PositionBias:
    """Of ``judgements`` decisive judgements with ``shown_first`` known, the share that chose
    the response shown first, and the exact binomial test against 0.5."""

    judgements: int
    first_chosen: float | None
    ci95: Interval | None
    p_value: float | None


@dataclass(frozen=True)
class LengthBias:
    """Of ``judgements`` decisive judgements of pairs of unequal length, the share that chose
    the longer response; beside it, how often "always pick the longer" agrees with the
    held-out human majorities of the ceiling, ties out (AlpacaEval's measure, as its 62.2%),
    over ``baseline_judgements`` of them, with a bootstrap interval."""

    judgements: int
    longer_chosen: float | None
    ci95: Interval | None
    longer_baseline_agreement: float | None
    longer_baseline_ci95: Interval | None
    baseline_judgements: int
    anchor: Anchor = LONGER_BASELINE_ANCHOR


@dataclass(frozen=True)
class MarginLevel:
    margin: str
    judgements: int
    agreement: float | None
    ci95: Interval | None


@dataclass(frozen=True)
class MarginCalibration:
    """Agreement of decisive judgements with the reference's decisive verdict, by stated margin
    (weakest first). ``informative``: the strongest margin's interval lies above the weakest's,
    as when margins carry signal (Touvron et al. 2023, Llama 2, Table 8)."""

    reference: str
    levels: list[MarginLevel]
    informative: bool


@dataclass(frozen=True)
class Ceiling:
    """Leave-one-out agreement on ``items`` items with three or more human judgements (see
    ``procure.quality.stats.preference.loo_agreement``), with ties in and out."""

    items: int
    with_ties: float | None
    with_ties_ci95: Interval | None
    without_ties: float | None
    without_ties_ci95: Interval | None
    anchors: tuple[Anchor, ...] = ANCHORS


@dataclass(frozen=True)
class AnnotatorPreferences:
    """One annotator's judgements. ``tie_flag`` is ``ties often`` or ``avoids ties`` when the
    annotator's interval lies wholly above or below the median annotator's tie rate (a median,
    so that one annotator who never ties does not make the others look tie-happy)."""

    annotator_id: str
    judgements: int
    tie_rate: float | None
    tie_rate_ci95: Interval | None
    tie_flag: str | None
    first_chosen: float | None
    first_chosen_ci95: Interval | None
    position_p_value: float | None
    longer_chosen: float | None
    longer_chosen_ci95: Interval | None
    loo_agreement: float | None
    loo_agreement_ci95: Interval | None


@dataclass(frozen=True)
class GroupPreferences:
    """The tie rate and biases of one group of judgements (a batch, a vendor, a week)."""

    group: str
    judgements: int
    tie_rate: Rate
    first_chosen: Rate | None
    longer_chosen: Rate | None


@dataclass(frozen=True)
class JudgeFigures:
    """The LLM judge on the pairs the humans judged: its verdicts (a pair whose verdict did not
    survive the swap is a tie) against the held-out human majorities of the ceiling, with and
    without ties, and their tie rate; its judgements' position and length bias; and swap
    consistency where it judged pairs in both orders (``None`` otherwise)."""

    items: int
    judgements: int
    agreement_with_majority: float | None
    agreement_with_majority_ci95: Interval | None
    agreement_without_ties: float | None
    agreement_without_ties_ci95: Interval | None
    tie_rate: Rate
    position_bias: PositionBias | None
    length_bias: LengthBias | None
    swap_consistency: float | None
    swap_consistency_ci95: Interval | None
    swap_tested: int


@dataclass(frozen=True)
class Triads:
    """Cyclic triads (x > y > z > x) among the fully judged triples of one prompt's responses
    (told apart by ``model_a``/``model_b``), per annotator and per prompt."""

    triads: int
    cyclic: Rate
    per_annotator: list[tuple[str, int, int]]  # (annotator, triads, cyclic)
    prompts_with_cycles: list[tuple[str, int, int]]  # (prompt, triads, cyclic), most first


@dataclass(frozen=True)
class Strength:
    model: str
    strength: float
    ci95: Interval | None
    judgements: int


@dataclass(frozen=True)
class BradleyTerry:
    """Bradley-Terry log-strengths (mean 0) of the systems that wrote the responses, per source
    (``None`` where a source's comparisons cannot be fitted), and the Spearman correlation of
    each two sources' rankings on the systems both ranked."""

    sources: dict[str, list[Strength] | None]
    rank_correlation: list[tuple[str, str, float | None]]


@dataclass(frozen=True)
class PreferenceReport:
    """``procure preferences`` and the workspace's preference section (keys in DESIGN.md)."""

    FORMAT: ClassVar[int] = 1

    items: int
    judgements: int
    annotators: int
    tie_rate: Rate
    position_bias: PositionBias | None
    length_bias: LengthBias | None
    loo_ceiling: Ceiling | None
    margin_calibration: MarginCalibration | None
    per_annotator: list[AnnotatorPreferences]
    transitivity: Triads | None
    bradley_terry: BradleyTerry | None
    judge: JudgeFigures | None
    groups: list[GroupPreferences]
