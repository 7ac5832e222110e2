"""Effective unit prices: graduated volume tiers and discounts. Pure functions, exact Decimals.

Pricing belongs to the records: a decision freezes what a batch cost, in the same transaction
that records it, and the delivery reports price the undecided batches with the same functions.

Tiers are *graduated* (like tax brackets): a price line costs ``base_price`` per unit from unit 1,
and each tier sets the price of every unit from its ``from_unit`` on, until the next tier starts,
so a batch that straddles a threshold pays both prices.

Tier positions are consumed by decisions, once: a decided batch's units take the positions
right after the highest position any other frozen batch of the line holds, in the order
decisions are made, and keep them. A re-decision prices the batch again after the positions the
others hold (the same place when it held the highest; a range it leaves below another batch's
stays unused). Undecided batches are priced provisionally after every frozen position, in
delivery order (delivery date, then record id), and the units still to come after them. No
position is ever paid twice, and a frozen price depends on nothing decided after it.

Discounts are percentages off. A ``first_batch`` discount applies to batches of schedule week 1;
a ``flat`` discount to every unit. Several applicable discounts compound multiplicatively:
``price x (1 - d1/100) x (1 - d2/100)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from procure.kinds import BatchStatus, DiscountKind

HUNDRED = Decimal(100)
PENDING = (BatchStatus.received, BatchStatus.in_review)


def accepted_units(status: BatchStatus, quantity: int, accepted_quantity: int | None) -> int:
    """Units of a batch that were accepted: all, none, or the partial quantity."""
    if status is BatchStatus.accepted:
        return quantity
    if status is BatchStatus.partially_accepted:
        return accepted_quantity or 0
    return 0


def billable_units(status: BatchStatus, quantity: int, accepted_quantity: int | None) -> int:
    """Units that count towards spend: the accepted ones of a decided batch and, provisionally,
    every unit of one still received or in review."""
    if status in PENDING:
        return quantity
    return accepted_units(status, quantity, accepted_quantity)


@dataclass(frozen=True)
class Tier:
    from_unit: int
    unit_price: Decimal


@dataclass(frozen=True)
class PriceSchedule:
    """A price line's unit price and its graduated tiers (sorted by ``from_unit``)."""

    base_price: Decimal
    tiers: tuple[Tier, ...] = ()

    def __post_init__(self) -> None:
        starts = [tier.from_unit for tier in self.tiers]
        if starts != sorted(set(starts)) or any(start <= 1 for start in starts):
            raise ValueError("tiers must start after unit 1 at strictly increasing units")

    def cost_of_units(self, first_unit: int, count: int) -> Decimal:
        """Cost of units ``first_unit`` .. ``first_unit + count - 1`` (1-based).

        Each unit costs the price of the last tier starting at or before it, else the base
        price: cost = sum over price segments of (units of the range inside the segment) x price.

        >>> line = PriceSchedule(Decimal("2.00"), (Tier(101, Decimal("1.50")),))
        >>> line.cost_of_units(91, 20)  # 10 units at 2.00 + 10 units at 1.50
        Decimal('35.00')
        """
        if count <= 0:
            return Decimal(0)
        last_unit = first_unit + count - 1
        starts = [1, *(tier.from_unit for tier in self.tiers)]
        prices = [self.base_price, *(tier.unit_price for tier in self.tiers)]
        ends = [start - 1 for start in starts[1:]] + [last_unit]
        total = Decimal(0)
        for start, end, price in zip(starts, ends, prices, strict=True):
            overlap = min(end, last_unit) - max(start, first_unit) + 1
            if overlap > 0:
                total += overlap * price
        return total


@dataclass(frozen=True)
class DiscountRule:
    kind: DiscountKind
    percent: Decimal


def discount_factor(rules: Iterable[DiscountRule], week: int) -> Decimal:
    """Multiplier left after the discounts that apply to a batch of schedule ``week``.

    >>> discount_factor([DiscountRule(DiscountKind.first_batch, Decimal(10))], week=1)
    Decimal('0.9')
    >>> discount_factor([DiscountRule(DiscountKind.first_batch, Decimal(10))], week=2)
    Decimal('1')
    """
    factor = Decimal(1)
    for rule in rules:
        if rule.kind == DiscountKind.flat or (rule.kind == DiscountKind.first_batch and week == 1):
            factor *= 1 - rule.percent / HUNDRED
    return factor


@dataclass(frozen=True)
class BillableBatch:
    """A batch's units that count towards spend, in delivery order."""

    batch_id: int
    week: int
    units: int


@dataclass(frozen=True)
class PricedBatch:
    batch_id: int
    units: int
    first_unit: int
    list_cost: Decimal  # after tiers, before discounts
    cost: Decimal  # after tiers and discounts

    @property
    def effective_unit_price(self) -> Decimal | None:
        """Cost per billable unit, or ``None`` for a batch with no billable units."""
        return self.cost / self.units if self.units else None


@dataclass(frozen=True)
class LineBatch:
    """A batch of one price line, with the terms in force on its delivery day and, once decided,
    its frozen price (which is used as it is: nothing edited later reprices it)."""

    batch_id: int
    week: int
    units: int  # billable units
    prices: PriceSchedule
    discounts: tuple[DiscountRule, ...]
    frozen: PricedBatch | None = None


def frozen_top(batches: Sequence[LineBatch]) -> int:
    """The highest tier position a frozen batch of the line holds (0 when none does)."""
    return max(
        (b.frozen.first_unit + b.frozen.units - 1 for b in batches if b.frozen and b.frozen.units),
        default=0,
    )


def price_line(batches: Sequence[LineBatch]) -> list[PricedBatch]:
    """Price one line's batches (given in delivery order), each under its own terms: frozen ones
    as frozen, the others from the position after ``frozen_top`` on (see the module docstring).

    >>> two = PriceSchedule(Decimal("2.00"), (Tier(11, Decimal("1.00")),))
    >>> frozen = PricedBatch(2, 10, 1, Decimal("20.00"), Decimal("20.00"))  # units 1-10
    >>> [(p.first_unit, p.cost) for p in price_line(
    ...     [LineBatch(1, 1, 5, two, ()), LineBatch(2, 2, 10, two, (), frozen)])]
    [(11, Decimal('5.00')), (1, Decimal('20.00'))]
    """
    position = frozen_top(batches)
    priced = []
    for batch in batches:
        if batch.frozen is not None:
            priced.append(batch.frozen)
            continue
        priced.append(price_at(batch, position + 1))
        position += batch.units
    return priced


def price_at(batch: LineBatch, first_unit: int) -> PricedBatch:
    """A batch's units priced from tier position ``first_unit`` on, discounts applied."""
    list_cost = batch.prices.cost_of_units(first_unit, batch.units)
    cost = list_cost * discount_factor(batch.discounts, batch.week)
    return PricedBatch(batch.batch_id, batch.units, first_unit, list_cost, cost)


def price_batches(
    schedule: PriceSchedule,
    discounts: Sequence[DiscountRule],
    batches: Sequence[BillableBatch],
    *,
    units_before: int = 0,
) -> list[PricedBatch]:
    """Price one line's batches in the given (delivery) order, numbering units after ``units_before``.

    >>> line = PriceSchedule(Decimal("3.00"), (Tier(1001, Decimal("2.50")),))
    >>> first, second = price_batches(
    ...     line,
    ...     [DiscountRule(DiscountKind.first_batch, Decimal(10))],
    ...     [BillableBatch(1, week=1, units=800), BillableBatch(2, week=2, units=400)],
    ... )
    >>> first.cost, second.cost  # 800 x 3.00 x 0.9; 200 x 3.00 + 200 x 2.50
    (Decimal('2160.000'), Decimal('1100.00'))
    """
    priced = []
    position = units_before
    for batch in batches:
        line = LineBatch(batch.batch_id, batch.week, batch.units, schedule, tuple(discounts))
        priced.append(price_at(line, position + 1))
        position += batch.units
    return priced
