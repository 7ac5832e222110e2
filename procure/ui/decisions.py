"""Deciding a batch, on Deliveries and on Labels & quality: an undecided batch offers accept,
partially accept and reject; a decided one shows its decision (who, when, the frozen cost) and
offers a re-decision only with a reason. Every decision keeps the evidence the page showed."""

from __future__ import annotations

from functools import partial

import streamlit as st

from procure import records
from procure.kinds import BatchStatus
from procure.quality import BatchEvidence
from procure.records import Batch, BatchEvent
from procure.results import to_json
from procure.ui import tables, widgets
from procure.ui.state import commit

RE_DECISIONS = {
    BatchStatus.accepted: "accept",
    BatchStatus.partially_accepted: "partially accept",
    BatchStatus.rejected: "reject",
    BatchStatus.in_review: "reopen for review (unfreezes its price)",
}


def decided(batch: Batch) -> bool:
    return BatchStatus(batch.status) in records.DECIDED


def _units(batch: Batch, evidence: BatchEvidence | None, key: str) -> int:
    """The "accept this many units" input, keyed by the batch it decides."""
    most = max(batch.quantity - 1, 1)
    suggested = batch.accepted_quantity
    if suggested is None and evidence is not None:
        suggested = evidence.suggested_accepted_quantity
    return int(
        st.number_input(
            "Units to accept (for a partial acceptance)",
            min_value=1,
            max_value=most,
            value=min(max(suggested or batch.quantity - 1, 1), most),
            step=1,
            key=f"{key}_quantity_{batch.id}",
            help="For a partial acceptance: the units paid for; the rest are rejected.",
        )
    )


def _decide(
    batch: Batch,
    status: BatchStatus,
    units: int,
    evidence: BatchEvidence | None,
    *,
    reason: str = "",
    note: str = "",
) -> None:
    partly = status is BatchStatus.partially_accepted
    done = {
        BatchStatus.accepted: "accepted",
        BatchStatus.partially_accepted: f"partially accepted: {units:,} units",
        BatchStatus.rejected: "rejected",
        BatchStatus.in_review: "reopened for review",
    }[status]
    commit(
        partial(
            records.decide_batch,
            batch.id or 0,
            status,
            accepted_quantity=units if partly else None,
            reason=reason,
            note=note,
            evidence=None if evidence is None else to_json(evidence),
        ),
        f"Batch {batch.ref} {done}.",
    )


def decision_panel(
    batch: Batch,
    last: BatchEvent | None,
    evidence: BatchEvidence | None,
    *,
    key: str,
    currency: str,
) -> None:
    """The decision of ``batch``: the buttons for an undecided one, the standing and a
    re-decision (reason required) for a decided one. ``key`` names the page's copy."""
    shown = None if evidence is None else widgets.escape(tables.evidence_text(to_json(evidence)))
    if not decided(batch):
        if shown:
            st.caption(f"Evidence, kept with the decision: {shown}.")
        with st.form(f"{key}_decide_{batch.id}"):
            units = _units(batch, evidence, key)
            note = st.text_input("Note (optional)", key=f"{key}_note_{batch.id}")
            a, b, c = st.columns(3)
            accept = a.form_submit_button(
                "Accept batch", type="primary", key=f"{key}_accept_{batch.id}"
            )
            partly = b.form_submit_button("Partially accept", key=f"{key}_partial_{batch.id}")
            reject = c.form_submit_button("Reject batch", key=f"{key}_reject_{batch.id}")
        chosen = (
            BatchStatus.accepted
            if accept
            else BatchStatus.partially_accepted
            if partly
            else BatchStatus.rejected
            if reject
            else None
        )
        if chosen is not None:
            _decide(batch, chosen, units, evidence, note=note)
        return

    money = (
        None
        if batch.priced_cost is None
        else widgets.money(batch.priced_cost, batch.priced_currency or currency)
    )
    st.info(widgets.escape(tables.decision_text(batch, last, money)), icon=":material/gavel:")
    if last is not None and (last.reason or last.note):
        st.caption(
            widgets.escape(
                "; ".join(
                    part
                    for part in (
                        f"Reason: {last.reason}" if last.reason else "",
                        f"Note: {last.note}" if last.note else "",
                    )
                    if part
                )
            )
        )
    with st.expander("Re-decide this batch (needs a reason)"):
        if shown:
            st.caption(f"Evidence now, kept with the re-decision: {shown}.")
        current = BatchStatus(batch.status)
        options = [
            s for s in RE_DECISIONS if s is not current or current is BatchStatus.partially_accepted
        ]
        with st.form(f"{key}_redecide_{batch.id}"):
            status = st.selectbox(
                "New decision",
                options,
                format_func=RE_DECISIONS.__getitem__,
                key=f"{key}_status_{batch.id}",
            )
            units = _units(batch, evidence, key)
            reason = st.text_input(
                "Reason (required, kept in the history)", key=f"{key}_reason_{batch.id}"
            )
            note = st.text_input("Note (optional)", key=f"{key}_renote_{batch.id}")
            if st.form_submit_button("Re-decide", key=f"{key}_redecide_{batch.id}_save"):
                _decide(batch, BatchStatus(status), units, evidence, reason=reason, note=note)
