"""Preference-pair figures on compact tables. Pure functions; the judgements are aggregated in
DuckDB (``procure.quality.preferences``) into counts.

A judgement is *decisive* when it picks A or B; a tie and "both bad" are not (MT-Bench counts
"both bad" as a tie). Choices a user should know:

- Every rate carries a Wilson interval (``wilson_interval``); position bias also an exact
  two-sided binomial test against 0.5.
- The measured ceiling is leave-one-out agreement (AlpacaEval; Dubois et al. 2023, section 3):
  each human judgement against the majority of the *other* humans on the item, on items with
  three or more human judgements. Where the others' majority is a tie, AlpacaEval breaks it at
  random; the figure here is that random draw's expectation (a tied leader wins with equal
  probability), so no seed, hash or row order can change it.
- Bradley-Terry strengths are the maximum-likelihood fit (Hunter 2004, the MM algorithm) on
  decisive judgements; ties are left out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from procure.quality.stats.agreement import FloatArray, IntArray, Interval

A, B, TIE = 0, 1, 2  # the vote codes of ``loo_agreement``: A, B, and a tie or "both bad"


def binomial_test(successes: int, n: int, p: float = 0.5) -> float | None:
    """Exact two-sided binomial test: the probability, under ``Binomial(n, p)``, of an outcome
    no more likely than the one observed, ``sum_i P(X = i)`` over ``P(X = i) <= P(X = k)``
    (the "minlike" method of R's ``binom.test`` and SciPy's ``binomtest``, with the same
    relative tolerance of 1e-7 for outcomes as likely as the observed one).

    R's ``binom.test`` documentation works Conover's (1971, p. 97) Mendelian cross: 682 of 925
    plants "giant" against an expected share of 3/4 gives a p-value of 0.3825:

    >>> round(binomial_test(682, 925, 0.75), 4)
    0.3825
    """
    if n <= 0:
        return None

    log_p, log_q = math.log(p), math.log1p(-p)
    # Outcomes beyond 40 standard deviations of the mean have a probability below 1e-300 (and
    # so, together, below any double the sum can show): only those within are summed.
    spread = 40 * math.sqrt(n * p * (1 - p)) + 40
    low, high = max(0, math.floor(n * p - spread)), min(n, math.ceil(n * p + spread))
    i = np.arange(low, high + 1, dtype=np.float64)
    log_choose = (
        math.lgamma(n + 1) - _log_factorials(low, high) - _log_factorials(n - high, n - low)[::-1]
    )
    probabilities = log_choose + i * log_p + (n - i) * log_q
    observed = (
        math.lgamma(n + 1)
        - math.lgamma(successes + 1)
        - math.lgamma(n - successes + 1)
        + successes * log_p
        + (n - successes) * log_q
    )
    as_likely = probabilities <= observed + math.log1p(1e-7)
    return float(min(1.0, np.exp(probabilities[as_likely]).sum()))


def _log_factorials(first: int, last: int) -> FloatArray:
    """``log(k!)`` for ``k = first .. last``: one ``lgamma`` and a running sum of logs."""
    steps = np.log(np.arange(first + 1, last + 1, dtype=np.float64))
    result: FloatArray = math.lgamma(first + 1) + np.concatenate([[0.0], np.cumsum(steps)])
    return result


@dataclass(frozen=True)
class LeaveOneOut:
    """Leave-one-out agreement on ``items`` items with three or more human judgements: the
    humans' (``humans``, of ``judgements`` judgements) and the judge's against the same
    majorities (``judge``, of ``judged`` held-out majorities); ``None`` where nothing is
    comparable."""

    items: int
    judgements: float
    humans: float | None
    judged: float
    judge: float | None
    ci95: Interval | None
    judge_ci95: Interval | None = None


def agreement_with_leaders(label: IntArray, others: IntArray) -> FloatArray:
    """Per row, the expected agreement of ``label`` with the majority of the ``others`` counts
    when a tie among leaders is broken at random: ``[label is a leader] / leaders``."""
    top = others.max(axis=1, keepdims=True)
    leaders = (others == top) & (top > 0)
    count = leaders.sum(axis=1)
    hit = leaders[np.arange(len(label)), np.clip(label, 0, others.shape[1] - 1)]
    return np.where(count > 0, hit / np.maximum(count, 1), 0.0)


def loo_agreement(
    votes: IntArray,
    frequency: IntArray,
    judge: IntArray | None = None,
    *,
    with_ties: bool = True,
    draws: int = 1000,
    seed: int = 0,
) -> LeaveOneOut:
    """Leave-one-out agreement from items' vote counts.

    ``votes[i]`` is an item pattern's (A, B, tie) human counts, ``frequency[i]`` how many items
    share it, ``judge[i]`` the judge's vote code on those items (-1 for none). For an item with
    counts ``c`` (``m = sum c >= 3``) each judgement ``l`` is compared with the others' counts
    ``c - e_l``; the item's figure sums ``c_l x agree(l, c - e_l)`` over labels.

    - With ties: the three votes compete; a judgement agrees when its vote is the majority
      (a tie vote agrees with a tied majority, as on MT-Bench's "with tie" row).
    - Without ties: tie judgements are dropped and so are tie votes among the others; only
      judgements with at least one decisive other count.

    The judge is compared with the same held-out majorities ``c - e_l``, ``c_l`` times per
    label (its tie votes count only with ties). The intervals resample items (the multinomial
    over patterns, as ``alpha_bootstrap``), 95% percentile, for the humans and the judge.

    AlpacaEval (Dubois et al. 2023, Table 1) reports 65.7% for humans on its 4-way set; a
    hand-computed example is in tests/quality/stats/test_preference.py.
    """
    votes = np.asarray(votes, dtype=np.int64)
    frequency = np.asarray(frequency, dtype=np.int64)
    keep = votes.sum(axis=1) >= 3
    votes, frequency = votes[keep], frequency[keep]
    judged = (
        np.full(len(votes), -1, dtype=np.int64)
        if judge is None
        else np.asarray(judge, dtype=np.int64)[keep]
    )
    labels = (A, B, TIE) if with_ties else (A, B)
    width = 3 if with_ties else 2
    human_hits = np.zeros(len(votes))
    human_n = np.zeros(len(votes))
    judge_hits = np.zeros(len(votes))
    judge_n = np.zeros(len(votes))
    for label in labels:
        own = votes[:, label]
        others = votes[:, :width].copy()
        others[:, label] -= 1
        valid = (own > 0) & (others.sum(axis=1) > 0)
        weight = np.where(valid, own, 0)
        human_hits += weight * agreement_with_leaders(np.full(len(votes), label), others)
        human_n += weight
        with_judge = valid & (judged >= 0) & (judged < width)
        judge_weight = np.where(with_judge, own, 0)
        judge_hits += judge_weight * agreement_with_leaders(judged, others)
        judge_n += judge_weight
    total_n = float(human_n @ frequency)
    total_judged = float(judge_n @ frequency)
    items = int(frequency.sum())
    resampled = (
        np.random.default_rng(seed).multinomial(items, frequency / items, size=draws)
        if items >= 2
        else None
    )
    return LeaveOneOut(
        items=items,
        judgements=total_n,
        humans=None if total_n == 0 else float(human_hits @ frequency) / total_n,
        judged=total_judged,
        judge=None if total_judged == 0 else float(judge_hits @ frequency) / total_judged,
        ci95=_resampled_share(resampled, human_hits, human_n),
        judge_ci95=_resampled_share(resampled, judge_hits, judge_n),
    )


def _resampled_share(
    resampled: IntArray | None, hits: FloatArray, n: FloatArray
) -> Interval | None:
    """The 95% percentile interval of ``hits / n`` over resampled pattern counts."""
    if resampled is None or not n.any():
        return None
    totals = resampled @ n
    shares = (resampled @ hits)[totals > 0] / totals[totals > 0]
    low, high = np.percentile(shares, [2.5, 97.5])
    return Interval(float(low), float(high))


def mean_with_interval(
    scores: list[float], counts: list[int], *, draws: int = 1000, seed: int = 0
) -> tuple[float | None, Interval | None]:
    """The mean of ``scores`` weighted by ``counts`` (how many judgements have each score) and
    its 95% percentile bootstrap interval, the judgements resampled (a multinomial over the
    scores); ``(None, None)`` without judgements."""
    n = int(sum(counts))
    if n == 0:
        return None, None
    values, weights = np.asarray(scores), np.asarray(counts, dtype=np.float64)
    mean = float(values @ weights / n)
    if n < 2:
        return mean, None
    resampled = np.random.default_rng(seed).multinomial(n, weights / n, size=draws)
    low, high = np.percentile(resampled @ values / n, [2.5, 97.5])
    return mean, Interval(float(low), float(high))


def bradley_terry(
    wins: IntArray, *, tolerance: float = 1e-12, max_iterations: int = 10_000
) -> FloatArray | None:
    """Bradley-Terry log-strengths ``s`` (mean 0) maximising
    ``sum_ij w_ij log(p_i / (p_i + p_j))`` with ``p = exp(s)``, where ``wins[i, j]`` is how
    often ``i`` beat ``j``. Hunter's (2004) MM update ``p_i <- W_i / sum_j n_ij / (p_i + p_j)``
    (``W_i`` wins of ``i``, ``n_ij = w_ij + w_ji``) converges to the unique maximum when the
    comparison graph is strongly connected (Zermelo 1929; Ford 1957); otherwise the maximum
    does not exist (some strength runs off to infinity) and the result is ``None``.

    Two players, ``i`` beating ``j`` 3 times to 1: ``p_i / p_j = 3``, so the strengths are
    ``+-log(3) / 2``:

    >>> s = bradley_terry(np.array([[0, 3], [1, 0]]))
    >>> [round(float(x), 6) for x in s]
    [0.549306, -0.549306]
    """
    wins = np.asarray(wins, dtype=np.float64)
    k = len(wins)
    if k < 2 or not _strongly_connected(wins > 0):
        return None
    games = wins + wins.T
    won = wins.sum(axis=1)
    p = np.ones(k)
    for _ in range(max_iterations):
        denominator = (games / (p[:, None] + p[None, :])).sum(axis=1)
        updated = won / denominator
        updated /= math.exp(np.log(updated).mean())
        converged = np.max(np.abs(np.log(updated) - np.log(p))) < tolerance
        p = updated
        if converged:
            break
    strengths: FloatArray = np.log(p) - np.log(p).mean()
    return strengths


def _strongly_connected(beats: np.ndarray) -> bool:
    """Every player reaches every other along "beat" edges, and back (Ford's condition)."""
    k = len(beats)

    def reach(edges: np.ndarray) -> bool:
        seen = np.zeros(k, dtype=bool)
        seen[0] = True
        frontier = seen.copy()
        while frontier.any():
            frontier = edges[frontier].any(axis=0) & ~seen
            seen |= frontier
        return bool(seen.all())

    return reach(beats) and reach(beats.T)


def bradley_terry_intervals(
    wins: IntArray, *, draws: int = 200, seed: int = 0
) -> list[Interval] | None:
    """Percentile bootstrap intervals of each strength: the judgements resampled (a multinomial
    over the cells of ``wins``), the model refitted; draws without a fit are dropped."""
    wins = np.asarray(wins, dtype=np.int64)
    total = int(wins.sum())
    if total == 0 or bradley_terry(wins) is None:
        return None
    rng = np.random.default_rng(seed)
    fits = [
        fit
        for draw in rng.multinomial(total, wins.ravel() / total, size=draws)
        if (fit := bradley_terry(draw.reshape(wins.shape), tolerance=1e-8)) is not None
    ]
    if len(fits) < draws // 2:
        return None
    low, high = np.percentile(np.array(fits), [2.5, 97.5], axis=0)
    return [Interval(float(a), float(b)) for a, b in zip(low, high, strict=True)]


def spearman(x: FloatArray, y: FloatArray) -> float | None:
    """Spearman's rank correlation: Pearson's correlation of the ranks, ties given their mean
    rank (Spearman 1904; as ``scipy.stats.spearmanr``); ``None`` with fewer than three values
    or a constant ranking.

    >>> round(spearman(np.array([1.0, 2.0, 3.0, 4.0]), np.array([10.0, 30.0, 20.0, 40.0])), 6)
    0.8
    """
    if len(x) < 3:
        return None
    rx, ry = _ranks(np.asarray(x, dtype=np.float64)), _ranks(np.asarray(y, dtype=np.float64))
    if rx.std() == 0 or ry.std() == 0:
        return None
    return float(np.corrcoef(rx, ry)[0, 1])


def _ranks(values: FloatArray) -> FloatArray:
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(1, len(values) + 1)
    for value in np.unique(values):  # tied values share their mean rank
        same = values == value
        ranks[same] = ranks[same].mean()
    return ranks
