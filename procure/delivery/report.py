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

from procure.delivery.pricing import DiscountRule, PriceSchedule, Tier
from procure.delivery.schedule import (
    BurnupPoint,
    Delivery,
    PlanLine,
    ScheduleRow,
    WeekState,
    accepted_units,
    burnup,
    schedule_vs_actual,
    week_due_date,
)
from procure.delivery.spend import BatchCost, BatchFacts, ContractSpend, LineInput, contract_spend
from procure.kinds import BatchStatus, ContractStatus, DiscountKind
from procure.money import format_money
from procure.records.fx import RateTable
from procure.records.models import (
    Batch,
    Contract,
    Discount,
    PriceLine,
    PriceTier,
    ScheduleEntry,
    TaskType,
    Vendor,
)
from procure.records.terms import week_count
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


@dataclass(frozen=True)
class ContractReport:
    contract: Contract
    vendor: Vendor
    task_types: dict[int, TaskType]
    batches: list[Batch]
    rows: list[ScheduleRow]
    spend: ContractSpend
    burnup: list[BurnupPoint]

    @property
    def label(self) -> str:
        return f"{self.vendor.name}: {self.contract.title}"

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


@dataclass(frozen=True)
class Totals:
    budget: Decimal
    spent: Decimal
    pending: Decimal
    remaining: Decimal

    @property
    def projected(self) -> Decimal:
        return self.spent + self.pending + self.remaining


@dataclass(frozen=True)
class PortfolioReport:
    as_of: date
    rates: RateTable
    contracts: list[ContractReport]
    alerts: list[Alert]
    burnup: list[BurnupPoint]

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
            spend, currency = report.spend, report.contract.currency
            fields["budget"] += convert(spend.budget, currency)
            fields["spent"] += convert(spend.spent, currency)
            fields["pending"] += convert(spend.pending, currency)
            fields["remaining"] += convert(spend.remaining, currency)
        return Totals(**{k: fields[k] for k in ("budget", "spent", "pending", "remaining")})

    @property
    def active(self) -> list[ContractReport]:
        return [r for r in self.contracts if r.contract.status == ContractStatus.active]

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
    ids = [c.id for c in contracts]
    vendors = {v.id: v for v in session.exec(select(Vendor))}
    task_types = {t.id: t for t in session.exec(select(TaskType))}

    def rows_of(table: Any) -> dict[int, list[Any]]:
        grouped: dict[int, list[Any]] = defaultdict(list)
        for row in session.exec(select(table).where(table.contract_id.in_(ids))):
            grouped[row.contract_id].append(row)
        return grouped

    lines, discounts, schedule = rows_of(PriceLine), rows_of(Discount), rows_of(ScheduleEntry)
    batches = rows_of(Batch)
    tiers: dict[int, list[Tier]] = defaultdict(list)
    line_ids = [line.id for group in lines.values() for line in group]
    for tier in session.exec(
        select(PriceTier)
        .where(col(PriceTier.price_line_id).in_(line_ids))
        .order_by(col(PriceTier.from_unit))
    ):
        tiers[tier.price_line_id].append(Tier(tier.from_unit, tier.unit_price))

    reports = []
    for contract in contracts:
        assert contract.id is not None
        ordered = sorted(batches[contract.id], key=lambda b: (b.delivered_on, b.id))
        key = {tid: t.key for tid, t in task_types.items()}
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
        line_inputs = [
            LineInput(
                task_type=key[line.task_type_id],
                prices=PriceSchedule(line.unit_price, tuple(tiers[line.id])),
                discounts=tuple(
                    DiscountRule(DiscountKind(d.kind), d.percent)
                    for d in discounts[contract.id]
                    if d.task_type_id in (None, line.task_type_id)
                ),
                contracted_quantity=line.contracted_quantity,
                planned_by_week=tuple(
                    (e.week, e.planned_quantity)
                    for e in schedule[contract.id]
                    if e.task_type_id == line.task_type_id
                ),
                batches=tuple(
                    BatchFacts(
                        b.id or 0, b.week, BatchStatus(b.status), b.quantity, b.accepted_quantity
                    )
                    for b in ordered
                    if b.task_type_id == line.task_type_id
                ),
            )
            for line in sorted(lines[contract.id], key=lambda line: line.id or 0)
        ]
        start, end = contract.start_date, contract.end_date
        reports.append(
            ContractReport(
                contract=contract,
                vendor=vendors[contract.vendor_id],
                task_types=task_types,  # type: ignore[arg-type]
                batches=ordered,
                rows=schedule_vs_actual(start, end, plan, deliveries, as_of),
                spend=contract_spend(contract.currency, contract.committed_budget, line_inputs),
                burnup=burnup(
                    [(week_due_date(start, end, p.week), p.planned) for p in plan],
                    [(d.delivered_on, d.quantity, d.accepted) for d in deliveries],
                    _week_ends(start, end),
                    as_of,
                ),
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
        burnup=portfolio_burnup(
            [r for r in reports if r.contract.status != ContractStatus.draft], as_of
        ),
    )


def portfolio_burnup(reports: list[ContractReport], as_of: date) -> list[BurnupPoint]:
    """Burn-up across contracts by calendar week (weeks end on Sunday)."""
    if not reports:
        return []
    first = min(r.contract.start_date for r in reports)
    last = max(r.contract.end_date for r in reports)
    sunday = first + timedelta(days=6 - first.weekday())
    week_ends = [sunday + timedelta(weeks=n) for n in range((last - sunday).days // 7 + 2)]
    planned, delivered = [], []
    for report in reports:
        start, end = report.contract.start_date, report.contract.end_date
        planned += [(week_due_date(start, end, row.week), row.planned) for row in report.rows]
        delivered += [
            (
                b.delivered_on,
                b.quantity,
                accepted_units(BatchStatus(b.status), b.quantity, b.accepted_quantity),
            )
            for b in report.batches
        ]
    return burnup(
        planned, delivered, [d for d in week_ends if d - timedelta(days=6) <= last], as_of
    )


def _in_days(days: int) -> str:
    return {0: "today", 1: "tomorrow"}.get(days, f"in {days} days")


def contract_alerts(report: ContractReport, as_of: date) -> list[Alert]:
    """Late, short and missing deliveries, budget pressure and endings of an active contract."""
    contract = report.contract
    if contract.status != ContractStatus.active or contract.id is None:
        return []
    alerts = []
    name = report.label
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
    money = contract.currency
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
    if 0 <= days_left <= ENDING_SOON_DAYS:
        alerts.append(
            Alert(
                Severity.info,
                contract.id,
                f"{name}: ends {_in_days(days_left)} on {contract.end_date}",
            )
        )
    return alerts
