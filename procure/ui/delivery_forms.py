"""Forms for deliveries: recording a batch, correcting one, recording an invoice."""

from __future__ import annotations

from datetime import date
from typing import Any

import streamlit as st

from procure.kinds import BatchStatus
from procure.records import Batch, BatchEdit


def batch_form(
    key: str, task_types: dict[str, str], weeks: int, default_week: int, delivered_by: date
) -> dict[str, Any] | None:
    """A delivered batch of one of ``task_types`` (key -> name); ``delivered_by`` (the report
    date) is the latest delivery day."""
    statuses = [s.value for s in BatchStatus]
    with st.form(key, clear_on_submit=True):
        a, b, c = st.columns(3)
        keys: list[str] = list(task_types)
        task_type = a.selectbox(
            "Task type",
            keys,
            format_func=lambda k: task_types.get(k, k),
            key=f"{key}_task_type",
        )
        week = b.number_input(
            "Schedule week",
            min_value=1,
            max_value=max(weeks, 1),
            value=min(max(default_week, 1), max(weeks, 1)),
            step=1,
            key=f"{key}_week",
        )
        delivered_on = c.date_input(
            "Delivered on", value=delivered_by, max_value=delivered_by, key=f"{key}_delivered_on"
        )
        quantity = a.number_input(
            "Units delivered", min_value=0, value=0, step=1, key=f"{key}_quantity"
        )
        status = b.selectbox(
            "Status", statuses, format_func=lambda s: s.replace("_", " "), key=f"{key}_status"
        )
        accepted = c.number_input(
            "Accepted units (partial acceptance only)",
            min_value=0,
            value=0,
            step=1,
            key=f"{key}_accepted",
        )
        ref = a.text_input(
            "Vendor's batch id", help="Leave blank to generate one.", key=f"{key}_ref"
        )
        notes = b.text_input("Notes", key=f"{key}_notes")
        if st.form_submit_button("Record batch", type="primary", key=f"{key}_save"):
            return {
                "task_type": task_type,
                "week": int(week),
                "delivered_on": delivered_on,
                "quantity": int(quantity),
                "status": status,
                "accepted_quantity": int(accepted)
                if status == BatchStatus.partially_accepted
                else None,
                "ref": ref.strip() or None,
                "notes": notes,
            }
    return None


def batch_edit_form(
    key: str, batch: Batch, weeks: int, *, decided: bool
) -> tuple[BatchEdit, str] | None:
    """A correction of ``batch``'s facts with its reason (keyed by the batch)."""
    key = f"{key}_{batch.id}"
    with st.form(key):
        a, b, c = st.columns(3)
        ref = a.text_input("Vendor's batch id", value=batch.ref, key=f"{key}_ref")
        week = b.number_input(
            "Schedule week",
            min_value=1,
            max_value=max(weeks, batch.week, 1),
            value=batch.week,
            step=1,
            key=f"{key}_week",
        )
        delivered_on = c.date_input(
            "Delivered on", value=batch.delivered_on, key=f"{key}_delivered_on"
        )
        quantity = a.number_input(
            "Units delivered",
            min_value=1,
            value=batch.quantity,
            step=1,
            key=f"{key}_quantity",
            disabled=decided,
            help="A decided batch's quantity is part of its decision: reopen it for review "
            "first (Re-decide)."
            if decided
            else None,
        )
        notes = b.text_input("Notes", value=batch.notes, key=f"{key}_notes")
        reason = c.text_input("Reason (required)", key=f"{key}_reason")
        if st.form_submit_button("Save correction", key=f"{key}_save"):
            edit = BatchEdit(
                ref=ref.strip(),
                week=int(week),
                delivered_on=delivered_on if isinstance(delivered_on, date) else None,
                quantity=None if decided else int(quantity),
                notes=notes,
            )
            return edit, reason
    return None


def invoice_form(
    key: str, currency: str, batches: list[Batch], by_period: bool, issued_by: date
) -> dict[str, Any] | None:
    """A vendor's invoice: what it bills (the batches, or a delivery period) and for how much."""
    with st.form(key):
        a, b, c = st.columns(3)
        number = a.text_input("Invoice number", key=f"{key}_number")
        issued_on = b.date_input(
            "Issued on", value=issued_by, max_value=issued_by, key=f"{key}_issued_on"
        )
        paid_on = c.date_input("Paid on (blank: unpaid)", value=None, key=f"{key}_paid_on")
        units = a.number_input("Units billed", min_value=0, step=1, key=f"{key}_units")
        amount = b.text_input(
            f"Amount billed ({currency})",
            key=f"{key}_amount",
            help="As on the invoice, e.g. 17500.00; kept exactly.",
        )
        notes = c.text_input("Notes", key=f"{key}_notes")
        refs: list[str] = []
        start = end = None
        if by_period:
            p, q = st.columns(2)
            start = p.date_input("Period from", value=None, key=f"{key}_period_start")
            end = q.date_input("Period to", value=None, key=f"{key}_period_end")
        else:
            by_ref = {batch.ref: batch for batch in batches}
            refs = st.multiselect(
                "Batches billed",
                list(by_ref),
                format_func=lambda ref: (
                    f"{ref} (week {by_ref[ref].week}, {by_ref[ref].quantity:,} units, "
                    f"{str(by_ref[ref].status).replace('_', ' ')})"
                ),
                key=f"{key}_batches",
                placeholder="the batches this invoice bills",
            )
        if st.form_submit_button("Record invoice", type="primary", key=f"{key}_save"):
            return {
                "number": number.strip(),
                "issued_on": issued_on,
                "paid_on": paid_on,
                "units": int(units),
                "amount": amount.strip(),
                "currency": currency,
                "batches": refs,
                "period_start": start,
                "period_end": end,
                "notes": notes,
            }
    return None
