"""Spend against budget and the projection to the end of a contract. Pure functions, Decimals.

Per batch, the billable units are: all units of an accepted batch, the accepted quantity of a
partially accepted one, none of a rejected one (the contract does not pay for rejected units),
and, provisionally, all units of a batch still received or in review (``pending``).

- ``spent`` = cost of accepted units at their effective prices (tiers, then discounts): for a
  decided batch, the price frozen by its decision;
- ``pending`` = what the undecided batches would cost if accepted in full, under the contract
  version in force on their delivery day;
- ``remaining`` = the units still to come, priced at the tier positions after the last one used
  (frozen or pending) under the newest
  terms: per task type, ``max(contracted quantity, scheduled quantity)`` minus the units spent or
  pending, allocated to the earliest scheduled weeks first (so a week-1 shortfall keeps its
  first-batch discount); nothing is still to come once a contract has ended;
- ``projected = spent + pending + remaining``, compared with the committed budget.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from procure.delivery.schedule import PlanLine
from procure.kinds import BatchStatus
from procure.records.pricing import (
    PENDING,
    BillableBatch,
    DiscountRule,
    LineBatch,
    PricedBatch,
    PriceSchedule,
    billable_units,
    price_batches,
    price_line,
)


@dataclass(frozen=True)
class BatchFacts:
    """A batch of a line; ``prices`` and ``discounts`` are the terms in force on its delivery day
    (``None``: the line's), ``frozen`` the price its decision froze."""

    batch_id: int
    week: int
    status: BatchStatus
    quantity: int
    accepted_quantity: int | None
    prices: PriceSchedule | None = None
    discounts: tuple[DiscountRule, ...] | None = None
    frozen: PricedBatch | None = None

    @property
    def billable_units(self) -> int:
        return billable_units(self.status, self.quantity, self.accepted_quantity)


@dataclass(frozen=True)
class LineInput:
    """One price line of a contract with its plan and its batches in delivery order."""

    task_type: str
    prices: PriceSchedule
    discounts: tuple[DiscountRule, ...]
    contracted_quantity: int
    planned_by_week: tuple[tuple[int, int], ...]  # (week, planned units)
    batches: tuple[BatchFacts, ...]


@dataclass(frozen=True)
class BatchCost:
    batch_id: int
    task_type: str
    billable_units: int
    pending: bool
    list_cost: Decimal
    cost: Decimal
    first_unit: int  # the first tier position its units take

    @property
    def effective_unit_price(self) -> Decimal | None:
        return self.cost / self.billable_units if self.billable_units else None


@dataclass(frozen=True)
class ContractSpend:
    currency: str
    budget: Decimal
    spent: Decimal
    pending: Decimal
    remaining: Decimal
    batches: tuple[BatchCost, ...]

    @property
    def projected(self) -> Decimal:
        return self.spent + self.pending + self.remaining

    @property
    def budget_left(self) -> Decimal:
        return self.budget - self.spent

    @property
    def spent_share(self) -> float | None:
        """Share of the budget spent; ``None`` when the budget is zero."""
        return float(self.spent / self.budget) if self.budget else None

    @property
    def committed_share(self) -> float | None:
        """Share of the budget spent or pending."""
        return float((self.spent + self.pending) / self.budget) if self.budget else None

    @property
    def projected_share(self) -> float | None:
        return float(self.projected / self.budget) if self.budget else None

    @property
    def over_budget_by(self) -> Decimal:
        return max(Decimal(0), self.projected - self.budget)


def future_units(line: LineInput) -> list[BillableBatch]:
    """Units still to come, as one pseudo-batch per scheduled week with a shortfall (see module).

    >>> from procure.records.pricing import PriceSchedule
    >>> line = LineInput("t", PriceSchedule(Decimal(1)), (), 100, ((1, 50), (2, 50)),
    ...                  (BatchFacts(1, 1, BatchStatus.accepted, 30, None),))
    >>> [(b.week, b.units) for b in future_units(line)]
    [(1, 20), (2, 50)]
    """
    covered = sum(batch.billable_units for batch in line.batches)
    future = []
    for week, planned in sorted(line.planned_by_week):
        taken = min(planned, covered)
        covered -= taken
        if planned > taken:
            future.append(BillableBatch(batch_id=-week, week=week, units=planned - taken))
    scheduled = sum(planned for _, planned in line.planned_by_week)
    beyond_schedule = max(0, line.contracted_quantity - scheduled - covered)
    if beyond_schedule:
        future.append(BillableBatch(batch_id=0, week=0, units=beyond_schedule))
    return future


def contract_spend(
    currency: str, budget: Decimal, lines: Sequence[LineInput], *, ended: bool = False
) -> ContractSpend:
    """Spent, pending and remaining value of a contract (see the module docstring)."""
    spent = pending = remaining = Decimal(0)
    costs: list[BatchCost] = []
    for line in lines:
        priced = price_line(
            [
                LineBatch(
                    b.batch_id,
                    b.week,
                    b.billable_units,
                    line.prices if b.prices is None else b.prices,
                    line.discounts if b.discounts is None else b.discounts,
                    b.frozen,
                )
                for b in line.batches
            ]
        )
        for facts, price in zip(line.batches, priced, strict=True):
            is_pending = facts.status in PENDING
            costs.append(
                BatchCost(
                    facts.batch_id,
                    line.task_type,
                    price.units,
                    is_pending,
                    price.list_cost,
                    price.cost,
                    price.first_unit,
                )
            )
            if is_pending:
                pending += price.cost
            else:
                spent += price.cost
        if ended:
            continue
        last_position = max((p.first_unit + p.units - 1 for p in priced), default=0)
        future = price_batches(
            line.prices, line.discounts, future_units(line), units_before=last_position
        )
        remaining += sum((batch.cost for batch in future), Decimal(0))
    return ContractSpend(currency, budget, spent, pending, remaining, tuple(costs))


@dataclass(frozen=True)
class MoneyPoint:
    """Cumulative value by week end: of the plan at the newest prices, of what was accepted
    (spent), and of what was delivered (spent plus pending); ``None`` for actuals after the
    report date."""

    week_end: date
    planned: Decimal
    spent: Decimal | None
    delivered: Decimal | None


def planned_value(
    lines: list[LineInput], dues: list[tuple[date, PlanLine]]
) -> list[tuple[date, Decimal]]:
    """Each plan entry's value by its due date: the plan priced under the newest terms, week by
    week in order, as if every planned unit came."""
    cost: dict[tuple[int, str], Decimal] = {}
    for line in lines:
        weeks = sorted(line.planned_by_week)
        priced = price_batches(
            line.prices, line.discounts, [BillableBatch(-w, w, units) for w, units in weeks]
        )
        for (week, _), price in zip(weeks, priced, strict=True):
            cost[(week, line.task_type)] = price.cost
    return [(due, cost.get((p.week, p.task_type), Decimal(0))) for due, p in dues]


def money_burnup(
    planned: list[tuple[date, Decimal]],
    done: list[tuple[date, Decimal, bool]],
    week_ends: list[date],
    as_of: date,
) -> list[MoneyPoint]:
    """Cumulative planned value (by due date), spent and delivered value (by delivery date) at
    each week end; actuals stop at the report date.

    >>> d = date(2026, 1, 7)
    >>> points = money_burnup([(d, Decimal(10))], [(d, Decimal(4), False), (d, Decimal(3), True)],
    ...                       [d, d + timedelta(days=7)], as_of=d)
    >>> [(p.planned, p.spent, p.delivered) for p in points]
    [(Decimal('10'), Decimal('4'), Decimal('7')), (Decimal('10'), None, None)]
    """
    points = []
    for week_end in week_ends:
        plan = sum((amount for due, amount in planned if due <= week_end), Decimal(0))
        if week_end - timedelta(days=6) > as_of:
            points.append(MoneyPoint(week_end, plan, None, None))
            continue
        cutoff = min(week_end, as_of)
        arrived = [(amount, pending) for day, amount, pending in done if day <= cutoff]
        spent = sum((amount for amount, pending in arrived if not pending), Decimal(0))
        pending = sum((amount for amount, pending in arrived if pending), Decimal(0))
        points.append(MoneyPoint(week_end, plan, spent, spent + pending))
    return points
