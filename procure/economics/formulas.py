"""The cost and accuracy formulas, written once for Decimals (point figures) and numpy arrays (Monte
Carlo draws), and the evaluation of a scenario's strategies with them (see ``scenario`` for the
model and its sources)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np

from procure.economics.scenario import (
    MILLION,
    SECONDS_PER_HOUR,
    HumanStrategy,
    HybridStrategy,
    LlmStrategy,
    Scenario,
)

# --- the formulas, written once for Decimals and for numpy arrays of Monte Carlo draws ---------
# ``Num`` is a Decimal (point figures) or a float / float array (draws); only + - * / ** and
# integer constants are used so both work.
Num = Any


def internal_review_cost(share: Num, seconds: Num, hourly_rate: Num) -> Num:
    """``share x seconds / 3600 x hourly_rate``: in-house review time per label, in money."""
    return share * seconds * hourly_rate / SECONDS_PER_HOUR


def llm_cost_per_label(
    input_tokens: Num, output_tokens: Num, price_in: Num, price_out: Num, runs: int, discount: Num
) -> Num:
    """``runs x (in x price_in + out x price_out) / 1e6 x (1 - discount)``, prices per 1M tokens.

    Published anchor: 1.4M labels with GPT-4 for $420 is $0.0003 per label.

    >>> llm_cost_per_label(Decimal(200), Decimal(1), Decimal(30), Decimal(60), 1, Decimal(0))
    Decimal('0.00606')
    """
    return runs * (input_tokens * price_in + output_tokens * price_out) / MILLION * (1 - discount)


def long_tail_exponent(growth_per_doubling: Decimal) -> Decimal:
    """``b = log2(1 + g)``: the marginal price doubles-to-growth exponent.

    >>> long_tail_exponent(Decimal(1))
    Decimal('1')
    """
    return ((1 + growth_per_doubling).ln() / Decimal(2).ln()).quantize(Decimal("1e-25")).normalize()


def average_unit_price(base_price: Num, units: Num, from_units: int, exponent: Num) -> Num:
    """Average marginal price over ``units`` units when the price rises past ``from_units``
    (see the module docstring). Doubling at b = 1 from 100 units: 100 units at 1, then a linear
    ramp from 1 to 2 over the next 100, so 200 units average 1.25.

    >>> average_unit_price(Decimal(1), Decimal(200), 100, Decimal(1))
    Decimal('1.25')
    """
    ratio = units / from_units
    if np.all(np.asarray(ratio <= 1)):
        return base_price + 0 * units
    tail = base_price * (from_units + from_units * (ratio ** (exponent + 1) - 1) / (exponent + 1))
    average = tail / units
    if isinstance(units, np.ndarray):
        return np.where(ratio <= 1, base_price, average)
    return average


def majority_vote_accuracy(accuracy: Num, votes: int) -> Num:
    """Probability that the majority of ``votes`` independent labels with accuracy q is right,
    ties broken at random: ``sum_{j > v/2} C(v, j) q^j (1-q)^(v-j) + [v even] C(v, v/2) (q(1-q))^(v/2) / 2``
    (Condorcet's jury theorem; errors treated as one alternative, an upper bound for correlated runs).

    >>> majority_vote_accuracy(Decimal("0.8"), 3)
    Decimal('0.896')
    """
    q, wrong = accuracy, 1 - accuracy
    total = sum(
        math.comb(votes, j) * q**j * wrong ** (votes - j) for j in range(votes // 2 + 1, votes + 1)
    )
    if votes % 2 == 0:
        total = total + math.comb(votes, votes // 2) * (q * wrong) ** (votes // 2) / 2
    return total


def hybrid_accuracy(review_fraction: Num, human: Num, base: Num, capture: Num) -> Num:
    """``f q_H + (1 - f) - (1 - c)(1 - q_B)`` (see the module docstring), with the errors caught,
    ``c (1 - q_B)``, kept possible: no more than the f items relabelled, and no fewer than the
    errors that cannot fit among the 1 - f items left alone.

    >>> hybrid_accuracy(Decimal("0.1"), Decimal("0.95"), Decimal("0.85"), Decimal("0.1"))
    Decimal('0.860')
    >>> hybrid_accuracy(Decimal("0.05"), Decimal("0.9"), Decimal("0.5"), Decimal("0.9"))  # caps at f
    Decimal('0.545')
    """
    errors = 1 - base
    caught = _clip(capture * errors, errors - (1 - review_fraction), review_fraction)
    return review_fraction * human + (1 - review_fraction) - (errors - caught)


def _clip(value: Num, low: Num, high: Num) -> Num:
    if any(isinstance(v, np.ndarray) for v in (value, low, high)):
        return np.minimum(np.maximum(value, low), high)
    return max(low, min(value, high))


def break_even_accuracy(
    llm_cost_per_accepted: Decimal, human_cost_per_correct: Decimal
) -> Decimal | None:
    """The accuracy at which an LLM's cost per correct label equals a human's:
    ``q* = L / (H / q_H)``; ``None`` when it would exceed 1 (no accuracy is enough).

    >>> break_even_accuracy(Decimal("0.003"), Decimal("0.1"))
    Decimal('0.03')
    """
    if human_cost_per_correct <= 0:
        return None
    needed = llm_cost_per_accepted / human_cost_per_correct
    return needed if needed <= 1 else None


@dataclass(frozen=True)
class Figures:
    """One strategy's figures at one volume (see the module docstring for each formula)."""

    name: str
    kind: str
    accuracy: Num
    accuracy_estimated: bool
    acceptance_rate: Num
    cost_per_label: Num
    cost_per_accepted_label: Num
    cost_per_correct_label: Num
    total_cost: Num
    expected_correct: Num
    validation_cost: Num
    review_hours: Num

    @property
    def all_in_cost(self) -> Num:
        return self.total_cost + self.validation_cost

    @property
    def all_in_cost_per_correct_label(self) -> Num:
        return self.all_in_cost / self.expected_correct


Lookup = Callable[[Any, str], Num]


def _exact(strategy: Any, field: str) -> Num:
    return getattr(strategy, field)


class Evaluator:
    """Figures of every strategy of a scenario, with values read through ``get`` so the Monte
    Carlo can substitute arrays of draws for the measured rates."""

    def __init__(self, scenario: Scenario, volume: Num, get: Lookup = _exact) -> None:
        self.scenario, self.volume, self.get = scenario, volume, get
        self.review = internal_review_cost(
            1, get(scenario, "review_seconds_per_item"), get(scenario, "hourly_rate")
        )
        self._cache: dict[str, Figures] = {}

    def unit_price(self, s: HumanStrategy, accepted_units: Num) -> Num:
        price = self.get(s, "unit_price")
        if s.long_tail is None:
            return price
        exponent: Num = long_tail_exponent(s.long_tail.growth_per_doubling)
        if not isinstance(price, Decimal):
            exponent = float(exponent)
        delivered = accepted_units / self.get(s, "acceptance_rate")
        return average_unit_price(price, delivered, s.long_tail.from_units, exponent)

    def human_per_accepted(self, s: HumanStrategy, accepted_units: Num) -> Num:
        a = self.get(s, "acceptance_rate")
        paid = self.unit_price(s, accepted_units) * (1 if s.pays_rejected else a)
        return (paid + self.get(s, "review_share") * self.review) / a

    def figures(self, name: str) -> Figures:
        if name not in self._cache:
            self._cache[name] = self._figures(self.scenario.strategy(name))
        return self._cache[name]

    def _figures(self, s: HumanStrategy | LlmStrategy | HybridStrategy) -> Figures:
        get, volume = self.get, self.volume
        validation = 0 * self.review
        estimated = False
        if isinstance(s, HumanStrategy):
            acceptance = get(s, "acceptance_rate")
            per_accepted = self.human_per_accepted(s, volume)
            accuracy = get(s, "accuracy")
            review_share = get(s, "review_share") / acceptance
        elif isinstance(s, LlmStrategy):
            acceptance = get(s, "acceptance_rate")
            if s.cost_per_item is not None:
                model_cost = (
                    s.runs_per_item * get(s, "cost_per_item") * (1 - get(s, "batch_discount"))
                )
            else:
                model_cost = llm_cost_per_label(
                    get(s, "input_tokens_per_item"),
                    get(s, "output_tokens_per_item"),
                    get(s, "price_in_per_mtok"),
                    get(s, "price_out_per_mtok"),
                    s.runs_per_item,
                    get(s, "batch_discount"),
                )
            per_label = model_cost + get(s, "review_share") * self.review
            per_accepted = per_label / acceptance
            accuracy = get(s, "accuracy")
            validation = self.validation_cost(None)
            review_share = get(s, "review_share") / acceptance
        else:
            llm = self.figures(s.llm)
            human_strategy = self.scenario.strategy(s.human)
            assert isinstance(human_strategy, HumanStrategy)
            f = get(s, "review_fraction")
            human_units = f * volume
            per_accepted = (
                s.votes * llm.cost_per_accepted_label
                + f * self.human_per_accepted(human_strategy, human_units)
                + get(s, "review_share") * self.review
            )
            acceptance = 1 + 0 * per_accepted
            if s.accuracy is not None:
                accuracy = get(s, "accuracy")
            else:
                estimated = True
                base = llm.accuracy
                if s.policy == "majority_vote":
                    base = majority_vote_accuracy(base, s.votes)
                capture = f if s.error_capture is None else get(s, "error_capture")
                accuracy = hybrid_accuracy(f, get(human_strategy, "accuracy"), base, capture)
            validation = self.validation_cost(human_strategy)
            review_share = get(s, "review_share") + f * get(human_strategy, "review_share") / get(
                human_strategy, "acceptance_rate"
            )
        per_label = per_accepted * acceptance
        return Figures(
            name=s.name,
            kind=s.kind,
            accuracy=accuracy,
            accuracy_estimated=estimated,
            acceptance_rate=acceptance,
            cost_per_label=per_label,
            cost_per_accepted_label=per_accepted,
            cost_per_correct_label=per_accepted / accuracy,
            total_cost=volume * per_accepted,
            expected_correct=volume * accuracy,
            validation_cost=validation,
            review_hours=volume
            * review_share
            * self.get(self.scenario, "review_seconds_per_item")
            / SECONDS_PER_HOUR,
        )

    def validation_cost(self, human: HumanStrategy | None) -> Num:
        """``validation_items x`` a human cost per accepted label (see the module docstring)."""
        items = self.scenario.validation_items
        if items == 0:
            return 0 * self.review
        if self.scenario.validation_unit_price is not None:  # read as every input is (draws)
            return items * self.get(self.scenario, "validation_unit_price")
        humans = (
            [human]
            if human
            else [s for s in self.scenario.strategies if isinstance(s, HumanStrategy)]
        )
        if not humans:
            return 0 * self.review
        return min_of([self.human_per_accepted(h, items) for h in humans]) * items


def min_of(values: list[Num]) -> Num:
    if isinstance(values[0], np.ndarray):
        return np.minimum.reduce(values)
    return min(values)


def evaluate(scenario: Scenario, volume: int | None = None) -> list[Figures]:
    """Every strategy's figures at ``volume`` (default: the scenario's), in scenario order."""
    evaluator = Evaluator(scenario, Decimal(volume or scenario.volume))
    return [evaluator.figures(s.name) for s in scenario.strategies]


def all_in_per_correct(scenario: Scenario, name: str, volume: int) -> Decimal:
    figures = Evaluator(scenario, Decimal(volume)).figures(name)
    result: Decimal = figures.all_in_cost_per_correct_label
    return result


def break_even_volume(
    scenario: Scenario, name: str, reference: str, limit: int = 10**12
) -> int | None:
    """The smallest volume from which strategy ``name`` costs at most ``reference`` per correct
    label, all-in (its one-off validation set spread over the volume); ``None`` if it never
    does up to ``limit``. Found by bisection on the sign of the difference, which changes once:
    the one-off cost's share falls with volume and the long tail only raises human prices.
    """

    def cheaper(volume: int) -> bool:
        return all_in_per_correct(scenario, name, volume) <= all_in_per_correct(
            scenario, reference, volume
        )

    if cheaper(1):
        return 1
    if not cheaper(limit):
        return None
    low, high = 1, limit
    while high - low > 1:
        middle = (low + high) // 2
        if cheaper(middle):
            high = middle
        else:
            low = middle
    return high
