from functools import partial

import pandas as pd
import streamlit as st

from procure import records
from procure.delivery import build_report, week_of
from procure.kinds import BatchStatus
from procure.ui import forms, widgets
from procure.ui.charts import burnup_figure
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
priced_types = sorted(
    {cost.task_type for cost in spend.batches} | {row.task_type for row in chosen.rows}
)

a, b, c, d = st.columns(4)
a.metric(
    "Planned",
    f"{chosen.planned:,}",
    f"{chosen.planned_due(report.as_of):,} due so far",
    delta_color="off",
)
b.metric("Delivered", f"{chosen.delivered:,}")
c.metric("Accepted", f"{chosen.accepted:,}")
d.metric(
    "Spent",
    widgets.money(spend.spent, contract.currency),
    f"{widgets.share(spend.spent_share)} of {widgets.money(spend.budget, contract.currency)}",
    delta_color="off",
)
widgets.alerts(
    [alert for alert in report.alerts if alert.contract_id == contract.id],
    empty="No late, short or missing deliveries for this contract.",
)

left, right = st.columns([3, 2])
with left:
    st.subheader("Schedule vs actual")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "week": row.week,
                    "task type": row.task_type,
                    "due": row.due_date,
                    "planned": row.planned,
                    "delivered": row.delivered,
                    "accepted": row.accepted,
                    "days late": row.days_late,
                    "short by": row.short_by,
                    "state": row.state.value,
                }
                for row in chosen.rows
            ]
        ),
        hide_index=True,
    )
with right:
    widgets.plotly_chart(burnup_figure, chosen.burnup, "Burn-up")

st.subheader("Batches")
if chosen.batches:
    st.caption(
        "Effective unit price: what each billable unit costs after volume tiers and discounts "
        "(pending batches are priced as if accepted; rejected units are not paid)."
    )
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "id": batch.id,
                    "ref": batch.ref,
                    "task type": chosen.task_types[batch.task_type_id].key,
                    "week": batch.week,
                    "delivered on": batch.delivered_on,
                    "units": batch.quantity,
                    "status": str(batch.status).replace("_", " "),
                    "billable units": cost.billable_units,
                    "cost": widgets.money(cost.cost, contract.currency),
                    "effective unit price": "-"
                    if cost.effective_unit_price is None
                    else widgets.money(cost.effective_unit_price, contract.currency, places=4),
                    "notes": batch.notes,
                }
                for batch, cost in zip(chosen.batches, chosen.batch_costs, strict=True)
            ]
        ),
        hide_index=True,
    )
else:
    st.write("No batches delivered yet.")

record, review = st.columns(2)
with record:
    st.subheader("Record a delivered batch")
    with reported_errors():
        values = forms.batch_form(
            f"batch_form_{contract.id}",
            priced_types,
            chosen.weeks,
            week_of(contract.start_date, report.as_of),
        )
        if values is not None:
            commit(
                partial(records.record_batch, contract_id=contract.id or 0, data=values),
                lambda batch: f"Batch {batch.ref} recorded.",
            )
with review:
    st.subheader("Review a batch")
    if chosen.batches:
        by_id = {batch.id: batch for batch in chosen.batches}
        with st.form(f"status_form_{contract.id}"):
            picked = st.selectbox(
                "Batch",
                list(by_id),
                format_func=lambda i: (
                    f"{by_id[i].ref} ({by_id[i].quantity:,} units, {by_id[i].status})"
                ),
                key=f"status_batch_{contract.id}",
            )
            status = st.selectbox(
                "New status",
                [s.value for s in BatchStatus],
                format_func=lambda s: s.replace("_", " "),
                key=f"status_new_{contract.id}",
            )
            accepted = st.number_input(
                "Accepted units (partial acceptance only)",
                min_value=0,
                step=1,
                key=f"status_accepted_{contract.id}",
            )
            if st.form_submit_button("Update status", type="primary"):
                commit(
                    partial(
                        records.set_batch_status,
                        picked or 0,
                        status,
                        accepted_quantity=int(accepted)
                        if status == BatchStatus.partially_accepted
                        else None,
                    ),
                    "Batch status updated.",
                )
    else:
        st.write("Nothing to review yet.")
