"""Sensitivity (a tornado of one input at a time) and uncertainty (Monte Carlo bands) of a scenario's
figures."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np

from procure.economics.formulas import Evaluator, all_in_per_correct
from procure.economics.scenario import HumanStrategy, HybridStrategy, LlmStrategy, Scenario
from procure.quality.stats.acceptance import wilson_interval

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

    evaluator = Evaluator(scenario, float(scenario.volume), get)
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
