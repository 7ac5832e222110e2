"""Effective prices: graduated tiers and discounts, hand-computed."""

from decimal import Decimal as D

import pytest

from procure.kinds import DiscountKind
from procure.records.pricing import (
    BillableBatch,
    DiscountRule,
    PriceSchedule,
    Tier,
    discount_factor,
    price_batches,
)

LADDER = PriceSchedule(D("2.00"), (Tier(101, D("1.50")), Tier(201, D("1.00"))))


@pytest.mark.parametrize(
    ("first", "count", "expected"),
    [
        (1, 100, D("200.00")),  # all at the base price
        (1, 101, D("201.50")),  # 100 x 2.00 + 1 x 1.50
        (91, 20, D("35.00")),  # 10 x 2.00 + 10 x 1.50
        (1, 250, D("400.00")),  # 100 x 2.00 + 100 x 1.50 + 50 x 1.00
        (150, 100, D("125.50")),  # 51 x 1.50 + 49 x 1.00 = 76.50 + 49.00
        (500, 3, D("3.00")),  # all in the last tier
        (1, 0, D("0")),
    ],
)
def test_graduated_tiers(first: int, count: int, expected: D) -> None:
    assert LADDER.cost_of_units(first, count) == expected


def test_splitting_a_range_never_changes_its_cost() -> None:
    for cut in range(1, 300, 7):
        assert LADDER.cost_of_units(1, cut) + LADDER.cost_of_units(
            cut + 1, 300 - cut
        ) == LADDER.cost_of_units(1, 300)


def test_tiers_must_not_overlap_or_start_at_unit_one() -> None:
    with pytest.raises(ValueError, match="strictly increasing"):
        PriceSchedule(D(1), (Tier(101, D(1)), Tier(101, D("0.9"))))
    with pytest.raises(ValueError):
        PriceSchedule(D(1), (Tier(1, D(1)),))


def test_discounts_compound_and_first_batch_is_week_one_only() -> None:
    rules = [DiscountRule(DiscountKind.first_batch, D(10)), DiscountRule(DiscountKind.flat, D(5))]
    assert discount_factor(rules, week=1) == D("0.855")  # 0.90 x 0.95
    assert discount_factor(rules, week=2) == D("0.95")
    assert discount_factor([], week=1) == D(1)


def test_batches_are_numbered_in_delivery_order_and_priced_across_thresholds() -> None:
    # Northwind sample: 3.50 a pair, 3.20 from pair 20,001, 10% off week 1.
    line = PriceSchedule(D("3.50"), (Tier(20001, D("3.20")),))
    batches = [BillableBatch(i, week=i, units=5000) for i in range(1, 6)] + [
        BillableBatch(6, week=6, units=2000)
    ]
    priced = price_batches(line, [DiscountRule(DiscountKind.first_batch, D(10))], batches)
    assert [p.first_unit for p in priced] == [1, 5001, 10001, 15001, 20001, 25001]
    assert priced[0].cost == D("15750.00")  # 5000 x 3.50 x 0.9
    assert priced[3].cost == D("17500.00")
    assert priced[4].cost == D("16000.00")  # 5000 x 3.20
    assert priced[0].effective_unit_price == D("3.15")
    assert priced[4].effective_unit_price == D("3.2")


def test_units_before_continue_the_numbering() -> None:
    [priced] = price_batches(LADDER, [], [BillableBatch(1, week=3, units=20)], units_before=90)
    assert priced.first_unit == 91
    assert priced.cost == D("35.00")


def test_a_batch_without_billable_units_has_no_unit_price() -> None:
    [priced] = price_batches(LADDER, [], [BillableBatch(1, week=1, units=0)])
    assert priced.cost == 0
    assert priced.effective_unit_price is None
