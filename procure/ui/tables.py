"""The rows of the pages' tables, built from the reports (no streamlit here).

Money stays ``Decimal`` with the currency in the column's name, one currency per column, so the
table sorts by amount and the CSV carries exact decimals (``widgets.table`` shows and writes them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from procure.delivery import MONEY_FIELDS, ContractReport, PortfolioReport, money_of
from procure.money import format_amount
from procure.quality import (
    AnnotatorFigures,
    Comparison,
    TieGroup,
)
from procure.records import Batch, BatchEvent, LabelSet, Reconciliation, VersionView

Row = dict[str, Any]
UNIT_PRICE = Decimal("0.000001")  # a derived unit price, to a millionth of the currency
FIELD_NAMES = {"remaining": "still to come", "credit_due": "credit due"}
CONTRACT_MONEY = (*MONEY_FIELDS[:4], "projected", *MONEY_FIELDS[4:])


def _field(name: str) -> str:
    return FIELD_NAMES.get(name, name)


def when(moment: datetime) -> str:
    """An event's time (stored in UTC) as the tables show it."""
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def status_text(status: object) -> str:
    return str(status).replace("_", " ")


def contract_rows(report: PortfolioReport) -> list[Row]:
    """A row per contract: its figures in its own currency's columns (``budget (EUR)``) and,
    when the portfolio mixes currencies, every contract converted to the reporting currency
    (``budget (as USD)``; blank while a rate is missing)."""
    currencies = sorted({r.contract.currency for r in report.contracts})
    reporting = report.currency
    converted = len(currencies) > 1 or currencies != [reporting]
    rows = []
    for r in report.contracts:
        c = r.contract
        amounts = {**money_of(r), "projected": r.spend.projected}
        row: Row = {
            "vendor": r.vendor.name,
            "contract": c.title,
            "state": r.state.value,
            "currency": c.currency,
        }
        missing = bool(report.rates.missing({c.currency}))
        for name in CONTRACT_MONEY:
            for currency in currencies:
                row[f"{_field(name)} ({currency})"] = (
                    amounts[name] if currency == c.currency else None
                )
            if converted:
                row[f"{_field(name)} (as {reporting})"] = (
                    None if missing else report.rates.to_reporting(amounts[name], c.currency)
                )
        row.update(
            {
                "spent %": None
                if r.spend.spent_share is None
                else round(100 * r.spend.spent_share, 1),
                "accepted": r.accepted,
                "planned": r.planned,
                "late or short weeks": len(r.problems),
                "start": c.start_date,
                "end": c.end_date,
                "id": c.id,
            }
        )
        rows.append(row)
    return rows


def ending_rows(reports: Sequence[ContractReport], as_of: date) -> list[Row]:
    """Contracts by their end: ended ones (days since the end) or ending soon (days left)."""
    rows = []
    for r in reports:
        days = (r.contract.end_date - as_of).days
        ended = days < 0
        rows.append(
            {
                "vendor": r.vendor.name,
                "contract": r.contract.title,
                "ended on" if ended else "ends on": r.contract.end_date,
                "days since" if ended else "days left": abs(days),
                "accepted": r.accepted,
                "planned": r.planned,
            }
        )
    return rows


def task_type_names(report: ContractReport) -> dict[str, str]:
    """Each task type key of a contract's report -> its name (tables show names)."""
    return {t.key: t.name for t in report.task_types.values()}


def schedule_rows(report: ContractReport) -> list[Row]:
    names = task_type_names(report)
    return [
        {
            "week": row.week,
            "task type": names.get(row.task_type, row.task_type),
            "due": row.due_date,
            "planned": row.planned,
            "delivered": row.delivered,
            "accepted": row.accepted,
            "short by": row.short_by,
            "days late": row.days_late,
            "state": status_text(row.state.value),
        }
        for row in report.rows
    ]


def unit_price(cost: Decimal, units: int) -> Decimal | None:
    return (cost / units).quantize(UNIT_PRICE) if units else None


def billed_by(report: ContractReport) -> dict[int, str]:
    """The invoice number billing each batch of the contract."""
    return {
        batch.id or 0: reconciled.invoice.number
        for reconciled in report.invoices
        for batch in reconciled.batches
    }


def batch_rows(report: ContractReport) -> list[Row]:
    """The contract's live batches with their cost: frozen by the decision, or provisional (what
    an undecided batch would cost if accepted in full)."""
    currency = report.contract.currency
    invoices = billed_by(report)
    return [
        {
            "id": batch.id,
            "ref": batch.ref,
            "task type": report.task_types[batch.task_type_id].name,
            "week": batch.week,
            "delivered on": batch.delivered_on,
            "units": batch.quantity,
            "status": status_text(batch.status),
            "billable units": cost.billable_units,
            f"cost ({currency})": cost.cost,
            f"unit price ({currency})": unit_price(cost.cost, cost.billable_units),
            "frozen": batch.is_frozen,
            "invoice": invoices.get(batch.id or 0, ""),
            "notes": batch.notes,
        }
        for batch, cost in zip(report.batches, report.batch_costs, strict=True)
    ]


def invoice_rows(invoices: Sequence[Reconciliation], currency: str) -> list[Row]:
    return [
        {
            "number": r.invoice.number,
            "issued on": r.invoice.issued_on,
            "state": r.state.value,
            f"amount ({currency})": r.invoice.amount,
            f"accepted value ({currency})": r.accepted_value,
            f"difference ({currency})": r.difference,
            f"credit due ({currency})": r.credit_due,
            "units billed": r.invoice.units,
            "accepted units": r.accepted_units,
            "rejected units billed": r.rejected_units_billed,
            "bills": [b.ref for b in r.batches],
            "period": ""
            if r.invoice.period_start is None
            else f"{r.invoice.period_start} to {r.invoice.period_end}",
            "paid on": r.invoice.paid_on,
            "notes": r.invoice.notes,
            "recorded by": r.invoice.recorded_by,
            "id": r.invoice.id,
        }
        for r in invoices
    ]


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _shown(key: str, value: Any) -> str:
    if value is None or value == "":
        return "none"
    if key == "cost":  # stored as an exact decimal string
        return format_amount(Decimal(str(value)))
    if key == "status":
        return status_text(value)
    return f"{value}"  # user text (a ref, notes) as typed


LABELS = {"accepted_quantity": "accepted units", "delivered_on": "delivered on"}


def change_text(kind: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    """What an event changed, as ``field: before -> after`` (a recording lists the facts)."""
    if kind == "recorded":
        return ", ".join(f"{LABELS.get(k, k)} {_shown(k, v)}" for k, v in after.items() if v != "")
    if kind == "voided":
        return "voided: drops out of every figure"
    changed = [
        f"{LABELS.get(k, k)}: {_shown(k, before.get(k))} -> {_shown(k, after.get(k))}"
        for k in dict.fromkeys([*before, *after])
        if before.get(k) != after.get(k)
    ]
    return "; ".join(changed) or "no change"


def _share(value: Any) -> str:
    return "n/a" if value is None else f"{float(value):.1%}"


def evidence_text(evidence: Mapping[str, Any] | None) -> str:
    """The acceptance evidence kept with a decision, in a sentence."""
    if not evidence:
        return ""
    interval = evidence.get("error_rate_ci95")
    if isinstance(interval, Mapping):
        interval = [interval.get("low"), interval.get("high")]
    ci = f", 95% CI {_share(interval[0])} to {_share(interval[1])}" if interval else ""
    rule = evidence.get("rule") or {}
    return (
        f"{evidence.get('reviewed', 0):,} reviewed, {_plural(evidence.get('errors', 0), 'error')} "
        f"(error rate {_share(evidence.get('error_rate'))}{ci}); rule: at most "
        f"{_share(rule.get('max_error_rate'))} with {rule.get('min_reviewed', '-')} reviewed; "
        f"advice: {evidence.get('recommendation', '-')}"
    )


def history_rows(events: Sequence[BatchEvent]) -> list[Row]:
    return [
        {
            "when": when(event.at),
            "who": event.actor,
            "what": event.kind,
            "change": change_text(event.kind, event.before, event.after),
            "reason": event.reason,
            "note": event.note,
            "evidence shown": evidence_text(event.evidence),
        }
        for event in events
    ]


def decision_text(batch: Batch, last: BatchEvent | None, money: str | None) -> str:
    """A decided batch's standing: its decision, who made it and when, and the frozen cost."""
    status = status_text(batch.status)
    units = (
        f" ({batch.accepted_quantity:,} of {batch.quantity:,} units)"
        if batch.accepted_quantity is not None
        else f" ({batch.quantity:,} units)"
    )
    by = (
        f", {last.kind} by {last.actor} on {when(last.at)}"
        if last is not None
        else " (before decisions were recorded with their author)"
    )
    terms = batch.priced_terms or {}
    version = (
        f", contract version {terms['contract_version']}" if "contract_version" in terms else ""
    )
    frozen = f". Cost frozen at {money}{version}" if money else ""
    return f"{status.capitalize()}{units}{by}{frozen}."


def timeline_rows(timeline: Sequence[VersionView]) -> list[Row]:
    return [
        {
            "version": v.number,
            "effective from": v.effective_from,
            "reason": v.reason,
            "what changed": list(v.changes),
            "author": v.author,
            "recorded at": f"{v.recorded_at:%Y-%m-%d %H:%M} UTC",
        }
        for v in timeline
    ]


def label_set_rows(sets: Sequence[LabelSet], refs: Mapping[int | None, str]) -> list[Row]:
    return [
        {
            "id": s.id,
            "name": s.name,
            "source": str(s.source),
            "batch": refs.get(s.batch_id, "") if s.batch_id is not None else "",
            "labels": s.rows,
            "items": s.items,
            "annotators": s.annotators,
            "file": s.filename,
            "imported": when(s.created_at),
        }
        for s in sets
    ]


# --- labels & quality ------------------------------------------------------------------------


def tie_rows(ties: Sequence[TieGroup]) -> list[Row]:
    return [
        {
            "batch": t.batch_ref,
            "labels per item": t.labels_per_item,
            "items": t.items,
            "ties": t.tied,
            "share tied": t.share,
        }
        for t in ties
    ]


def class_rows(pair: Comparison) -> list[Row]:
    """Per-class figures of a comparison, the second source as the reference."""
    return [
        {
            "label": label,
            "reference items": figures.support,
            "precision": figures.precision,
            "recall": figures.recall,
            "F1": figures.f1,
        }
        for label, figures in pair.per_class.items()
    ]


def annotator_rows(annotators: Sequence[AnnotatorFigures]) -> list[Row]:
    """Volume, speed (where files record ``duration_s``) and accuracy side by side: a fast
    annotator with low agreement stands out."""
    timed = any(a.median_seconds is not None for a in annotators)
    return [
        {
            "annotator": a.annotator,
            "labels": a.labels,
            **({"median seconds per label": a.median_seconds} if timed else {}),
            "agreement with LLM": a.vs_llm.percent_agreement if a.vs_llm else None,
            "kappa with LLM": a.vs_llm.cohen_kappa if a.vs_llm else None,
            "agreement with gold": a.vs_gold.percent_agreement if a.vs_gold else None,
            "gold items": a.vs_gold.items if a.vs_gold else None,
        }
        for a in annotators
    ]
