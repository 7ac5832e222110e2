from decimal import Decimal
from functools import partial

import streamlit as st

from procure import records
from procure.delivery import Totals, build_report, money_of, week_of
from procure.ui import cached, decisions, delivery_forms, tables, widgets
from procure.ui.charts import burnup_figure, money_burnup_figure
from procure.ui.state import as_of, commit, reported_errors, session, show_flash

st.title("Deliveries")
show_flash()

with session() as db:
    report = build_report(as_of(), session=db)

if not report.contracts:
    st.info(
        "No contracts yet: create one with its delivery schedule on **Vendors & contracts** first."
    )
    st.page_link(
        "pages/vendors_contracts.py", label="Vendors & contracts", icon=":material/handshake:"
    )
    st.stop()

chosen = widgets.contract_choice(report.contracts, key="deliveries_contract")
contract, spend = chosen.contract, chosen.spend
cid, currency, today = contract.id or 0, contract.currency, report.as_of
figures = money_of(chosen)
names = (chosen.vendor.name, contract.title)


def cash(amount: Decimal) -> str:
    return widgets.money(amount, currency)


units = st.columns(4)
units[0].metric(
    "Planned",
    f"{chosen.planned:,}",
    f"{chosen.planned_due(today):,} due so far",
    delta_color="off",
    delta_arrow="off",
)
units[1].metric("Delivered", f"{chosen.delivered:,}")
units[2].metric("Accepted", f"{chosen.accepted:,}")
units[3].metric(
    "State",
    chosen.state.value,
    help="An active contract past its end date is ended: nothing more is to come unless an "
    "amendment extends it.",
)
widgets.money_metrics(Totals(**figures), currency)
widgets.alerts(
    [alert for alert in report.alerts if alert.contract_id == contract.id],
    empty="No late, short or missing deliveries for this contract.",
)

left, right = st.columns(2)
with left:
    by_type = chosen.burnup_by_task_type
    types = {t.key: t for t in chosen.task_types.values()}
    if by_type:
        shown = next(iter(by_type))
        if len(by_type) > 1:
            shown = st.selectbox(
                "Burn-up of",
                list(by_type),
                format_func=lambda k: types[k].name if k in types else k,
                key=f"burnup_task_type_{cid}",
            )
        unit = types[shown].unit if shown in types and types[shown].unit else "unit"
        widgets.plotly_chart(
            burnup_figure, by_type[shown], f"Units burn-up: {shown} ({unit}s)", unit
        )
with right:
    widgets.plotly_chart(
        money_burnup_figure, chosen.money_burnup, f"Value burn-up ({currency})", currency
    )

st.subheader("Schedule vs actual")
widgets.table(
    tables.schedule_rows(chosen),
    key=f"schedule_{cid}",
    download=widgets.file_name(*names, "schedule", today),
    empty="No delivery schedule: add one to the contract on Vendors & contracts.",
)

st.subheader("Batches")
st.caption(
    f"Cost in {currency}: frozen when the batch was decided (nothing edited later changes it); "
    "for a batch awaiting a decision, what it costs if accepted in full. Unit price: what each "
    "billable unit costs after volume tiers and discounts; rejected units are not paid."
)
widgets.table(
    tables.batch_rows(chosen),
    key=f"batches_{cid}",
    download=widgets.file_name(*names, "batches", today),
    column_config={f"unit price ({currency})": widgets.price_column(f"unit price ({currency})")},
    empty="No batches delivered yet.",
)

with st.expander("Record a delivered batch", expanded=not chosen.batches):
    priced_types = sorted(
        {cost.task_type for cost in spend.batches} | {row.task_type for row in chosen.rows}
    )
    with reported_errors():
        values = delivery_forms.batch_form(
            f"batch_form_{cid}",
            {key: tables.task_type_names(chosen).get(key, key) for key in priced_types},
            chosen.weeks,
            week_of(contract.start_date, today),
            today,
        )
        if values is not None:
            commit(
                partial(records.record_batch, contract_id=cid, data=values, as_of=today),
                lambda batch: f"Batch {batch.ref} recorded.",
            )

if chosen.batches:
    st.subheader("A batch: its decision and history")
    batch_id = widgets.batch_choice(chosen.batches, key=f"deliveries_batch_{cid}")
    batch = next(b for b in chosen.batches if b.id == batch_id)
    with session() as db:
        history = records.batch_history(batch.id or 0, session=db)
        last = records.latest_decision(batch, session=db)
    evidence = None
    with reported_errors():
        evidence = cached.evidence(batch.id or 0)
    decisions.decision_panel(batch, last, evidence, key="deliveries", currency=currency)
    st.markdown("**History**")
    widgets.static_table(
        tables.history_rows(history),
        key=f"history_{batch.id}",
        download=widgets.file_name(*names, batch.ref, "history"),
    )
    fix, void = st.columns(2)
    with fix, st.expander("Correct this batch"):
        with reported_errors():
            correction = delivery_forms.batch_edit_form(
                "batch_edit", batch, chosen.weeks, decided=decisions.decided(batch)
            )
        if correction is not None:
            edit, why = correction
            commit(
                partial(records.edit_batch, batch.id or 0, edit, reason=why, as_of=today),
                f"Batch {edit.ref or batch.ref} corrected.",
            )
    with void, st.expander("Void this batch"):
        void_reason = widgets.confirmed(
            "Void batch",
            f"void_batch_{batch.id}",
            consequence="A voided batch drops out of every figure (spend, schedule, labels) and "
            "stays in its history. A batch an invoice bills: void the invoice first.",
        )
        if void_reason is not None:
            commit(
                partial(records.void_batch, batch.id or 0, reason=void_reason),
                f"Batch {batch.ref} voided.",
            )

with session() as db:
    voided = [b for b in records.live_batches(cid, session=db, with_voided=True) if b.voided_at]
if voided:
    with st.expander(f"Voided batches ({len(voided)})"):
        gone = widgets.batch_choice(voided, key=f"voided_batch_{cid}", show_status=True)
        with session() as db:
            gone_history = records.batch_history(gone or 0, session=db)
        widgets.static_table(tables.history_rows(gone_history), key=f"history_{gone}")

st.subheader("Invoices")
st.caption(
    "Each invoice is reconciled against the accepted units of the batches it bills, at their "
    "frozen prices: matched, over-billed (disputed: credit due) or under-billed."
)
widgets.table(
    tables.invoice_rows(chosen.invoices, currency),
    key=f"invoices_{cid}",
    download=widgets.file_name(*names, "invoices", today),
    empty="No invoices recorded for this contract yet.",
)
record_invoice, settle = st.columns(2)
with record_invoice, st.expander("Record an invoice", expanded=not chosen.invoices):
    billed = tables.billed_by(chosen)
    bills = st.radio(
        "The invoice bills",
        ["batches", "period"],
        format_func={"batches": "batches (by ref)", "period": "a delivery period"}.__getitem__,
        horizontal=True,
        key=f"invoice_bills_{cid}",
    )
    # A fresh form once an invoice is recorded (keyed by the count), so no number is reused.
    invoice = delivery_forms.invoice_form(
        f"invoice_form_{cid}_{len(chosen.invoices)}",
        currency,
        [b for b in chosen.batches if (b.id or 0) not in billed],
        bills == "period",
        today,
    )
    if invoice is not None:
        commit(
            partial(records.add_invoice, cid, invoice, as_of=today),
            lambda saved: f"Invoice {saved.number} recorded.",
        )
if chosen.invoices:
    with settle, st.expander("Mark an invoice paid, or void it"):
        by_id = {r.invoice.id: r.invoice for r in chosen.invoices}
        picked = st.selectbox(
            "Invoice",
            list(by_id),
            format_func=lambda i: (
                f"{by_id[i].number} ({by_id[i].issued_on}, "
                f"{cash(by_id[i].amount)}{', paid' if by_id[i].paid_on else ''})"
            ),
            key=f"invoice_pick_{cid}",
        )
        chosen_invoice = by_id[picked]
        paid_on = st.date_input(
            "Paid on",
            value=chosen_invoice.paid_on or today,
            key=f"invoice_paid_on_{chosen_invoice.id}",
        )
        if st.button("Mark paid", key=f"invoice_mark_paid_{chosen_invoice.id}"):
            commit(
                partial(records.mark_paid, chosen_invoice.id or 0, paid_on),
                f"Invoice {chosen_invoice.number} marked paid on {paid_on}.",
            )
        st.divider()
        void_reason = widgets.confirmed(
            "Void invoice",
            f"void_invoice_{chosen_invoice.id}",
            consequence="A voided invoice drops out of the invoiced and disputed figures and "
            "its batches can be billed again; it stays on record with the reason.",
        )
        if void_reason is not None:
            commit(
                partial(records.void_invoice, chosen_invoice.id or 0, reason=void_reason),
                f"Invoice {chosen_invoice.number} voided.",
            )
