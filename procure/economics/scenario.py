"""What a correct label costs from a vendor, from an LLM and from a hybrid. Pure functions.

A *scenario* (``Scenario``, validated with pydantic) names a target ``volume`` of accepted labels,
a currency and strategies:

- **human**: a vendor's ``unit_price``, the share of delivered units accepted (``acceptance_rate``,
  a) and the share of accepted labels that are correct (``accuracy``, q).
- **llm**: tokens per item and the price per million tokens (a dated price table), ``runs_per_item``,
  an optional batch-API discount, the share of answers that are valid labels (``acceptance_rate``)
  and the accuracy. For data the LLM *writes* (SFT pairs, preference pairs) the same fields apply:
  tokens per generated unit, and ``accuracy`` is the share of generated units that pass review.
- **hybrid**: an LLM strategy labels every item and humans (a human strategy) label a share f of
  the items (``review_fraction``) under one of three policies:
  ``review_sample`` (a random sample), ``relabel_uncertain`` (the items where the LLM is least
  confident or repeated runs disagree: the policy Wang et al. 2021, "Want To Reduce Labeling Cost?
  GPT-3 Can Help", found best) or ``majority_vote`` (``votes`` LLM runs, majority label; humans
  relabel the share where the votes disagree).

Per strategy, with an internal review cost r = review_share x seconds / 3600 x hourly rate:

- human:  ``cost_per_label = p + r`` when the contract pays for rejected units, else ``a p + r``
  (the workspace's contracts do not pay for rejected units; they still cost review time and
  delay). ``p`` is the unit price, averaged over the delivered units when the long tail applies;
- llm:    ``cost_per_label = runs x (in x price_in + out x price_out) / 1e6 x (1 - batch discount) + r``
  (or ``runs x cost_per_item x (1 - batch discount) + r`` when a cost per item is given);
- hybrid: ``cost_per_label = votes x L + f x H + r`` with L the LLM's cost per accepted label and
  H the human's cost per accepted label; a hybrid's labels are all accepted;
- ``cost_per_accepted_label = cost_per_label / a``; ``cost_per_correct_label = that / q``;
- ``total_cost = volume x cost_per_accepted_label`` (the cost of ``volume`` accepted labels);
  ``expected_correct = volume x q``;
- ``validation_cost``: LLM and hybrid strategies need a human-labelled validation set before
  their labels can be trusted at all (Pangakis, Wolken & Fasching 2023, "Automated Annotation with
  Generative AI Requires Validation", recommend 250 to 1,250 items per task):
  ``validation_items x`` the cost per accepted label of the hybrid's human strategy (for an LLM,
  of the cheapest human strategy, or ``validation_unit_price`` when given); one-off, so
  ``all_in_cost = total_cost + validation_cost`` and
  ``all_in_cost_per_correct_label = all_in_cost / expected_correct``.

A hybrid's accuracy, when not given, is estimated (documented assumptions, reported as estimates):
``q = f q_H + (1 - f) - (1 - c)(1 - q_B)``, where q_B is the LLM's accuracy (for ``majority_vote``
the Condorcet probability that the majority of ``votes`` independent runs is right, ties broken
at random; runs of one model are correlated, so this is an upper bound) and c is the share of the
LLM's errors that fall among the f items humans label (``error_capture``; c = f for a random
sample; higher when confidence ranks errors first). Humans relabel those items with their own
accuracy q_H. With c = f this is the mixture ``f q_H + (1 - f) q_B``. The errors caught, c (1 - q_B),
are capped at f (the relabelled items cannot hold more errors than there are items).

Long tail (optional, human strategies): the marginal unit price stays at p0 up to ``from_units``
units and then rises by ``growth_per_doubling`` with each doubling of the units bought,
``p(n) = p0 (n / n0)^b`` with ``b = log2(1 + g)``; the average over N > n0 units is
``p0 (n0 + n0 ((N / n0)^(b+1) - 1) / (b + 1)) / N``. The units bought are the delivered units
needed, ``volume / a`` (for a hybrid, ``f x volume / a``).

Money is ``Decimal`` end to end; the Monte Carlo bands are computed in floating point (they are
uncertainty bands, not amounts owed) by the same formulas.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Literal, get_args

import numpy as np
from pydantic import Field, field_validator, model_validator

from procure.documents import Spec, dump, parse_file, validate
from procure.errors import InputError
from procure.money import check_currency
from procure.quality.stats.acceptance import wilson_interval

Share = Annotated[Decimal, Field(ge=0, le=1, allow_inf_nan=False)]
Rate = Annotated[Decimal, Field(gt=0, le=1, allow_inf_nan=False)]
Amount = Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]
MILLION = 1_000_000
SECONDS_PER_HOUR = 3600


class LongTail(Spec):
    from_units: int = Field(gt=0)
    growth_per_doubling: Amount


class HumanStrategy(Spec):
    name: str = Field(min_length=1)
    kind: Literal["human"] = "human"
    unit_price: Amount
    acceptance_rate: Rate = Decimal(1)
    accuracy: Rate
    pays_rejected: bool = True
    review_share: Share = Decimal(0)
    long_tail: LongTail | None = None
    # The sample sizes behind measured rates, for the uncertainty bands (None: taken as exact).
    accuracy_n: int | None = Field(default=None, gt=0)
    acceptance_n: int | None = Field(default=None, gt=0)


class LlmStrategy(Spec):
    name: str = Field(min_length=1)
    kind: Literal["llm"] = "llm"
    input_tokens_per_item: Amount | None = None
    output_tokens_per_item: Amount | None = None
    price_in_per_mtok: Amount | None = None
    price_out_per_mtok: Amount | None = None
    cost_per_item: Amount | None = None  # instead of tokens and prices, e.g. a recorded cost
    runs_per_item: int = Field(default=1, ge=1)
    batch_discount: Share = Decimal(0)
    acceptance_rate: Rate = Decimal(1)
    accuracy: Rate
    review_share: Share = Decimal(0)
    accuracy_n: int | None = Field(default=None, gt=0)
    acceptance_n: int | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _cost_fields(self) -> LlmStrategy:
        token_fields = (
            "input_tokens_per_item",
            "output_tokens_per_item",
            "price_in_per_mtok",
            "price_out_per_mtok",
        )
        missing = [f for f in token_fields if getattr(self, f) is None]
        if self.cost_per_item is None and missing:
            raise ValueError(f"expected {', '.join(missing)} (or cost_per_item)")
        if self.cost_per_item is not None and len(missing) < len(token_fields):
            raise ValueError("give either cost_per_item or tokens and prices, not both")
        return self


Policy = Literal["review_sample", "relabel_uncertain", "majority_vote"]


class HybridStrategy(Spec):
    name: str = Field(min_length=1)
    kind: Literal["hybrid"] = "hybrid"
    llm: str
    human: str
    policy: Policy = "review_sample"
    review_fraction: Share
    votes: int = Field(default=1, ge=1)
    error_capture: Share | None = None
    accuracy: Rate | None = None
    review_share: Share = Decimal(0)

    @model_validator(mode="after")
    def _policy_fields(self) -> HybridStrategy:
        if self.policy == "review_sample" and self.error_capture is not None:
            raise ValueError("error_capture applies to relabel_uncertain and majority_vote only")
        if self.policy == "majority_vote" and self.votes < 2:
            raise ValueError("majority_vote needs votes of at least 2")
        if self.policy != "majority_vote" and self.votes != 1:
            raise ValueError("votes applies to majority_vote only")
        return self


KINDS = ("human", "llm", "hybrid")
POLICIES: tuple[str, ...] = get_args(Policy)

Strategy = Annotated[HumanStrategy | LlmStrategy | HybridStrategy, Field(discriminator="kind")]


class Scenario(Spec):
    volume: int = Field(gt=0)
    currency: str
    hourly_rate: Amount = Decimal(0)
    review_seconds_per_item: Amount = Decimal(0)
    validation_items: int = Field(default=0, ge=0)
    validation_unit_price: Amount | None = None
    strategies: list[Strategy] = Field(min_length=1)

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        return check_currency(value)

    @model_validator(mode="after")
    def _references(self) -> Scenario:
        names = [s.name for s in self.strategies]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"strategy names must be unique; repeated: {', '.join(duplicates)}")
        kinds = {s.name: s.kind for s in self.strategies}
        for s in self.strategies:
            if isinstance(s, HybridStrategy):
                for role, wanted in (("llm", "llm"), ("human", "human")):
                    ref = getattr(s, role)
                    if kinds.get(ref) != wanted:
                        raise ValueError(
                            f"hybrid {s.name!r}: {role} must name a {wanted} strategy of this "
                            f"scenario, got {ref!r}"
                        )
        return self

    def strategy(self, name: str) -> HumanStrategy | LlmStrategy | HybridStrategy:
        for s in self.strategies:
            if s.name == name:
                return s
        raise KeyError(name)


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


class _Evaluator:
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
        price = self.scenario.validation_unit_price
        if price is not None:
            return items * price
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
    evaluator = _Evaluator(scenario, Decimal(volume or scenario.volume))
    return [evaluator.figures(s.name) for s in scenario.strategies]


def all_in_per_correct(scenario: Scenario, name: str, volume: int) -> Decimal:
    figures = _Evaluator(scenario, Decimal(volume)).figures(name)
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


# --- sensitivity and uncertainty ---------------------------------------------------------------

RATE_FIELDS = ("accuracy", "acceptance_rate", "review_fraction", "error_capture")
SKIPPED_FIELDS = {"name", "kind", "llm", "human", "policy", "pays_rejected", "long_tail"}
SKIPPED_FIELDS |= {"accuracy_n", "acceptance_n", "votes", "runs_per_item"}


@dataclass(frozen=True)
class TornadoBar:
    """Cost per correct label (all-in) of the target strategy at each end of one input's range."""

    input: str
    low_value: Decimal
    high_value: Decimal
    at_low: Decimal
    at_high: Decimal

    @property
    def swing(self) -> Decimal:
        return abs(self.at_high - self.at_low)


def input_range(
    strategy: Any, field: str, value: Decimal, spread: Decimal
) -> tuple[Decimal, Decimal]:
    """An input's low and high ends: the Wilson 95% interval when the rate was measured on n
    items (``field_n``), else ``value x (1 -/+ spread)``, with rates kept inside (0, 1]."""
    n = getattr(strategy, f"{field}_n", None)
    if n:
        interval = wilson_interval(round(value * n), n)
        assert interval is not None
        low, high = Decimal(str(interval.low)), Decimal(str(interval.high))
    else:
        low, high = value * (1 - spread), value * (1 + spread)
    if field in RATE_FIELDS:
        floor = Decimal("0.001") if field != "review_fraction" else Decimal(0)
        low, high = max(low, floor), min(high, Decimal(1))
    return low, high


def tornado(scenario: Scenario, target: str, spread: Decimal = Decimal("0.2")) -> list[TornadoBar]:
    """Sensitivity of the target's all-in cost per correct label to each input it depends on,
    one input at a time across its range (``input_range``), largest swing first."""
    chosen = scenario.strategy(target)
    names = {target}
    if isinstance(chosen, HybridStrategy):
        names |= {chosen.llm, chosen.human}
    elif isinstance(chosen, LlmStrategy) and scenario.validation_items:
        names |= {s.name for s in scenario.strategies if isinstance(s, HumanStrategy)}
    data = scenario.model_dump()
    bars: list[tuple[int | None, str]] = [
        (None, key) for key in ("hourly_rate", "review_seconds_per_item", "validation_items")
    ]
    for i, s in enumerate(scenario.strategies):
        if s.name in names:
            bars.extend(
                (i, f)
                for f, v in s.model_dump().items()
                if f not in SKIPPED_FIELDS and v is not None
            )
    result = []
    for index, field in bars:
        owner: Any = scenario if index is None else scenario.strategies[index]
        value = Decimal(getattr(owner, field))
        if not value and field not in RATE_FIELDS:
            continue
        ends = input_range(owner, field, value, spread)
        costs = []
        for end in ends:
            changed = _with(data, index, field, int(end) if field == "validation_items" else end)
            costs.append(
                all_in_per_correct(Scenario.model_validate(changed), target, scenario.volume)
            )
        label = field if index is None else f"{scenario.strategies[index].name}: {field}"
        result.append(TornadoBar(label, ends[0], ends[1], costs[0], costs[1]))
    return sorted(result, key=lambda bar: bar.swing, reverse=True)


def _with(data: dict[str, Any], index: int | None, field: str, value: Any) -> dict[str, Any]:
    changed = {**data, "strategies": [dict(s) for s in data["strategies"]]}
    (changed if index is None else changed["strategies"][index])[field] = value
    return changed


@dataclass(frozen=True)
class Band:
    """Percentiles of a strategy's all-in cost per correct label and accuracy over the draws."""

    name: str
    cost_p05: Decimal
    cost_p50: Decimal
    cost_p95: Decimal
    accuracy_p05: Decimal
    accuracy_p95: Decimal


def monte_carlo(scenario: Scenario, draws: int = 10_000, seed: int = 0) -> list[Band]:
    """Uncertainty bands: each measured rate (``accuracy`` or ``acceptance_rate`` with its
    ``_n``) is drawn from its Jeffreys posterior Beta(x + 1/2, n - x + 1/2), x = rate x n, all
    draws at once as numpy arrays, and every strategy is evaluated on the arrays by the same
    formulas; rates without an n stay fixed. Returns the 5th, 50th and 95th percentiles.
    """
    rng = np.random.default_rng(seed)
    drawn: dict[tuple[str, str], Any] = {}
    for s in scenario.strategies:
        for field in ("accuracy", "acceptance_rate"):
            n = getattr(s, f"{field}_n", None)
            value = getattr(s, field, None)
            if n and value is not None:
                x = float(value) * n
                drawn[(s.name, field)] = np.clip(rng.beta(x + 0.5, n - x + 0.5, draws), 1e-9, 1.0)

    def get(owner: Any, field: str) -> Any:
        name = getattr(owner, "name", "")
        if (name, field) in drawn:
            return drawn[(name, field)]
        return float(getattr(owner, field))

    evaluator = _Evaluator(scenario, float(scenario.volume), get)
    bands = []
    for s in scenario.strategies:
        figures = evaluator.figures(s.name)
        cost = np.broadcast_to(figures.all_in_cost_per_correct_label, (draws,))
        accuracy = np.broadcast_to(figures.accuracy, (draws,))
        c05, c50, c95 = np.percentile(cost, [5, 50, 95])
        a05, a95 = np.percentile(accuracy, [5, 95])
        bands.append(Band(s.name, *(_decimal(v) for v in (c05, c50, c95, a05, a95))))
    return bands


def _decimal(value: float) -> Decimal:
    return Decimal(repr(float(value)))


def read_scenario(content: bytes, filename: str) -> Scenario:
    """Parse and validate a scenario file (YAML or JSON); one ``InputError`` naming the line and
    field of every problem."""
    data, tree = parse_file(content, filename, "scenario")
    if not isinstance(data, dict):
        raise InputError(
            "expected a scenario with volume, currency and strategies", source=filename
        )
    return validate(Scenario, data, filename, tree)


def without_none(data: dict[str, Any]) -> dict[str, Any]:
    """A scenario dict with unset (``None``) fields removed, so their defaults apply."""
    return {
        **{k: v for k, v in data.items() if v is not None and k != "strategies"},
        "strategies": [
            {k: v for k, v in s.items() if v is not None} for s in data.get("strategies", [])
        ],
    }


def scenario_text(scenario: Scenario, fmt: str = "yaml") -> str:
    """The scenario as a file ``read_scenario`` reads back, without unset optional fields."""
    return dump(scenario.model_dump(mode="python", exclude_none=True), fmt)


# --- the report --------------------------------------------------------------------------------


def money_text(amount: Decimal) -> str:
    """An exact decimal string without exponent (JSON carries every digit; display rounds).

    >>> money_text(Decimal("3E-4")), money_text(Decimal("2.50000")), money_text(Decimal("1.25E+3"))
    ('0.0003', '2.5', '1250')
    """
    return format(amount.normalize(), "f")


def report(scenario: Scenario) -> dict[str, Any]:
    """Every figure of a scenario, for ``procure economics --json`` and the Economics page."""
    figures = evaluate(scenario)
    best_human = _best_human(figures)
    bands = {b.name: b for b in monte_carlo(scenario)}
    strategies = []
    for f in figures:
        entry: dict[str, Any] = {
            "name": f.name,
            "kind": f.kind,
            "accuracy": money_text(f.accuracy),
            "accuracy_estimated": f.accuracy_estimated,
            "acceptance_rate": money_text(f.acceptance_rate),
            "cost_per_label": money_text(f.cost_per_label),
            "cost_per_accepted_label": money_text(f.cost_per_accepted_label),
            "cost_per_correct_label": money_text(f.cost_per_correct_label),
            "total_cost": money_text(f.total_cost),
            "expected_correct": money_text(f.expected_correct),
            "validation_cost": money_text(f.validation_cost),
            "all_in_cost": money_text(f.all_in_cost),
            "all_in_cost_per_correct_label": money_text(f.all_in_cost_per_correct_label),
            "review_hours": money_text(f.review_hours),
            "break_even_volume": None,
            "break_even_accuracy": None,
        }
        if best_human is not None and f.kind != "human":
            entry["break_even_volume"] = break_even_volume(scenario, f.name, best_human.name)
            needed = break_even_accuracy(
                f.cost_per_accepted_label, best_human.cost_per_correct_label
            )
            entry["break_even_accuracy"] = None if needed is None else money_text(needed)
        band = bands[f.name]
        entry["all_in_cost_per_correct_label_p05_p95"] = [
            money_text(band.cost_p05),
            money_text(band.cost_p95),
        ]
        entry["accuracy_p05_p95"] = [money_text(band.accuracy_p05), money_text(band.accuracy_p95)]
        strategies.append(entry)
    return {
        "volume": scenario.volume,
        "currency": scenario.currency,
        "compared_with": None if best_human is None else best_human.name,
        "cheapest": min(figures, key=lambda f: f.all_in_cost_per_correct_label).name,
        "summary": summary(scenario, figures),
        "strategies": strategies,
    }


def summary(scenario: Scenario, figures: list[Figures]) -> str:
    """One plain sentence: the cheapest strategy per correct label against the best vendor."""
    cheapest = min(figures, key=lambda f: f.all_in_cost_per_correct_label)
    text = (
        f"At {scenario.volume:,} labels, {cheapest.name} costs "
        f"{money_text(_round(cheapest.all_in_cost_per_correct_label))} {scenario.currency} per correct label"
        f" (accuracy {float(cheapest.accuracy):.1%}{', estimated' if cheapest.accuracy_estimated else ''})"
    )
    best_human = _best_human(figures)
    if best_human is not None and best_human is not cheapest:
        ratio = best_human.all_in_cost_per_correct_label / cheapest.all_in_cost_per_correct_label
        text += f", {float(ratio):,.1f} times less than {best_human.name}"
    return text + "."


def _best_human(figures: list[Figures]) -> Figures | None:
    humans = [f for f in figures if f.kind == "human"]
    return min(humans, key=lambda f: f.all_in_cost_per_correct_label, default=None)


def _round(amount: Decimal) -> Decimal:
    """Four significant figures, for prose."""
    if not amount:
        return amount
    return round(amount, max(0, 3 - amount.adjusted()))


def curve(scenario: Scenario, volumes: Iterable[int]) -> list[dict[str, Any]]:
    """All-in cost per correct label of every strategy at each volume: the break-even chart."""
    rows = []
    for volume in volumes:
        for f in evaluate(scenario, volume):
            rows.append(
                {
                    "volume": volume,
                    "strategy": f.name,
                    "cost_per_correct_label": f.all_in_cost_per_correct_label,
                }
            )
    return rows
