"""The portfolio report as the JSON of ``procure deliveries --json`` and ``procure spend --json``
(a stable interface: money as decimal strings in its currency)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from procure.delivery.report import ContractReport, PortfolioReport


def _money(amount: Decimal) -> str:
    return format(amount, "f")


def _contract_head(report: ContractReport) -> dict[str, Any]:
    c = report.contract
    return {
        "id": c.id,
        "vendor": report.vendor.name,
        "title": c.title,
        "status": str(c.status),
        "state": report.state.value,
        "currency": c.currency,
        "start_date": c.start_date.isoformat(),
        "end_date": c.end_date.isoformat(),
    }


def deliveries_payload(report: PortfolioReport) -> dict[str, Any]:
    """``procure deliveries --json``: plan vs delivered vs accepted, by week, with problems."""
    return {
        "as_of": report.as_of.isoformat(),
        "contracts": [
            {
                **_contract_head(r),
                "weeks": r.weeks,
                "planned": r.planned,
                "planned_due": r.planned_due(report.as_of),
                "delivered": r.delivered,
                "accepted": r.accepted,
                "schedule": [
                    {
                        "week": row.week,
                        "task_type": row.task_type,
                        "due_date": row.due_date.isoformat(),
                        "planned": row.planned,
                        "delivered": row.delivered,
                        "accepted": row.accepted,
                        "days_late": row.days_late,
                        "short_by": row.short_by,
                        "state": row.state.value,
                    }
                    for row in r.rows
                ],
                "burnup": [
                    {
                        "week_end": p.week_end.isoformat(),
                        "planned": p.planned,
                        "delivered": p.delivered,
                        "accepted": p.accepted,
                    }
                    for p in r.burnup
                ],
            }
            for r in report.contracts
        ],
        "alerts": [
            {"severity": a.severity.value, "contract_id": a.contract_id, "message": a.message}
            for a in report.alerts
        ],
    }


def spend_payload(report: PortfolioReport) -> dict[str, Any]:
    """``procure spend --json``: spend, pending and projection per contract and in total, with
    what is invoiced, accrued (accepted, not invoiced), disputed (over-billed invoices) and the
    credit due.

    Money is a decimal string in the contract's currency; totals are in the reporting currency
    (``null`` while an exchange rate is missing, listed in ``missing_exchange_rates``).
    """
    totals = report.totals
    return {
        "as_of": report.as_of.isoformat(),
        "reporting_currency": report.currency,
        "missing_exchange_rates": report.missing_rates,
        "totals": None
        if totals is None
        else {
            "budget": _money(totals.budget),
            "spent": _money(totals.spent),
            "pending": _money(totals.pending),
            "remaining": _money(totals.remaining),
            "projected": _money(totals.projected),
            "invoiced": _money(totals.invoiced),
            "accrued": _money(totals.accrued),
            "disputed": _money(totals.disputed),
            "credit_due": _money(totals.credit_due),
        },
        "contracts": [
            {
                **_contract_head(r),
                "budget": _money(r.spend.budget),
                "spent": _money(r.spend.spent),
                "pending": _money(r.spend.pending),
                "remaining": _money(r.spend.remaining),
                "projected": _money(r.spend.projected),
                "over_budget_by": _money(r.spend.over_budget_by),
                "invoiced": _money(r.invoiced),
                "accrued": _money(r.accrued),
                "disputed": _money(r.disputed),
                "credit_due": _money(r.credit_due),
                "spent_share": r.spend.spent_share,
                "projected_share": r.spend.projected_share,
                "batches": [
                    {
                        "id": batch.id,
                        "ref": batch.ref,
                        "task_type": r.task_types[batch.task_type_id].key,
                        "week": batch.week,
                        "delivered_on": batch.delivered_on.isoformat(),
                        "status": str(batch.status),
                        "quantity": batch.quantity,
                        "billable_units": cost.billable_units,
                        "pending": cost.pending,
                        "frozen": batch.is_frozen,
                        "list_cost": _money(cost.list_cost),
                        "cost": _money(cost.cost),
                        "effective_unit_price": None
                        if cost.effective_unit_price is None
                        else _money(cost.effective_unit_price),
                    }
                    for batch, cost in zip(r.batches, r.batch_costs, strict=True)
                ],
            }
            for r in report.contracts
        ],
    }


def invoices_payload(report: PortfolioReport) -> dict[str, Any]:
    """``procure invoice list --json``: every live invoice reconciled against its batches."""
    return {
        "as_of": report.as_of.isoformat(),
        "invoices": [
            {
                "id": rec.invoice.id,
                "contract_id": r.contract.id,
                "vendor": r.vendor.name,
                "number": rec.invoice.number,
                "issued_on": rec.invoice.issued_on.isoformat(),
                "paid_on": None if rec.invoice.paid_on is None else rec.invoice.paid_on.isoformat(),
                "currency": rec.invoice.currency,
                "batches": [b.ref for b in rec.batches],
                "units": rec.invoice.units,
                "amount": _money(rec.invoice.amount),
                "accepted_units": rec.accepted_units,
                "accepted_value": _money(rec.accepted_value),
                "difference": _money(rec.difference),
                "rejected_units_billed": rec.rejected_units_billed,
                "credit_due": _money(rec.credit_due),
                "state": rec.state.value,
            }
            for r in report.contracts
            for rec in r.invoices
        ],
    }
