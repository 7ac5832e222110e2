"""Preference statistics against independent references: SciPy (the exact binomial test,
Spearman's rho, a direct maximum-likelihood fit), statsmodels (Wilson intervals), choix
(Bradley-Terry), a plain loop over judgements with random tie-breaks (leave-one-out), and a
hand-computed example."""

from __future__ import annotations

import choix
import numpy as np
import pytest
from scipy import optimize, stats
from statsmodels.stats.proportion import proportion_confint

from procure.quality.results import Rate
from procure.quality.stats import preference as pf

SEEDS = range(5)


@pytest.mark.parametrize("seed", SEEDS)
def test_binomial_test_matches_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(40):
        n = int(rng.integers(1, 3000))
        k = int(rng.integers(0, n + 1))
        p = float(rng.choice([0.5, 0.3, 0.75]))
        expected = stats.binomtest(k, n, p).pvalue
        assert pf.binomial_test(k, n, p) == pytest.approx(expected, rel=1e-6, abs=1e-12)


def test_binomial_test_of_nothing_is_undefined() -> None:
    assert pf.binomial_test(0, 0) is None


@pytest.mark.parametrize("seed", SEEDS)
def test_rate_interval_is_wilsons(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(20):
        n = int(rng.integers(1, 500))
        k = int(rng.integers(0, n + 1))
        rate = Rate.of(k, n)
        assert rate.value == k / n
        assert rate.ci95 == pytest.approx(proportion_confint(k, n, method="wilson"), abs=1e-12)


def _votes(items: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Items' vote lists (0 A, 1 B, 2 tie) as (A, B, tie) count patterns, one item each."""
    counts = np.array([[votes.count(v) for v in range(3)] for votes in items], dtype=np.int64)
    return counts, np.ones(len(items), dtype=np.int64)


def test_leave_one_out_hand_computed() -> None:
    """Four items (0 = A, 1 = B, 2 = tie), worked by hand, with ties in:

    - A A B: each A meets the others' A-B tie (1/2 each), the B meets A (0): 1 of 3;
    - A B tie: every judgement meets a majority tied between the two others' votes: 0 of 3;
    - A A A B: each A meets A (1), the B meets A (0): 3 of 4;
    - A B: two judgements only, not counted.

    So 4 of 10 = 0.4. Without ties the tie judgement and tie vote drop: 1 + 0 + 3 of 3 + 2 + 4
    = 4/9. The judge says A, tie, B on the first three: with ties, item 1 gives 1/2 + 1/2 + 1,
    item 2 gives 1/2 + 1/2 + 0, item 3 gives 0: 3 of 10; without ties its tie on item 2
    drops out: 2 of 7.
    """
    counts, frequency = _votes([[0, 0, 1], [0, 1, 2], [0, 0, 0, 1], [0, 1]])
    judge = np.array([0, 2, 1, -1])
    with_ties = pf.loo_agreement(counts, frequency, judge, with_ties=True)
    without = pf.loo_agreement(counts, frequency, judge, with_ties=False)
    assert with_ties.items == 3
    assert with_ties.humans == pytest.approx(0.4)
    assert with_ties.judge == pytest.approx(0.3)
    assert without.humans == pytest.approx(4 / 9)
    assert without.judge == pytest.approx(2 / 7)


def _loo_by_simulation(items: list[list[int]], with_ties: bool, rng: np.random.Generator) -> float:
    """The AlpacaEval procedure itself: each judgement against the others' majority, a tied
    majority broken by a random draw."""
    hits = total = 0
    for votes in items:
        if len(votes) < 3:
            continue
        for i, own in enumerate(votes):
            others = [v for j, v in enumerate(votes) if j != i and (with_ties or v != 2)]
            if (not with_ties and own == 2) or not others:
                continue
            tally = {v: others.count(v) for v in set(others)}
            top = max(tally.values())
            leaders = sorted(v for v, n in tally.items() if n == top)
            hits += int(leaders[rng.integers(len(leaders))] == own)
            total += 1
    return hits / total


@pytest.mark.parametrize("with_ties", [True, False])
def test_leave_one_out_is_the_expectation_of_random_tie_breaks(with_ties: bool) -> None:
    rng = np.random.default_rng(7)
    items = [list(rng.choice(3, int(rng.integers(3, 6)), p=[0.45, 0.4, 0.15])) for _ in range(400)]
    counts, frequency = _votes(items)
    expected = pf.loo_agreement(counts, frequency, with_ties=with_ties).humans
    draws = [_loo_by_simulation(items, with_ties, rng) for _ in range(200)]
    assert expected == pytest.approx(np.mean(draws), abs=3 * np.std(draws) / np.sqrt(200) + 1e-9)


def _wins(rng: np.random.Generator, strengths: np.ndarray, games: int) -> np.ndarray:
    k = len(strengths)
    wins = np.zeros((k, k), dtype=np.int64)
    for _ in range(games):
        i, j = rng.choice(k, 2, replace=False)
        if rng.random() < 1 / (1 + np.exp(strengths[j] - strengths[i])):
            wins[i, j] += 1
        else:
            wins[j, i] += 1
    return wins


@pytest.mark.parametrize("seed", SEEDS)
def test_bradley_terry_matches_choix_and_a_direct_mle(seed: int) -> None:
    rng = np.random.default_rng(seed)
    wins = _wins(rng, rng.normal(0, 1, 5), 600)
    fit = pf.bradley_terry(wins)
    assert fit is not None
    data = [(i, j) for i in range(5) for j in range(5) for _ in range(wins[i, j])]
    reference = choix.ilsr_pairwise(5, data, alpha=0.0, tol=1e-12)
    assert fit == pytest.approx(reference - reference.mean(), abs=1e-6)

    def negative_log_likelihood(s: np.ndarray) -> float:
        diff = s[:, None] - s[None, :]
        return float(-(wins * -np.logaddexp(0, -diff)).sum())

    direct = optimize.minimize(negative_log_likelihood, np.zeros(5), method="BFGS", tol=1e-12).x
    assert fit == pytest.approx(direct - direct.mean(), abs=1e-5)


def test_bradley_terry_needs_a_strongly_connected_comparison_graph() -> None:
    # C never wins: its strength would run off to minus infinity
    wins = np.array([[0, 3, 2], [1, 0, 4], [0, 0, 0]])
    assert pf.bradley_terry(wins) is None


def test_bradley_terry_intervals_cover_planted_strengths() -> None:
    rng = np.random.default_rng(3)
    planted = np.array([1.0, 0.4, -0.3, -1.1])
    wins = _wins(rng, planted, 2000)
    intervals = pf.bradley_terry_intervals(wins, seed=1)
    assert intervals is not None
    for truth, ci in zip(planted - planted.mean(), intervals, strict=True):
        assert ci.low <= truth <= ci.high
    assert intervals == pf.bradley_terry_intervals(wins, seed=1)  # a fixed seed: one answer


@pytest.mark.parametrize("seed", SEEDS)
def test_spearman_matches_scipy_with_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 6, 12).astype(float)
    y = x + rng.integers(-2, 3, 12).astype(float)
    assert pf.spearman(x, y) == pytest.approx(stats.spearmanr(x, y).statistic, abs=1e-12)
    assert pf.spearman(x[:2], y[:2]) is None
    assert pf.spearman(np.ones(4), y[:4]) is None
