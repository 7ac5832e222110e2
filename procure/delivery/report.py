"""Portfolio reports: schedule vs actual, spend vs budget, alerts. What the pages and
``procure deliveries --json`` / ``procure spend --json`` show, computed once here."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from procure.delivery.schedule import (
    BurnupPoint,
    ScheduleRow,
    week_due_date,
)
from procure.delivery.spend import (
    BatchCost,
    ContractSpend,
    MoneyPoint,
    money_burnup,
)
from procure.kinds import ContractStatus
from procure.records.decisions import accepted_value
from procure.records.fx import RateTable
from procure.records.invoices import Reconciliation
from procure.records.models import (
    Batch,
    Contract,
    ContractVersion,
    TaskType,
    Vendor,
)
from procure.records.terms import week_count

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


NOTHING_TO_COME = (ContractState.ended, ContractState.completed, ContractState.terminated)


def contract_state(contract: Contract, as_of: date) -> ContractState:
    status = ContractState(contract.status.value)
    if status is ContractState.active and contract.end_date < as_of:
        return ContractState.ended
    return status


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
        return contract_state(self.contract, self.as_of)

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
            self.planned_value, self.costs_by_day, week_ends_of(start, end), self.as_of
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


def week_ends_of(start: date, end: date) -> list[date]:
    return [week_due_date(start, end, week) for week in range(1, week_count(start, end) + 1)]
