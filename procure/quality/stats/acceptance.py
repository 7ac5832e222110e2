"""Batch acceptance from reviewed items: the error rate with its Wilson interval, and a
recommendation against the contract's rule. Pure functions."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from procure.quality.stats.agreement import Z95, Interval


def wilson_interval(errors: int, n: int, z: float = Z95) -> Interval | None:
    """Wilson score interval for a proportion (Wilson 1927; Newcombe 1998, method 3).

    ``centre = (p + z^2 / 2n) / (1 + z^2 / n)``,
    ``half = z sqrt(p (1 - p) / n + z^2 / 4n^2) / (1 + z^2 / n)``; ``None`` when ``n = 0``.
    Unlike the normal approximation it stays inside [0, 1] and behaves with 0 errors.

    Newcombe (1998), Table I, example (i): 81 of 263 gives 0.2553 to 0.3662:

    >>> interval = wilson_interval(81, 263)
    >>> round(interval.low, 4), round(interval.high, 4)
    (0.2553, 0.3662)
    """
    if n <= 0:
        return None
    p = errors / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return Interval(max(0.0, centre - half), min(1.0, centre + half))


class Verdict(StrEnum):
    accept = "accept"
    reject = "reject"
    review_more = "review more"


@dataclass(frozen=True)
class Recommendation:
    verdict: Verdict
    reviewed: int
    errors: int
    error_rate: float | None
    interval: Interval | None
    max_error_rate: float
    suggested_accepted_quantity: int | None
    reason: str


def recommend(
    errors: int, reviewed: int, *, max_error_rate: float, min_reviewed: int, quantity: int
) -> Recommendation:
    """Accept when the interval's upper bound is at most ``max_error_rate``; reject when its lower
    bound is above it (suggesting a partial acceptance of the units expected to be correct,
    ``floor(quantity x (reviewed - errors) / reviewed)``, in exact integers); otherwise, or with fewer than ``min_reviewed``
    reviewed items, review more.

    >>> recommend(2, 100, max_error_rate=0.08, min_reviewed=30, quantity=5000).verdict
    <Verdict.accept: 'accept'>
    >>> recommend(20, 100, max_error_rate=0.08, min_reviewed=30, quantity=5000).suggested_accepted_quantity
    4000
    >>> recommend(32, 100, max_error_rate=0.08, min_reviewed=30, quantity=5000).suggested_accepted_quantity
    3400
    """
    interval = wilson_interval(errors, reviewed)
    rate = errors / reviewed if reviewed else None

    def advice(verdict: Verdict, reason: str, keep: int | None = None) -> Recommendation:
        return Recommendation(
            verdict, reviewed, errors, rate, interval, max_error_rate, keep, reason
        )

    limit = f"{max_error_rate:.1%}"
    if interval is None or rate is None or reviewed < min_reviewed:
        needed = max(min_reviewed - reviewed, 1)
        return advice(
            Verdict.review_more,
            f"{reviewed} reviewed items; the rule needs at least {min_reviewed}: review {needed} more",
        )
    shown = f"{errors} errors in {reviewed} reviewed items ({rate:.1%}, 95% CI {interval.low:.1%} to {interval.high:.1%})"
    if interval.high <= max_error_rate:
        return advice(
            Verdict.accept, f"{shown}: even the upper bound is within the {limit} allowed"
        )
    if interval.low > max_error_rate:
        # Exact integers: quantity x (1 - errors / reviewed) in floats floors 3,400 to 3,399.
        keep = quantity * (reviewed - errors) // reviewed
        return advice(
            Verdict.reject,
            f"{shown}: even the lower bound exceeds the {limit} allowed; reject, or accept "
            f"the {keep:,} units expected to be correct",
            keep,
        )
    return advice(
        Verdict.review_more,
        f"{shown}: the interval straddles the {limit} allowed; review more items",
    )
