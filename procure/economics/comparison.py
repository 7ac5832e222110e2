"""The economics report: every strategy's figures, the summary, and the cost curve by volume."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from procure.economics.formulas import Figures, break_even_accuracy, break_even_volume, evaluate
from procure.economics.scenario import Scenario
from procure.economics.uncertainty import monte_carlo
from procure.results import decimal_text


@dataclass(frozen=True)
class StrategyReport:
    """One strategy's figures (see ``formulas``), its break-even against the best human strategy
    (``None`` for a human strategy, or with none to compare with), and its Monte Carlo 5th to
    95th percentiles."""

    name: str
    kind: str
    accuracy: Decimal
    accuracy_estimated: bool
    acceptance_rate: Decimal
    cost_per_label: Decimal
    cost_per_accepted_label: Decimal
    cost_per_correct_label: Decimal
    total_cost: Decimal
    expected_correct: Decimal
    validation_cost: Decimal
    all_in_cost: Decimal
    all_in_cost_per_correct_label: Decimal
    review_hours: Decimal
    break_even_volume: int | None
    break_even_accuracy: Decimal | None
    all_in_cost_per_correct_label_p05_p95: tuple[Decimal, Decimal]
    accuracy_p05_p95: tuple[Decimal, Decimal]


@dataclass(frozen=True)
class EconomicsReport:
    """``procure economics --json`` and the Economics page: money in ``currency``."""

    volume: int
    currency: str
    compared_with: str | None  # the human strategy with the lowest all-in cost per correct label
    cheapest: str
    summary: str
    strategies: list[StrategyReport]


@dataclass(frozen=True)
class CurvePoint:
    volume: int
    strategy: str
    cost_per_correct_label: Decimal


def report(scenario: Scenario) -> EconomicsReport:
    """Every figure of a scenario, for ``procure economics --json`` and the Economics page."""
    figures = evaluate(scenario)
    best_human = _best_human(figures)
    bands = {b.name: b for b in monte_carlo(scenario)}
    strategies = []
    for f in figures:
        break_even_at, needed = None, None
        if best_human is not None and f.kind != "human":
            break_even_at = break_even_volume(scenario, f.name, best_human.name)
            needed = break_even_accuracy(
                f.cost_per_accepted_label, best_human.cost_per_correct_label
            )
        band = bands[f.name]
        strategies.append(
            StrategyReport(
                name=f.name,
                kind=f.kind,
                accuracy=f.accuracy,
                accuracy_estimated=f.accuracy_estimated,
                acceptance_rate=f.acceptance_rate,
                cost_per_label=f.cost_per_label,
                cost_per_accepted_label=f.cost_per_accepted_label,
                cost_per_correct_label=f.cost_per_correct_label,
                total_cost=f.total_cost,
                expected_correct=f.expected_correct,
                validation_cost=f.validation_cost,
                all_in_cost=f.all_in_cost,
                all_in_cost_per_correct_label=f.all_in_cost_per_correct_label,
                review_hours=f.review_hours,
                break_even_volume=break_even_at,
                break_even_accuracy=needed,
                all_in_cost_per_correct_label_p05_p95=(band.cost_p05, band.cost_p95),
                accuracy_p05_p95=(band.accuracy_p05, band.accuracy_p95),
            )
        )
    return EconomicsReport(
        volume=scenario.volume,
        currency=scenario.currency,
        compared_with=None if best_human is None else best_human.name,
        cheapest=min(figures, key=lambda f: f.all_in_cost_per_correct_label).name,
        summary=summary(scenario, figures),
        strategies=strategies,
    )


def summary(scenario: Scenario, figures: list[Figures]) -> str:
    """One plain sentence: the cheapest strategy per correct label against the best vendor."""
    cheapest = min(figures, key=lambda f: f.all_in_cost_per_correct_label)
    text = (
        f"At {scenario.volume:,} labels, {cheapest.name} costs "
        f"{decimal_text(_round(cheapest.all_in_cost_per_correct_label))} {scenario.currency} per correct label"
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


def curve(scenario: Scenario, volumes: Iterable[int]) -> list[CurvePoint]:
    """All-in cost per correct label of every strategy at each volume: the break-even chart."""
    return [
        CurvePoint(volume, f.name, f.all_in_cost_per_correct_label)
        for volume in volumes
        for f in evaluate(scenario, volume)
    ]
