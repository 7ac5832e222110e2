"""Schedule vs actual and burn-up, hand-computed."""

from datetime import date

from procure.delivery.schedule import (
    Delivery,
    PlanLine,
    WeekState,
    burnup,
    schedule_vs_actual,
    week_due_date,
    week_of,
)
from procure.kinds import BatchStatus
from procure.records.pricing import accepted_units
from procure.records.terms import week_count

START, END = date(2026, 10, 5), date(2026, 11, 15)  # Monday to Sunday, six weeks


def test_weeks_and_due_dates() -> None:
    assert week_count(START, END) == 6
    assert week_due_date(START, END, 1) == date(2026, 10, 11)
    assert week_due_date(START, END, 6) == END
    assert week_due_date(START, date(2026, 11, 10), 6) == date(2026, 11, 10)  # capped at the end
    assert week_of(START, date(2026, 10, 12)) == 2
    assert week_of(START, date(2026, 10, 4)) == 0


def test_accepted_units_by_status() -> None:
    assert accepted_units(BatchStatus.accepted, 100, None) == 100
    assert accepted_units(BatchStatus.partially_accepted, 100, 70) == 70
    assert accepted_units(BatchStatus.rejected, 100, None) == 0
    assert accepted_units(BatchStatus.in_review, 100, None) == 0


def _delivery(week: int, day: date, quantity: int, accepted: int = 0, task: str = "t") -> Delivery:
    return Delivery(
        batch_id=week,
        week=week,
        task_type=task,
        delivered_on=day,
        quantity=quantity,
        accepted=accepted,
    )


def test_states_late_short_missing_upcoming() -> None:
    plan = [PlanLine(week, "t", 100) for week in range(1, 7)]
    deliveries = [
        _delivery(1, date(2026, 10, 10), 100, 100),  # due 10-11: on time
        _delivery(2, date(2026, 10, 21), 100, 90),  # due 10-18: 3 days late
        _delivery(3, date(2026, 10, 25), 60),  # due 10-25: on the day, 40 short
        _delivery(4, date(2026, 11, 4), 50),  # due 11-01: 3 days late and 50 short
        # week 5 (due 11-08): nothing
        _delivery(6, date(2026, 11, 9), 100),  # due 11-15, already complete
        _delivery(7, date(2026, 11, 9), 5),  # not in the plan
    ]
    rows = {
        row.week: row
        for row in schedule_vs_actual(START, END, plan, deliveries, as_of=date(2026, 11, 10))
    }
    assert rows[1].state is WeekState.on_time
    assert (rows[2].state, rows[2].days_late, rows[2].accepted) == (WeekState.late, 3, 90)
    assert (rows[3].state, rows[3].short_by, rows[3].days_late) == (WeekState.short, 40, 0)
    assert (rows[4].state, rows[4].short_by, rows[4].days_late) == (WeekState.late_and_short, 50, 3)
    assert (rows[5].state, rows[5].short_by, rows[5].days_late) == (WeekState.missing, 100, 2)
    assert (rows[6].state, rows[6].short_by) == (WeekState.on_time, 0)
    assert rows[7].state is WeekState.unplanned
    assert [rows[w].is_problem for w in range(1, 8)] == [
        False,
        True,
        True,
        True,
        True,
        False,
        False,
    ]


def test_a_week_not_yet_due_is_upcoming_not_short() -> None:
    [row] = schedule_vs_actual(
        START,
        END,
        [PlanLine(6, "t", 100)],
        [_delivery(6, date(2026, 11, 9), 30)],
        date(2026, 11, 10),
    )
    assert (row.state, row.short_by) == (WeekState.upcoming, 0)


def test_task_types_are_tracked_separately() -> None:
    plan = [PlanLine(1, "a", 10), PlanLine(1, "b", 10)]
    rows = schedule_vs_actual(
        START, END, plan, [_delivery(1, date(2026, 10, 9), 10, task="a")], date(2026, 11, 1)
    )
    assert [(r.task_type, r.state) for r in rows] == [
        ("a", WeekState.on_time),
        ("b", WeekState.missing),
    ]


def test_burnup_accumulates_and_stops_at_today() -> None:
    week_ends = [week_due_date(START, END, w) for w in range(1, 4)]
    points = burnup(
        [(week_ends[0], 100), (week_ends[1], 100), (week_ends[2], 100)],
        [
            (date(2026, 10, 10), 100, 100),
            (date(2026, 10, 19), 80, 40),
        ],  # second one lands in week 3
        week_ends,
        as_of=date(2026, 10, 20),
    )
    assert [(p.planned, p.delivered, p.accepted) for p in points] == [
        (100, 100, 100),
        (200, 100, 100),
        (300, 180, 140),
    ]
    later = burnup([], [], [date(2026, 12, 6)], as_of=date(2026, 10, 20))
    assert (later[0].delivered, later[0].accepted) == (None, None)
