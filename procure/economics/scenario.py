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

from decimal import Decimal
from typing import Annotated, Any, Literal, get_args

from pydantic import Field, field_validator, model_validator

from procure.documents import Spec, dump, parse_file, validate
from procure.errors import InputError
from procure.money import check_currency

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


def edited_scenario(
    measured: dict[str, Any],
    *,
    volume: int,
    hourly_rate: float,
    review_seconds_per_item: float,
    validation_items: int,
    strategies: list[dict[str, Any]],
) -> Scenario:
    """The measured scenario (a dict of it) with a user's edits, validated. A number input gives
    a float, so an input left as it was keeps the measured exact Decimal."""

    def edited(field: str, value: float) -> Any:
        return measured[field] if value == float(measured[field]) else Decimal(repr(value))

    data = {
        **measured,
        "volume": volume,
        "hourly_rate": edited("hourly_rate", hourly_rate),
        "review_seconds_per_item": edited("review_seconds_per_item", review_seconds_per_item),
        "validation_items": validation_items,
        "strategies": strategies,
    }
    return validate(Scenario, without_none(data), "economics inputs")


def scenario_text(scenario: Scenario, fmt: str = "yaml") -> str:
    """The scenario as a file ``read_scenario`` reads back, without unset optional fields."""
    return dump(scenario.model_dump(mode="python", exclude_none=True), fmt)
