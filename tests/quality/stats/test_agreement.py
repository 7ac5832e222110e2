"""Agreement statistics against independent references on random data with missing labels.

References: scikit-learn (Cohen's and weighted kappa, precision/recall/F1), statsmodels (Fleiss'
kappa, Cohen's kappa and its asymptotic variance), krippendorff (alpha at every level),
irrCAC (Gwet's AC1 and percent agreement, Gwet's own package). Published worked examples are
doctests in procure/quality/stats/agreement.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from procure.quality.stats import agreement as ag

SEEDS = range(6)


def _ratings(
    seed: int, items: int = 300, raters: int = 4, k: int = 5, missing: float = 0.3
) -> NDArray[np.float64]:
    """A raters x items matrix of category codes 0..k-1 with NaN for missing labels, with some
    signal so statistics are away from zero."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, items)
    noisy = rng.random((raters, items)) < 0.35
    ratings = np.where(noisy, rng.integers(0, k, (raters, items)), truth).astype(np.float64)
    ratings[rng.random((raters, items)) < missing] = np.nan
    return ratings


def _counts(ratings: NDArray[np.float64], k: int) -> NDArray[np.int64]:
    counts = np.zeros((ratings.shape[1], k), dtype=np.int64)
    for row in ratings:
        seen = ~np.isnan(row)
        np.add.at(counts, (np.flatnonzero(seen), row[seen].astype(int)), 1)
    return counts


def _confusion(a: NDArray[np.int64], b: NDArray[np.int64], k: int) -> NDArray[np.int64]:
    confusion = np.zeros((k, k), dtype=np.int64)
    np.add.at(confusion, (a, b), 1)
    return confusion


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval", "ratio"])
def test_alpha_matches_krippendorff_package(seed: int, level: str) -> None:
    krippendorff = pytest.importorskip("krippendorff")
    ratings = _ratings(seed)
    values = np.array([1.0, 2.0, 3.0, 5.0, 8.0])  # unequal spacing exercises interval/ratio
    expected = krippendorff.alpha(
        reliability_data=values[np.nan_to_num(ratings, nan=0).astype(int)]
        * np.where(np.isnan(ratings), np.nan, 1),
        level_of_measurement=level,
        value_domain=values,
    )
    assert ag.krippendorff_alpha(_counts(ratings, 5), level, values) == pytest.approx(
        expected, abs=1e-9
    )


@pytest.mark.parametrize("seed", SEEDS)
def test_fleiss_kappa_matches_statsmodels(seed: int) -> None:
    inter_rater = pytest.importorskip("statsmodels.stats.inter_rater")
    counts = _counts(_ratings(seed, missing=0.0), 5)
    assert ag.fleiss_kappa(counts) == pytest.approx(
        inter_rater.fleiss_kappa(counts, method="fleiss"), abs=1e-9
    )


def test_fleiss_kappa_needs_equal_label_counts() -> None:
    assert ag.fleiss_kappa(_counts(_ratings(0), 5)) is None


@pytest.mark.parametrize("seed", SEEDS)
def test_gwet_ac1_and_percent_agreement_match_irrcac(seed: int) -> None:
    pd = pytest.importorskip("pandas")
    raw = pytest.importorskip("irrCAC.raw")
    ratings = _ratings(seed, k=4)
    frame = pd.DataFrame(ratings.T)
    result = raw.CAC(frame, categories=[0.0, 1.0, 2.0, 3.0], digits=15).gwet()["est"]
    counts = _counts(ratings, 4)
    assert ag.gwet_ac1(counts) == pytest.approx(float(result["coefficient_value"]), abs=1e-9)
    assert ag.percent_agreement(counts) == pytest.approx(float(result["pa"]), abs=1e-9)


@pytest.mark.parametrize("seed", SEEDS)
def test_two_source_statistics_match_sklearn_and_statsmodels(seed: int) -> None:
    metrics = pytest.importorskip("sklearn.metrics")
    inter_rater = pytest.importorskip("statsmodels.stats.inter_rater")
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 4, 500)
    b = np.where(rng.random(500) < 0.6, a, rng.integers(0, 4, 500))
    confusion = _confusion(a, b, 4)
    labels = [0, 1, 2, 3]
    assert ag.cohen_kappa(confusion) == pytest.approx(
        metrics.cohen_kappa_score(a, b, labels=labels), abs=1e-9
    )
    for weights in ("linear", "quadratic"):
        expected = metrics.cohen_kappa_score(a, b, labels=labels, weights=weights)
        assert ag.weighted_kappa(confusion, weights) == pytest.approx(expected, abs=1e-9)
    reference = inter_rater.cohens_kappa(confusion)
    estimate = ag.cohen_kappa_ci(confusion)
    assert estimate is not None
    assert estimate.kappa == pytest.approx(reference.kappa, abs=1e-9)
    assert estimate.standard_error == pytest.approx(reference.std_kappa, abs=1e-9)
    assert (estimate.ci95.low, estimate.ci95.high) == pytest.approx(
        (reference.kappa_low, reference.kappa_upp), abs=1e-9
    )
    precision, recall, f1, support = metrics.precision_recall_fscore_support(
        a, b, labels=labels, zero_division=0
    )
    per_class = ag.class_metrics(confusion)
    assert per_class.precision == pytest.approx(list(precision), abs=1e-9)
    assert per_class.recall == pytest.approx(list(recall), abs=1e-9)
    assert per_class.f1 == pytest.approx(list(f1), abs=1e-9)
    assert per_class.support == list(support)


def test_two_source_ac1_equals_the_many_annotator_form() -> None:
    rng = np.random.default_rng(7)
    a = rng.integers(0, 3, 200)
    b = np.where(rng.random(200) < 0.7, a, rng.integers(0, 3, 200))
    counts = np.zeros((200, 3), dtype=np.int64)
    np.add.at(counts, (np.arange(200), a), 1)
    np.add.at(counts, (np.arange(200), b), 1)
    assert ag.confusion_gwet_ac1(_confusion(a, b, 3)) == pytest.approx(
        ag.gwet_ac1(counts), abs=1e-12
    )
    assert ag.confusion_percent_agreement(_confusion(a, b, 3)) == pytest.approx(
        ag.percent_agreement(counts), abs=1e-12
    )


def test_undefined_results_are_none() -> None:
    unanimous = np.array([[3, 0], [2, 0]])
    assert ag.percent_agreement(unanimous) == 1.0
    assert ag.fleiss_kappa(np.array([[3, 0], [3, 0]])) is None  # chance agreement is 1
    assert ag.krippendorff_alpha(unanimous) is None  # no variation: expected disagreement is 0
    assert ag.krippendorff_alpha(np.array([[1, 0], [0, 1]])) is None  # nothing pairable
    assert ag.percent_agreement(np.array([[1, 0]])) is None
    assert ag.cohen_kappa(np.zeros((2, 2), dtype=np.int64)) is None
    assert ag.cohen_kappa(np.array([[5, 0], [0, 0]])) is None
    metrics = ag.class_metrics(np.array([[5, 0], [0, 0]]))
    assert metrics.precision == [1.0, None] and metrics.recall == [1.0, None]


def test_invariance_to_item_order_and_relabelling() -> None:
    counts = _counts(_ratings(3), 5)
    shuffled = counts[np.random.default_rng(1).permutation(len(counts))]
    relabelled = counts[:, [4, 2, 0, 1, 3]]
    for statistic in (ag.percent_agreement, ag.gwet_ac1, ag.krippendorff_alpha):
        assert statistic(shuffled) == pytest.approx(statistic(counts), abs=1e-12)
        assert statistic(relabelled) == pytest.approx(statistic(counts), abs=1e-12)
    a, b = np.random.default_rng(2).integers(0, 3, (2, 100))
    confusion = _confusion(a, b, 3)
    assert ag.cohen_kappa(confusion.T) == pytest.approx(ag.cohen_kappa(confusion), abs=1e-12)


def test_alpha_bootstrap_interval_covers_the_estimate_and_narrows_with_items() -> None:
    small = _counts(_ratings(4, items=100), 5)
    large = _counts(_ratings(4, items=3000), 5)
    alpha = ag.krippendorff_alpha(large)
    wide = ag.alpha_bootstrap(small)
    narrow = ag.alpha_bootstrap(large)
    assert wide is not None and narrow is not None and alpha is not None
    assert narrow.low < alpha < narrow.high
    assert narrow.high - narrow.low < (wide.high - wide.low) / 3
    assert ag.alpha_bootstrap(large, seed=5) != narrow  # a different seed, a different draw
    assert ag.alpha_bootstrap(large) == narrow  # reproducible


def test_alpha_bootstrap_matches_a_direct_item_resampling() -> None:
    """The pattern multinomial is the same distribution as resampling items one by one."""
    counts = _counts(_ratings(5, items=150), 5)
    pairable = counts[counts.sum(axis=1) >= 2]
    rng = np.random.default_rng(11)
    direct = [
        ag.krippendorff_alpha(pairable[rng.integers(0, len(pairable), len(pairable))])
        for _ in range(3000)
    ]
    low, high = np.percentile(np.array(direct, dtype=float), [2.5, 97.5])
    interval = ag.alpha_bootstrap(counts, draws=3000)
    assert interval is not None
    assert interval.low == pytest.approx(low, abs=0.02) and interval.high == pytest.approx(
        high, abs=0.02
    )


def test_frequency_weighted_tables_equal_the_expanded_items() -> None:
    counts = _counts(_ratings(8, items=400), 5)
    patterns, inverse = np.unique(counts, axis=0, return_inverse=True)
    frequency = np.bincount(inverse.ravel())
    for statistic in (ag.percent_agreement, ag.gwet_ac1, ag.krippendorff_alpha):
        expected = statistic(counts)
        assert statistic(patterns, frequency=frequency) == pytest.approx(expected, abs=1e-12)
    assert ag.alpha_bootstrap(patterns, frequency=frequency) == ag.alpha_bootstrap(counts)
    equal = _counts(_ratings(8, missing=0.0), 5)
    patterns, inverse = np.unique(equal, axis=0, return_inverse=True)
    expected_kappa = ag.fleiss_kappa(equal)
    assert ag.fleiss_kappa(patterns, np.bincount(inverse.ravel())) == pytest.approx(
        expected_kappa, abs=1e-12
    )


def test_many_labels_do_not_overflow_the_pattern_keys() -> None:
    """40 labels and 3 annotators: base-4 keys would need 80 bits (a regression test)."""
    krippendorff = pytest.importorskip("krippendorff")
    ratings = _ratings(9, items=300, raters=3, k=40)
    expected = krippendorff.alpha(reliability_data=ratings, level_of_measurement="nominal")
    assert ag.krippendorff_alpha(_counts(ratings, 40)) == pytest.approx(expected, abs=1e-9)


def test_the_kappa_interval_stays_within_minus_one_and_one() -> None:
    """On few items near perfect agreement the normal approximation passes 1 (the page showed
    "0.398 to 1.014"); kappa cannot, so the interval is cut there, the estimate and its
    standard error left as statsmodels gives them."""
    inter_rater = pytest.importorskip("statsmodels.stats.inter_rater")
    confusion = np.array([[9, 1], [0, 10]])
    reference = inter_rater.cohens_kappa(confusion)
    assert reference.kappa_upp > 1  # the uncut interval
    estimate = ag.cohen_kappa_ci(confusion)
    assert estimate is not None
    assert estimate.kappa == pytest.approx(reference.kappa, abs=1e-9)
    assert estimate.standard_error == pytest.approx(reference.std_kappa, abs=1e-9)
    assert estimate.ci95.low == pytest.approx(reference.kappa_low)
    assert estimate.ci95.high == 1.0
