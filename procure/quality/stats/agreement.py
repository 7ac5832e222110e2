"""Agreement statistics on compact tables. Pure functions; label rows are aggregated elsewhere
(in DuckDB) into one of two shapes:

- ``counts``: an items x categories matrix, ``counts[i, k]`` = how many annotators gave item ``i``
  category ``k`` (missing labels are simply not counted); optionally with ``frequency``, how
  many items share each row, so that millions of items travel as a few hundred distinct rows;
- ``confusion``: a categories x categories matrix of two sources over the items both labelled,
  rows the first source, columns the second.

Choices a user should know:

- An item is *pairable* when it has at least two labels; only pairable items enter percent
  agreement, Fleiss' kappa, Krippendorff's alpha and the agreement part of Gwet's AC1.
- Percent agreement is the mean over pairable items of the share of agreeing label pairs on the
  item, ``P_i = sum_k n_ik (n_ik - 1) / (m_i (m_i - 1))`` (Fleiss 1971; Gwet 2008).
- Weighted kappa weights disagreements by the distance of label *positions in the task type's
  label order* (all allowed labels, used or not), as scikit-learn does with ``labels=``.
- Gwet's AC1 divides chance agreement by ``q - 1`` where ``q`` is the number of categories of the
  label set (the columns of ``counts``), observed or not.
- Undefined results (no pairable items, chance agreement of 1) are ``None``, never a division by
  zero.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from procure.kinds import Level

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
Z95 = 1.959963984540054  # standard normal quantile for a two-sided 95% interval


def _ratio(numerator: float, denominator: float) -> float | None:
    return None if denominator == 0 else numerator / denominator


def _chance_corrected(observed: float, expected: float) -> float | None:
    """``(p_o - p_e) / (1 - p_e)``; undefined (``None``) when chance agreement is 1."""
    return (
        None
        if np.isclose(expected, 1.0, rtol=0, atol=1e-15)
        else (observed - expected) / (1 - expected)
    )


# --- many annotators: item x category counts ------------------------------------------------


def _weights(counts: IntArray, frequency: IntArray | None) -> FloatArray:
    if frequency is None:
        return np.ones(len(counts), dtype=np.float64)
    return np.asarray(frequency, dtype=np.float64)


def percent_agreement(counts: IntArray, frequency: IntArray | None = None) -> float | None:
    """Mean share of agreeing label pairs over pairable items.

    ``P = mean_i sum_k n_ik (n_ik - 1) / (m_i (m_i - 1))`` over items with ``m_i >= 2``.

    >>> percent_agreement(np.array([[2, 0], [1, 1], [3, 0]]))  # items agree 1, 0, 1
    0.6666666666666666
    """
    m = counts.sum(axis=1)
    weights = _weights(counts, frequency)
    pairable = (m >= 2) & (weights > 0)
    if not pairable.any():
        return None
    c, mm = counts[pairable].astype(np.float64), m[pairable].astype(np.float64)
    per_item = (c * (c - 1)).sum(axis=1) / (mm * (mm - 1))
    return float(np.average(per_item, weights=weights[pairable]))


def fleiss_kappa(counts: IntArray, frequency: IntArray | None = None) -> float | None:
    """Fleiss' kappa; defined only when every item has the same number ``m >= 2`` of labels.

    ``kappa = (P_bar - P_e) / (1 - P_e)`` with ``P_bar`` the percent agreement above and
    ``P_e = sum_k p_k^2``, ``p_k`` the share of all labels in category ``k`` (Fleiss 1971).

    Worked example of Fleiss (1971) as reproduced on Wikipedia ("Fleiss' kappa"): 10 subjects,
    14 raters, 5 categories, kappa = 0.210.

    >>> table = np.array([[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0],
    ...     [2, 2, 8, 1, 1], [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0],
    ...     [0, 2, 2, 3, 7]])
    >>> round(fleiss_kappa(table), 3)
    0.21
    """
    weights = _weights(counts, frequency)
    m = counts.sum(axis=1)[weights > 0]
    if len(m) == 0 or m.min() != m.max() or m[0] < 2:
        return None
    observed = percent_agreement(counts, frequency)
    assert observed is not None
    totals = weights @ counts
    shares = totals / totals.sum()
    return _chance_corrected(observed, float((shares**2).sum()))


def gwet_ac1(counts: IntArray, frequency: IntArray | None = None) -> float | None:
    """Gwet's AC1 for any number of annotators and missing labels (Gwet 2008, eqs. for AC1).

    ``p_a`` = percent agreement over pairable items; ``pi_k = mean_i n_ik / m_i`` over items with
    at least one label; ``p_e = sum_k pi_k (1 - pi_k) / (q - 1)``; ``AC1 = (p_a - p_e) / (1 - p_e)``.
    Unlike kappa it stays high when one label dominates and annotators agree on it.

    Two annotators agree on 9 of 10 items, all on the dominant label: ``p_a = 0.9``,
    ``pi = (0.95, 0.05)``, ``p_e = 2 x 0.95 x 0.05 = 0.095``, AC1 = 0.805 / 0.905, while kappa
    collapses below zero:

    >>> dominant = np.array([[2, 0]] * 9 + [[1, 1]])
    >>> round(gwet_ac1(dominant), 4), round(fleiss_kappa(dominant), 4)
    (0.8895, -0.0526)
    """
    q = counts.shape[1]
    observed = percent_agreement(counts, frequency)
    if observed is None or q < 2:
        return None
    m = counts.sum(axis=1)
    weights = _weights(counts, frequency)
    rated = (m >= 1) & (weights > 0)
    pi = np.average(counts[rated] / m[rated, None], axis=0, weights=weights[rated])
    return _chance_corrected(observed, float((pi * (1 - pi)).sum() / (q - 1)))


def coincidence_matrix(counts: IntArray, frequency: IntArray | None = None) -> FloatArray:
    """Krippendorff's coincidence matrix: ``o_ck = sum_u n_uc (n_uk - [c = k]) / (m_u - 1)`` over
    pairable units. Units sharing a count vector are computed once (a few hundred patterns
    cover millions of items), so this is linear in items with a tiny constant."""
    patterns, pattern_frequency = _patterns(counts, frequency)
    coincidences: FloatArray = np.einsum(
        "p,pck->ck", pattern_frequency.astype(np.float64), _unit_coincidences(patterns)
    )
    return coincidences


def _patterns(counts: IntArray, frequency: IntArray | None = None) -> tuple[IntArray, IntArray]:
    """Distinct count vectors of the pairable units and how often each occurs."""
    weights = np.ones(len(counts), dtype=np.int64) if frequency is None else np.asarray(frequency)
    keep = (counts.sum(axis=1) >= 2) & (weights > 0)
    pairable, weights = counts[keep], weights[keep]
    if len(pairable) == 0:
        return np.zeros((0, counts.shape[1]), dtype=np.int64), np.zeros(0, dtype=np.int64)
    base = int(pairable.max()) + 1
    if base ** counts.shape[1] < 2**62:  # one int64 key per row: fast
        keys = pairable.astype(np.int64) @ (base ** np.arange(counts.shape[1], dtype=np.int64))
        unique_keys, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    else:  # many labels: compare whole rows
        unique_keys, first, inverse = np.unique(
            pairable, axis=0, return_index=True, return_inverse=True
        )
    totals = np.bincount(inverse.ravel(), weights=weights, minlength=len(unique_keys))
    return pairable[first].astype(np.int64), totals.astype(np.int64)


def _unit_coincidences(patterns: IntArray) -> FloatArray:
    n = patterns.astype(np.float64)
    m = n.sum(axis=1)
    pairs = n[:, :, None] * n[:, None, :] - n[:, :, None] * np.eye(n.shape[1])[None]
    per_unit: FloatArray = pairs / (m - 1)[:, None, None]
    return per_unit


def _squared_distances(level: Level, marginals: FloatArray, values: FloatArray) -> FloatArray:
    """``delta^2_ck`` for each level (Krippendorff 2011, "Computing Krippendorff's alpha").

    ``marginals`` may carry leading batch dimensions (one row per bootstrap draw).
    """
    if level is Level.nominal:
        return 1.0 - np.eye(len(values))
    if level is Level.interval:
        return (values[:, None] - values[None, :]) ** 2
    if level is Level.ratio:
        total = values[:, None] + values[None, :]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(total == 0, 0.0, ((values[:, None] - values[None, :]) / total) ** 2)
    # ordinal: (sum_{g=c..k} n_g - (n_c + n_k) / 2)^2 over ranks
    # sum_{g=c..k} n_g = |N_k - N_c| + n_min(c,k), with N the cumulative marginals
    cumulative = np.cumsum(marginals, axis=-1)
    ranks = np.arange(marginals.shape[-1])
    lower = np.minimum(ranks[:, None], ranks[None, :])
    between = np.abs(cumulative[..., :, None] - cumulative[..., None, :]) + marginals[..., lower]
    return (between - (marginals[..., :, None] + marginals[..., None, :]) / 2) ** 2


def alpha_from_coincidences(
    coincidences: FloatArray, level: Level | str = Level.nominal, values: FloatArray | None = None
) -> float | None:
    """Krippendorff's alpha from a coincidence matrix.

    ``alpha = 1 - (n - 1) sum o_ck delta^2_ck / sum n_c n_k delta^2_ck`` with ``n_c`` the
    coincidence marginals and ``n`` the number of pairable values. ``values`` are the numeric
    category values for interval and ratio data (default ``0, 1, ...``).
    """
    level = Level(level)
    k = coincidences.shape[-1]
    values = (
        np.arange(k, dtype=np.float64) if values is None else np.asarray(values, dtype=np.float64)
    )
    marginals = coincidences.sum(axis=-1)
    n = marginals.sum(axis=-1)
    distances = _squared_distances(level, marginals, values)
    observed = (coincidences * distances).sum(axis=(-2, -1))
    expected = (marginals[..., :, None] * marginals[..., None, :] * distances).sum(axis=(-2, -1))
    if np.ndim(n) == 0:
        if n <= 1 or expected == 0:
            return None
        return float(1 - (n - 1) * observed / expected)
    with np.errstate(invalid="ignore", divide="ignore"):
        return 1 - (n - 1) * observed / expected  # type: ignore[no-any-return]


def krippendorff_alpha(
    counts: IntArray,
    level: Level | str = Level.nominal,
    values: FloatArray | None = None,
    frequency: IntArray | None = None,
) -> float | None:
    """Krippendorff's alpha at ``level``, with missing labels, from item x category counts.

    Krippendorff's own example (2011, "Computing Krippendorff's Alpha-Reliability", section C:
    4 observers, 12 units, values 1-5, missing data) publishes alpha = 0.743 nominal,
    0.815 ordinal, 0.849 interval and 0.797 ratio:

    >>> example = np.array([[3, 0, 0, 0, 0], [0, 3, 1, 0, 0], [0, 0, 4, 0, 0], [0, 0, 4, 0, 0],
    ...     [0, 4, 0, 0, 0], [1, 1, 1, 1, 0], [0, 0, 0, 4, 0], [3, 1, 0, 0, 0], [0, 4, 0, 0, 0],
    ...     [0, 0, 0, 0, 3], [2, 0, 0, 0, 0], [0, 0, 1, 0, 0]])
    >>> values = np.arange(1.0, 6.0)
    >>> [round(krippendorff_alpha(example, level, values), 3)
    ...  for level in ("nominal", "ordinal", "interval", "ratio")]
    [0.743, 0.815, 0.849, 0.797]
    """
    return alpha_from_coincidences(coincidence_matrix(counts, frequency), level, values)


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


def alpha_bootstrap(
    counts: IntArray,
    level: Level | str = Level.nominal,
    values: FloatArray | None = None,
    frequency: IntArray | None = None,
    *,
    draws: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Interval | None:
    """Percentile bootstrap interval for alpha, resampling pairable items with replacement.

    Resampling ``N`` items is drawing how often each distinct count vector appears from a
    multinomial with the observed shares, so each draw costs one small matrix product
    (Hayes & Krippendorff 2007 bootstrap items the same way).
    """
    patterns, pattern_frequency = _patterns(counts, frequency)
    total = int(pattern_frequency.sum())
    if total < 2:
        return None
    rng = np.random.default_rng(seed)
    resampled = rng.multinomial(total, pattern_frequency / total, size=draws)
    per_pattern = _unit_coincidences(patterns).reshape(len(patterns), -1)
    k = counts.shape[1]
    coincidences = (resampled @ per_pattern).reshape(draws, k, k)
    alphas = np.asarray(alpha_from_coincidences(coincidences, level, values), dtype=np.float64)
    alphas = alphas[np.isfinite(alphas)]
    if len(alphas) == 0:
        return None
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(alphas, [tail, 100 - tail])
    return Interval(float(low), float(high))


# --- two sources: a confusion matrix ---------------------------------------------------------


def confusion_from_counts(rows: Iterable[tuple[Any, Any, Any]], k: int) -> IntArray:
    """A k x k matrix from aggregated ``(row code, column code, count)`` rows (as a GROUP BY over
    two coded sources returns them).

    >>> confusion_from_counts([(0, 1, 3), (1, 1, 2)], 2).tolist()
    [[0, 3], [0, 2]]
    """
    matrix = np.zeros((k, k), dtype=np.int64)
    for a, b, n in rows:  # at most k x k rows
        matrix[int(a), int(b)] += int(n)
    return matrix


def confusion_percent_agreement(confusion: IntArray) -> float | None:
    total = confusion.sum()
    return None if total == 0 else float(np.trace(confusion) / total)


def _expected_agreement(confusion: IntArray) -> float:
    p = confusion / confusion.sum()
    return float(p.sum(axis=1) @ p.sum(axis=0))


def cohen_kappa(confusion: IntArray) -> float | None:
    """Cohen's kappa: ``(p_o - p_e) / (1 - p_e)``, ``p_e = sum_k p_k. p_.k`` (Cohen 1960).

    Textbook example (Cohen 1960 as in Fleiss, Levin & Paik 2003, and Wikipedia "Cohen's
    kappa"): 50 proposals, yes/yes 20, yes/no 5, no/yes 10, no/no 15, kappa = 0.4.

    >>> round(cohen_kappa(np.array([[20, 5], [10, 15]])), 10)
    0.4
    """
    if confusion.sum() == 0:
        return None
    observed = confusion_percent_agreement(confusion)
    assert observed is not None
    return _chance_corrected(observed, _expected_agreement(confusion))


@dataclass(frozen=True)
class KappaEstimate:
    kappa: float
    standard_error: float
    ci95: Interval


def cohen_kappa_ci(confusion: IntArray) -> KappaEstimate | None:
    """Kappa with its asymptotic standard error (Fleiss, Cohen & Everitt 1969) and 95% interval.

    ``var = [sum_i p_ii (1 - (p_i. + p_.i)(1 - k))^2 + (1 - k)^2 sum_{i != j} p_ij (p_.i + p_j.)^2
    - (k - p_e (1 - k))^2] / (N (1 - p_e)^2)``; interval ``k +/- 1.96 se``, cut to [-1, 1]
    (kappa cannot leave it; the normal approximation can, on few items near perfect agreement).

    Undefined (``None``) when either source gave a single label: kappa is then 0 (or 0/0) by
    construction, not a measurement, and its standard error of 0 would read as certainty.

    >>> cohen_kappa_ci(np.array([[3, 2], [0, 0]])) is None  # the first source said only "yes"
    True
    """
    kappa = cohen_kappa(confusion)
    used_rows, used_columns = (confusion.sum(axis=1) > 0).sum(), (confusion.sum(axis=0) > 0).sum()
    if kappa is None or used_rows < 2 or used_columns < 2:
        return None
    total = confusion.sum()
    p = confusion / total
    rows, cols = p.sum(axis=1), p.sum(axis=0)
    expected = float(rows @ cols)
    diagonal = (np.diag(p) * (1 - (rows + cols) * (1 - kappa)) ** 2).sum()
    off = p * (cols[:, None] + rows[None, :]) ** 2
    np.fill_diagonal(off, 0)
    variance = (diagonal + (1 - kappa) ** 2 * off.sum() - (kappa - expected * (1 - kappa)) ** 2) / (
        total * (1 - expected) ** 2
    )
    se = float(np.sqrt(max(variance, 0.0)))
    low, high = max(kappa - Z95 * se, -1.0), min(kappa + Z95 * se, 1.0)
    return KappaEstimate(kappa, se, Interval(low, high))


def weighted_kappa(confusion: IntArray, weights: str = "linear") -> float | None:
    """Weighted kappa for ordered labels: ``1 - sum w_ij o_ij / sum w_ij e_ij`` with disagreement
    weights ``|i - j|`` (linear) or ``(i - j)^2`` (quadratic) over label positions (Cohen 1968).
    """
    if confusion.sum() == 0:
        return None
    k = confusion.shape[0]
    distance = np.abs(np.arange(k)[:, None] - np.arange(k)[None, :]).astype(np.float64)
    w = distance if weights == "linear" else distance**2
    observed = confusion / confusion.sum()
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0))
    denominator = float((w * expected).sum())
    return None if denominator == 0 else 1 - float((w * observed).sum()) / denominator


def confusion_gwet_ac1(confusion: IntArray) -> float | None:
    """Gwet's AC1 for two sources: ``pi_k = (p_k. + p_.k) / 2``, ``p_e = sum pi_k (1 - pi_k) / (q - 1)``."""
    q = confusion.shape[0]
    if confusion.sum() == 0 or q < 2:
        return None
    p = confusion / confusion.sum()
    pi = (p.sum(axis=0) + p.sum(axis=1)) / 2
    return _chance_corrected(float(np.trace(p)), float((pi * (1 - pi)).sum() / (q - 1)))


@dataclass(frozen=True)
class ClassMetrics:
    precision: list[float | None]
    recall: list[float | None]
    f1: list[float | None]
    support: list[int]


def class_metrics(confusion: IntArray) -> ClassMetrics:
    """Per-class precision, recall and F1 with rows the reference and columns the prediction.

    Undefined values (no predictions, or no reference items, of a class) are ``None``.
    """
    true_positive = np.diag(confusion).astype(np.float64)
    predicted, actual = confusion.sum(axis=0), confusion.sum(axis=1)
    precision = [_ratio(tp, p) for tp, p in zip(true_positive, predicted, strict=True)]
    recall = [_ratio(tp, a) for tp, a in zip(true_positive, actual, strict=True)]
    f1 = [
        None if p is None or r is None else (0.0 if p + r == 0 else 2 * p * r / (p + r))
        for p, r in zip(precision, recall, strict=True)
    ]
    return ClassMetrics(precision, recall, f1, [int(a) for a in actual])
