"""Delivery schedule against actual batches: weeks, lateness, shortfall and burn-up. Pure functions.

A contract's week ``w`` runs from ``start + 7(w-1)`` to ``start + 7w - 1`` (the last week ends at the
contract's end date); the end of that window is the week's due date.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum


def week_due_date(start: date, end: date, week: int) -> date:
    """Last day of contract week ``week`` (1-based), capped at the contract end."""
    return min(start + timedelta(days=7 * week - 1), end)


def week_of(start: date, day: date) -> int:
    """The contract week a date falls in (may be < 1 or past the end)."""
    return (day - start).days // 7 + 1


@dataclass(frozen=True)
class PlanLine:
    week: int
    task_type: str
    planned: int


@dataclass(frozen=True)
class Delivery:
    batch_id: int
    week: int
    task_type: str
    delivered_on: date
    quantity: int
    accepted: int


class WeekState(StrEnum):
    upcoming = "upcoming"
    on_time = "on time"
    late = "late"
    short = "short"
    late_and_short = "late and short"
    missing = "missing"
    unplanned = "unplanned"


@dataclass(frozen=True)
class ScheduleRow:
    week: int
    task_type: str
    due_date: date
    planned: int
    delivered: int
    accepted: int
    days_late: int
    short_by: int
    state: WeekState

    @property
    def is_problem(self) -> bool:
        return self.state in (
            WeekState.late,
            WeekState.short,
            WeekState.late_and_short,
            WeekState.missing,
        )


def schedule_vs_actual(
    start: date,
    end: date,
    plan: Iterable[PlanLine],
    deliveries: Iterable[Delivery],
    as_of: date,
) -> list[ScheduleRow]:
    """One row per (week, task type) in the plan or the deliveries, in week order.

    Once a week's due date has passed:
    ``short_by = max(0, planned - delivered)`` (rejected batches count as delivered: they arrived);
    ``days_late`` is the latest delivery date minus the due date (at least 0), or, when nothing
    arrived, today minus the due date (``missing``). Before the due date a week is ``upcoming``
    unless already delivered in full (``on time``).
    """
    planned: dict[tuple[int, str], int] = defaultdict(int)
    for line in plan:
        planned[(line.week, line.task_type)] += line.planned
    by_key: dict[tuple[int, str], list[Delivery]] = defaultdict(list)
    for delivery in deliveries:
        by_key[(delivery.week, delivery.task_type)].append(delivery)

    rows = []
    for key in sorted(set(planned) | set(by_key)):
        week, task_type = key
        due = week_due_date(start, end, week)
        batches = by_key.get(key, [])
        plan_qty = planned.get(key, 0)
        delivered = sum(b.quantity for b in batches)
        accepted = sum(b.accepted for b in batches)
        latest = max((b.delivered_on for b in batches), default=None)
        days_late = max(0, (latest - due).days) if latest else 0
        due_passed = due < as_of
        short_by = max(0, plan_qty - delivered) if due_passed else 0
        if plan_qty == 0:
            state = WeekState.unplanned
        elif due_passed and delivered == 0:
            state, days_late = WeekState.missing, (as_of - due).days
        elif not due_passed and delivered < plan_qty:
            state = WeekState.late if days_late else WeekState.upcoming
        elif days_late and short_by:
            state = WeekState.late_and_short
        elif short_by:
            state = WeekState.short
        else:
            state = WeekState.late if days_late else WeekState.on_time
        rows.append(
            ScheduleRow(
                week, task_type, due, plan_qty, delivered, accepted, days_late, short_by, state
            )
        )
    return rows


@dataclass(frozen=True)
class BurnupPoint:
    week_end: date
    planned: int
    delivered: int | None  # None for weeks that have not started yet
    accepted: int | None


def burnup(
    planned: Sequence[tuple[date, int]],
    delivered: Sequence[tuple[date, int, int]],
    week_ends: Sequence[date],
    as_of: date,
) -> list[BurnupPoint]:
    """Cumulative planned (by due date), delivered and accepted (by delivery date) units at each
    week end; actuals stop at the week that contains ``as_of``.

    >>> pts = burnup([(date(2026, 1, 7), 10), (date(2026, 1, 14), 10)],
    ...              [(date(2026, 1, 9), 8, 6)], [date(2026, 1, 7), date(2026, 1, 14)],
    ...              as_of=date(2026, 1, 10))
    >>> [(p.planned, p.delivered, p.accepted) for p in pts]
    [(10, 0, 0), (20, 8, 6)]
    """
    points = []
    for week_end in week_ends:
        plan_cum = sum(qty for due, qty in planned if due <= week_end)
        started = week_end - timedelta(days=6) <= as_of
        if started:
            done = [(qty, acc) for day, qty, acc in delivered if day <= week_end]
            points.append(
                BurnupPoint(week_end, plan_cum, sum(q for q, _ in done), sum(a for _, a in done))
            )
        else:
            points.append(BurnupPoint(week_end, plan_cum, None, None))
    return points
