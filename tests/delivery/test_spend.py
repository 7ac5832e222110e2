"""Spend, pending value and projection of a contract, hand-computed."""

from decimal import Decimal as D

from procure.delivery.spend import BatchFacts, LineInput, contract_spend, future_units
from procure.kinds import BatchStatus, DiscountKind
from procure.records.pricing import DiscountRule, PriceSchedule, Tier

NORTHWIND = PriceSchedule(D("3.50"), (Tier(20001, D("3.20")),))
FIRST_BATCH = (DiscountRule(DiscountKind.first_batch, D(10)),)
SIX_WEEKS = tuple((week, 5000) for week in range(1, 7))


def _line(
    *batches: BatchFacts, prices: PriceSchedule = NORTHWIND, quantity: int = 30000
) -> LineInput:
    return LineInput("pref_pair", prices, FIRST_BATCH, quantity, SIX_WEEKS, batches)


def test_northwind_sample_contract() -> None:
    batches = [BatchFacts(i, i, BatchStatus.accepted, 5000, None) for i in (1, 2, 3)]
    batches.append(BatchFacts(4, 4, BatchStatus.in_review, 5000, None))
    spend = contract_spend("USD", D(105000), [_line(*batches)])
    # 5000 x 3.50 x 0.9 + 2 x 5000 x 3.50 = 15,750 + 35,000
    assert spend.spent == D("50750")
    assert spend.pending == D("17500")  # units 15,001-20,000 at 3.50, priced as if accepted
    assert spend.remaining == D("32000")  # weeks 5 and 6: 10,000 pairs at 3.20
    assert spend.projected == D("100250")
    assert spend.over_budget_by == 0
    assert spend.spent_share == float(D("50750") / D(105000))
    assert spend.budget_left == D("54250")


def test_rejected_units_are_not_paid_and_are_still_to_come() -> None:
    batches = (
        BatchFacts(1, 1, BatchStatus.rejected, 5000, None),
        BatchFacts(2, 1, BatchStatus.partially_accepted, 5000, 4000),
    )
    spend = contract_spend("USD", D(1000), [_line(*batches)])
    assert [c.billable_units for c in spend.batches] == [0, 4000]
    assert spend.spent == D("12600")  # 4000 x 3.50 x 0.9 (a week-1 batch)
    # 26,000 units to come: week 1 short by 1,000 (discounted), weeks 2-6 in full;
    # units 4,001-20,000 at 3.50 and 20,001-30,000 at 3.20
    week1 = D(1000) * D("3.50") * D("0.9")
    rest = D(15000) * D("3.50") + D(10000) * D("3.20")
    assert spend.remaining == week1 + rest
    assert spend.over_budget_by == spend.projected - D(1000)


def test_future_units_fill_the_earliest_weeks_first() -> None:
    over = _line(BatchFacts(1, 1, BatchStatus.accepted, 12000, None))
    assert [(b.week, b.units) for b in future_units(over)] == [
        (3, 3000),
        (4, 5000),
        (5, 5000),
        (6, 5000),
    ]


def test_contracted_quantity_beyond_the_schedule_is_projected() -> None:
    line = _line(quantity=40000)
    future = future_units(line)
    assert future[-1].week == 0 and future[-1].units == 10000
    assert sum(b.units for b in future) == 40000


def test_no_budget_means_no_share() -> None:
    spend = contract_spend("USD", D(0), [])
    assert spend.spent_share is None and spend.projected_share is None
    assert spend.projected == 0
