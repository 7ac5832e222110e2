"""Portfolio reports: schedule vs actual, spend vs budget, alerts. What the pages and
``procure deliveries --json`` / ``procure spend --json`` show, computed once here."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlmodel import Session, col, select

from procure.delivery.schedule import (
    BurnupPoint,
    Delivery,
    PlanLine,
    ScheduleRow,
    WeekState,
    burnup,
    schedule_vs_actual,
    week_due_date,
)
from procure.delivery.spend import BatchCost, BatchFacts, ContractSpend, LineInput, contract_spend
from procure.kinds import BatchStatus, ContractStatus
from procure.money import format_money
from procure.records.decisions import accepted_value, frozen_price
from procure.records.fx import RateTable
from procure.records.invoices import Reconciliation, reconciliations
from procure.records.models import (
    Batch,
    Contract,
    ContractVersion,
    ScheduleEntry,
    TaskType,
    Vendor,
)
from procure.records.pricing import BillableBatch, accepted_units, price_batches
from procure.records.terms import AmendableTerms, week_count
from procure.records.versions import in_force, line_terms, terms_of
from procure.records.workspace import rate_table

ENDING_SOON_DAYS = 30
BUDGET_WARNING_SHARE = 0.9


class Severity(StrEnum):
    critical = "critical"
    warning = "warning"
    info = "info"


@dataclass(frozen=True)
class Alert:
    severity: Severity
    contract_id: int
    message: str


class ContractState(StrEnum):
    """A contract's state on the report date: its status, or ``ended`` for an active contract past
    its end date (it no longer counts as active, and nothing more is to come)."""

    draft = "draft"
    active = "active"
    ended = "ended"
    completed = "completed"
    terminated = "terminated"


@dataclass(frozen=True)
class MoneyPoint:
    """Cumulative value by week end: of the plan at the newest prices, of what was accepted
    (spent), and of what was delivered (spent plus pending); ``None`` for actuals after the
    report date."""

    week_end: date
    planned: Decimal
    spent: Decimal | None
    delivered: Decimal | None


@dataclass(frozen=True)
class ContractReport:
    contract: Contract
    vendor: Vendor
    task_types: dict[int, TaskType]
    batches: list[Batch]  # live batches (voided ones drop out of every figure)
    rows: list[ScheduleRow]
    spend: ContractSpend
    burnup: list[BurnupPoint]
    burnup_by_task_type: dict[str, list[BurnupPoint]]
    planned_value: list[tuple[date, Decimal]]  # each plan entry's value, by due date
    versions: list[ContractVersion]
    invoices: list[Reconciliation]
    as_of: date

    @property
    def label(self) -> str:
        return f"{self.vendor.name}: {self.contract.title}"

    @property
    def state(self) -> ContractState:
        status = ContractState(self.contract.status.value)
        if status is ContractState.active and self.contract.end_date < self.as_of:
            return ContractState.ended
        return status

    @property
    def weeks(self) -> int:
        return week_count(self.contract.start_date, self.contract.end_date)

    @property
    def planned(self) -> int:
        return sum(row.planned for row in self.rows)

    @property
    def delivered(self) -> int:
        return sum(row.delivered for row in self.rows)

    @property
    def accepted(self) -> int:
        return sum(row.accepted for row in self.rows)

    def planned_due(self, as_of: date) -> int:
        return sum(row.planned for row in self.rows if row.due_date < as_of)

    @property
    def batch_costs(self) -> list[BatchCost]:
        """The priced cost of each batch, in the order of ``batches``."""
        by_id = {cost.batch_id: cost for cost in self.spend.batches}
        return [by_id[batch.id or 0] for batch in self.batches]

    @property
    def problems(self) -> list[ScheduleRow]:
        return [row for row in self.rows if row.is_problem]

    @property
    def costs_by_day(self) -> list[tuple[date, Decimal, bool]]:
        """(delivered on, cost, pending) of each live batch."""
        return [
            (batch.delivered_on, cost.cost, cost.pending)
            for batch, cost in zip(self.batches, self.batch_costs, strict=True)
        ]

    @property
    def money_burnup(self) -> list[MoneyPoint]:
        start, end = self.contract.start_date, self.contract.end_date
        return money_burnup(
            self.planned_value, self.costs_by_day, _week_ends(start, end), self.as_of
        )

    @property
    def invoiced(self) -> Decimal:
        return sum((r.invoice.amount for r in self.invoices), Decimal(0))

    @property
    def accrued(self) -> Decimal:
        """Accepted but not yet invoiced: the frozen costs of decided batches no invoice bills."""
        billed = {b.id for r in self.invoices for b in r.batches}
        return sum((accepted_value(b) for b in self.batches if b.id not in billed), Decimal(0))

    @property
    def credit_due(self) -> Decimal:
        return sum((r.credit_due for r in self.invoices), Decimal(0))

    @property
    def disputed(self) -> Decimal:
        """The amounts of over-billed invoices: what is not to be paid as billed."""
        return sum((r.invoice.amount for r in self.invoices if r.disputed), Decimal(0))


MONEY_FIELDS = (
    "budget",
    "spent",
    "pending",
    "remaining",
    "invoiced",
    "accrued",
    "disputed",
    "credit_due",
)


@dataclass(frozen=True)
class Totals:
    budget: Decimal
    spent: Decimal
    pending: Decimal
    remaining: Decimal
    invoiced: Decimal
    accrued: Decimal
    disputed: Decimal
    credit_due: Decimal

    @property
    def projected(self) -> Decimal:
        return self.spent + self.pending + self.remaining


def money_of(report: ContractReport) -> dict[str, Decimal]:
    """A contract's money figures by name (``MONEY_FIELDS``), in its currency."""
    spend = report.spend
    return {
        "budget": spend.budget,
        "spent": spend.spent,
        "pending": spend.pending,
        "remaining": spend.remaining,
        "invoiced": report.invoiced,
        "accrued": report.accrued,
        "disputed": report.disputed,
        "credit_due": report.credit_due,
    }


@dataclass(frozen=True)
class PortfolioReport:
    as_of: date
    rates: RateTable
    contracts: list[ContractReport]
    alerts: list[Alert]

    @property
    def currency(self) -> str:
        return self.rates.reporting

    @property
    def missing_rates(self) -> list[str]:
        return self.rates.missing({r.contract.currency for r in self.committed})

    @property
    def committed(self) -> list[ContractReport]:
        """Contracts past the draft stage: the ones whose money and units count in totals."""
        return [r for r in self.contracts if r.contract.status != ContractStatus.draft]

    @property
    def totals(self) -> Totals | None:
        """Money across committed contracts in the reporting currency; ``None`` while a rate is
        missing (amounts in different currencies are never added unconverted)."""
        if self.missing_rates:
            return None
        convert = self.rates.to_reporting
        fields: dict[str, Decimal] = defaultdict(Decimal)
        for report in self.committed:
            currency = report.contract.currency
            for name, amount in money_of(report).items():
                fields[name] += convert(amount, currency)
        return Totals(**{name: fields[name] for name in MONEY_FIELDS})

    @property
    def money_burnup(self) -> list[MoneyPoint]:
        """The committed contracts' value by calendar week (weeks end on Sunday), in the
        reporting currency; empty while an exchange rate is missing."""
        reports = self.committed
        if not reports or self.missing_rates:
            return []
        convert = self.rates.to_reporting
        planned = [
            (day, convert(amount, r.contract.currency))
            for r in reports
            for day, amount in r.planned_value
        ]
        done = [
            (day, convert(amount, r.contract.currency), pending)
            for r in reports
            for day, amount, pending in r.costs_by_day
        ]
        first = min(r.contract.start_date for r in reports)
        last = max(r.contract.end_date for r in reports)
        sunday = first + timedelta(days=6 - first.weekday())
        week_ends = [sunday + timedelta(weeks=n) for n in range((last - sunday).days // 7 + 2)]
        return money_burnup(
            planned, done, [d for d in week_ends if d - timedelta(days=6) <= last], self.as_of
        )

    @property
    def active(self) -> list[ContractReport]:
        return [r for r in self.contracts if r.state is ContractState.active]

    @property
    def ended_not_closed(self) -> list[ContractReport]:
        return [r for r in self.contracts if r.state is ContractState.ended]

    @property
    def ending_soon(self) -> list[ContractReport]:
        horizon = self.as_of + timedelta(days=ENDING_SOON_DAYS)
        return [r for r in self.active if self.as_of <= r.contract.end_date <= horizon]


def _week_ends(start: date, end: date) -> list[date]:
    return [week_due_date(start, end, week) for week in range(1, week_count(start, end) + 1)]


def build_report(
    as_of: date, contract_ids: list[int] | None = None, *, session: Session
) -> PortfolioReport:
    """Everything the Overview and Deliveries pages show, from one read of the records."""
    query = select(Contract).order_by(col(Contract.start_date), col(Contract.id))
    if contract_ids:
        query = query.where(col(Contract.id).in_(contract_ids))
    contracts = list(session.exec(query))
    ids: list[int | None] = [c.id for c in contracts]
    vendors = {v.id: v for v in session.exec(select(Vendor))}
    task_types = {t.id: t for t in session.exec(select(TaskType))}
    key = {tid: t.key for tid, t in task_types.items()}

    def rows_of(table: Any, *where: Any) -> dict[int, list[Any]]:
        grouped: dict[int, list[Any]] = defaultdict(list)
        for row in session.exec(select(table).where(table.contract_id.in_(ids), *where)):
            grouped[row.contract_id].append(row)
        return grouped

    schedule = rows_of(ScheduleEntry)
    batches = rows_of(Batch, col(Batch.voided_at).is_(None))
    versions = rows_of(ContractVersion)
    invoices = reconciliations(ids, session=session)

    reports = []
    for contract in contracts:
        assert contract.id is not None
        ordered = sorted(batches[contract.id], key=lambda b: (b.delivered_on, b.id))
        history = sorted(versions[contract.id], key=lambda v: v.number)
        plan = [
            PlanLine(e.week, key[e.task_type_id], e.planned_quantity) for e in schedule[contract.id]
        ]
        deliveries = [
            Delivery(
                b.id or 0,
                b.week,
                key[b.task_type_id],
                b.delivered_on,
                b.quantity,
                accepted_units(BatchStatus(b.status), b.quantity, b.accepted_quantity),
            )
            for b in ordered
        ]
        newest = terms_of(history[-1])
        lines = [
            _line_input(line.task_type, line.quantity, newest, history, plan, ordered, key)
            for line in newest.price_lines
        ]
        start, end = contract.start_date, contract.end_date
        week_ends = _week_ends(start, end)
        dues = [(week_due_date(start, end, p.week), p) for p in plan]

        def units_burnup(task_type: str | None) -> list[BurnupPoint]:
            return _units_burnup(dues, deliveries, week_ends, as_of, task_type)  # noqa: B023

        ended = contract.status is ContractStatus.active and end < as_of
        reports.append(
            ContractReport(
                contract=contract,
                vendor=vendors[contract.vendor_id],
                task_types=task_types,  # type: ignore[arg-type]
                batches=ordered,
                rows=schedule_vs_actual(start, end, plan, deliveries, as_of),
                spend=contract_spend(
                    contract.currency, contract.committed_budget, lines, ended=ended
                ),
                burnup=units_burnup(None),
                burnup_by_task_type={
                    task_type: units_burnup(task_type)
                    for task_type in sorted(
                        {p.task_type for p in plan} | {d.task_type for d in deliveries}
                    )
                },
                planned_value=planned_value(lines, dues),
                versions=history,
                invoices=invoices.get(contract.id, []),
                as_of=as_of,
            )
        )
    return PortfolioReport(
        as_of=as_of,
        rates=rate_table(session=session),
        contracts=reports,
        alerts=sorted(
            (alert for report in reports for alert in contract_alerts(report, as_of)),
            key=lambda alert: list(Severity).index(alert.severity),
        ),
    )


def _units_burnup(
    dues: list[tuple[date, PlanLine]],
    deliveries: list[Delivery],
    week_ends: list[date],
    as_of: date,
    task_type: str | None,
) -> list[BurnupPoint]:
    """The burn-up of one task type (``None``: every task type)."""
    return burnup(
        [(due, p.planned) for due, p in dues if task_type in (None, p.task_type)],
        [
            (d.delivered_on, d.quantity, d.accepted)
            for d in deliveries
            if task_type in (None, d.task_type)
        ],
        week_ends,
        as_of,
    )


def _line_input(
    task_type: str,
    contracted: int,
    newest: AmendableTerms,
    history: list[ContractVersion],
    plan: list[PlanLine],
    ordered: list[Batch],
    key: dict[int | None, str],
) -> LineInput:
    """One price line under the newest terms, its batches under the terms of their day."""
    current = line_terms(newest, task_type)
    assert current is not None
    facts = []
    for b in ordered:
        if key[b.task_type_id] != task_type:
            continue
        then = line_terms(terms_of(in_force(history, b.delivered_on)), task_type) or current
        facts.append(
            BatchFacts(
                b.id or 0,
                b.week,
                BatchStatus(b.status),
                b.quantity,
                b.accepted_quantity,
                prices=then[0],
                discounts=then[1],
                frozen=frozen_price(b),
            )
        )
    return LineInput(
        task_type=task_type,
        prices=current[0],
        discounts=current[1],
        contracted_quantity=contracted,
        planned_by_week=tuple((p.week, p.planned) for p in plan if p.task_type == task_type),
        batches=tuple(facts),
    )


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


def _in_days(days: int) -> str:
    return {0: "today", 1: "tomorrow"}.get(days, f"in {days} days")


def contract_alerts(report: ContractReport, as_of: date) -> list[Alert]:
    """Late, short and missing deliveries, budget pressure, disputed invoices and endings of an
    active contract (one past its end date is ``ended`` until it is closed)."""
    contract = report.contract
    if contract.status != ContractStatus.active or contract.id is None:
        return []
    alerts = []
    name = report.label
    money = contract.currency
    for invoice in report.invoices:
        if invoice.disputed:
            alerts.append(
                Alert(
                    Severity.warning,
                    contract.id,
                    f"{name}: invoice {invoice.invoice.number} over-bills by "
                    f"{format_money(invoice.difference, money)} "
                    f"({format_money(invoice.invoice.amount, money)} billed, "
                    f"{format_money(invoice.accepted_value, money)} accepted): credit due",
                )
            )
    for row in report.problems:
        what = f"{name}: week {row.week} {row.task_type}"
        if row.state is WeekState.missing:
            alerts.append(
                Alert(
                    Severity.critical,
                    contract.id,
                    f"{what} missing: {row.planned:,} units planned, nothing delivered, "
                    f"{row.days_late} days overdue",
                )
            )
            continue
        parts = []
        if row.short_by:
            parts.append(f"short by {row.short_by:,} units ({row.delivered:,} of {row.planned:,})")
        if row.days_late:
            parts.append(f"delivered {row.days_late} days late")
        alerts.append(Alert(Severity.warning, contract.id, f"{what} {' and '.join(parts)}"))
    spend = report.spend
    if spend.committed_share is not None and spend.committed_share >= BUDGET_WARNING_SHARE:
        alerts.append(
            Alert(
                Severity.critical if spend.committed_share >= 1 else Severity.warning,
                contract.id,
                f"{name}: {spend.committed_share:.0%} of the budget spent or pending "
                f"({format_money(spend.spent + spend.pending, money)} of "
                f"{format_money(spend.budget, money)})",
            )
        )
    if spend.over_budget_by > 0:
        alerts.append(
            Alert(
                Severity.warning,
                contract.id,
                f"{name}: projected to exceed its budget by {format_money(spend.over_budget_by, money)} "
                f"(projection {format_money(spend.projected, money)})",
            )
        )
    days_left = (contract.end_date - as_of).days
    if report.state is ContractState.ended:
        alerts.append(
            Alert(
                Severity.info,
                contract.id,
                f"{name}: ended on {contract.end_date} and is not closed; mark it completed, or "
                "extend it by an amendment",
            )
        )
    elif 0 <= days_left <= ENDING_SOON_DAYS:
        alerts.append(
            Alert(
                Severity.info,
                contract.id,
                f"{name}: ends {_in_days(days_left)} on {contract.end_date}",
            )
        )
    return alerts
