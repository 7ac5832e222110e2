from functools import partial

import streamlit as st

from procure.delivery import build_report
from procure.records import is_empty
from procure.sample import load_sample
from procure.ui import widgets
from procure.ui.charts import burnup_figure, spend_figure
from procure.ui.state import as_of, commit, session, show_flash, workspace

st.title("Overview")
show_flash()

with session() as db:
    empty = is_empty(session=db)
    report = None if empty else build_report(as_of(), session=db)

if report is None:
    st.info(
        "This workspace has no contracts yet. Load the sample workspace to look around, or start "
        "with a vendor and a task type on **Vendors & contracts**, then a contract and its schedule.",
        icon=":material/info:",
    )
    if st.button("Load the sample workspace", key="load_sample", type="primary"):
        store = workspace().settings.label_store
        commit(partial(load_sample, as_of(), store), "Sample workspace loaded.")
    st.page_link(
        "pages/vendors_contracts.py", label="Vendors & contracts", icon=":material/handshake:"
    )
    st.stop()

totals = report.totals
currency = report.currency
active = report.active
due_units = sum(r.planned_due(report.as_of) for r in active)
problems = sum(len(r.problems) for r in active)

columns = [*st.columns(3), *st.columns(3)]
columns[0].metric("Active contracts", len(active), help="Contracts with status active.")
if totals is None:
    st.error(
        f"Totals need exchange rates to {currency} for: {', '.join(report.missing_rates)}. "
        "Add them under Vendors & contracts > Exchange rates.",
        icon=":material/currency_exchange:",
    )
else:
    columns[1].metric(
        "Committed budget",
        widgets.money(totals.budget, currency),
        help="Budgets of all contracts past the draft stage, in the reporting currency.",
    )
    columns[2].metric(
        "Spent",
        widgets.money(totals.spent, currency),
        f"{totals.spent / totals.budget:.0%} of budget" if totals.budget else None,
        delta_color="off",
        delta_arrow="off",
    )
    columns[3].metric(
        "Projected",
        widgets.money(totals.projected, currency),
        widgets.money(totals.projected - totals.budget, currency) + " vs budget",
        delta_color="inverse",
    )
columns[4].metric(
    "Accepted / due (active)",
    f"{sum(r.accepted for r in active):,} / {due_units:,}",
    help="Units accepted so far against units whose due date has passed.",
)
columns[5].metric("Late or short weeks", problems)

st.subheader("Alerts")
widgets.alerts(report.alerts)

left, right = st.columns(2)
with left:
    widgets.plotly_chart(burnup_figure, report.burnup, "Burn-up across committed contracts")
if totals is not None:
    with right:
        widgets.plotly_chart(spend_figure, report.committed, report.rates)

st.subheader("Contracts")
st.dataframe(widgets.contracts_table(report), hide_index=True)

if report.ending_soon:
    st.subheader("Ending soon")
    for r in report.ending_soon:
        days = (r.contract.end_date - report.as_of).days
        st.write(
            f"**{r.label}** ends on {r.contract.end_date} ({days} day{'' if days == 1 else 's'} left); {r.accepted:,} of {r.planned:,} units accepted."
        )
