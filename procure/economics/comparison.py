"""The economics report: every strategy's figures, the summary, and the cost curve by volume."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from procure.economics.formulas import Figures, break_even_accuracy, break_even_volume, evaluate
from procure.economics.scenario import Scenario
from procure.economics.uncertainty import monte_carlo

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
