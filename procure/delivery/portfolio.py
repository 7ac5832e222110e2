"""Building the portfolio report from the records: every contract's schedule, spend under the
terms of each batch's day, invoices, burn-ups and alerts, from one read."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from procure.delivery.report import (
    BUDGET_WARNING_SHARE,
    ENDING_SOON_DAYS,
    NOTHING_TO_COME,
    Alert,
    ContractReport,
    ContractState,
    PortfolioReport,
    Severity,
    contract_state,
    week_ends_of,
)
from procure.delivery.schedule import (
    BurnupPoint,
    Delivery,
    PlanLine,
    WeekState,
    burnup,
    schedule_vs_actual,
    week_due_date,
)
from procure.delivery.spend import BatchFacts, LineInput, contract_spend, planned_value
from procure.kinds import BatchStatus, ContractStatus
from procure.money import format_money
from procure.records.decisions import frozen_price
from procure.records.invoices import reconciliations
from procure.records.models import (
    Batch,
    Contract,
    ContractVersion,
    ScheduleEntry,
    TaskType,
    Vendor,
)
from procure.records.pricing import accepted_units
from procure.records.terms import AmendableTerms
from procure.records.versions import line_terms, terms_for, terms_of
from procure.records.workspace import rate_table


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
    invoices = reconciliations(ids, as_of, session=session)

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
        week_ends = week_ends_of(start, end)
        dues = [(week_due_date(start, end, p.week), p) for p in plan]

        def units_burnup(task_type: str | None) -> list[BurnupPoint]:
            return _units_burnup(dues, deliveries, week_ends, as_of, task_type)  # noqa: B023

        ended = contract_state(contract, as_of) in NOTHING_TO_COME
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
        _, prices, discounts = terms_for(history, task_type, b.delivered_on)
        facts.append(
            BatchFacts(
                b.id or 0,
                b.week,
                BatchStatus(b.status),
                b.quantity,
                b.accepted_quantity,
                prices=prices,
                discounts=discounts,
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


def _in_days(days: int) -> str:
    return {0: "today", 1: "tomorrow"}.get(days, f"in {days} days")


def contract_alerts(report: ContractReport, as_of: date) -> list[Alert]:
    """Over-billed invoices of any committed contract; late, short and missing deliveries, budget
    pressure and endings of an active contract (one past its end date is ``ended`` until it is
    closed)."""
    contract = report.contract
    if contract.status == ContractStatus.draft or contract.id is None:
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
    if report.state not in (ContractState.active, ContractState.ended):
        return alerts
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
