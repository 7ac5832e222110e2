from functools import partial

import streamlit as st

from procure.delivery import build_report
from procure.records import is_empty
from procure.sample import load_sample
from procure.ui import tables, widgets
from procure.ui.charts import money_burnup_figure, spend_figure
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


work = st.columns(4)
work[0].metric("Active contracts", len(active), help="Active and not past their end date.")
work[1].metric(
    "Ended, not closed",
    len(report.ended_not_closed),
    help="Active contracts past their end date: close them or extend them by an amendment.",
)
work[2].metric(
    "Accepted / due (active)",
    f"{sum(r.accepted for r in active):,} / {due_units:,}",
    help="Units accepted so far against units whose due date has passed.",
)
work[3].metric("Late or short weeks", problems)
if totals is None:
    st.error(
        widgets.escape(
            f"Totals need exchange rates to {currency} for: {', '.join(report.missing_rates)}. "
            "Add them under Vendors & contracts > Exchange rates."
        ),
        icon=":material/currency_exchange:",
    )
else:
    widgets.money_metrics(totals, currency)

st.subheader("Alerts")
st.caption("Problems first (missing, late, short, over budget, disputed), then notices.")
widgets.alerts(report.alerts)

left, right = st.columns(2)
with left:
    if report.money_burnup:
        widgets.plotly_chart(
            money_burnup_figure,
            report.money_burnup,
            f"Value burn-up across committed contracts ({currency})",
            currency,
        )
if totals is not None and report.committed:
    with right:
        widgets.plotly_chart(spend_figure, report.committed, report.rates)

if report.ended_not_closed:
    st.subheader("Ended, not closed")
    st.caption(
        "Past their end date and still active: mark them completed or terminated, or extend them "
        "by an amendment, on Vendors & contracts."
    )
    widgets.table(
        tables.ending_rows(report.ended_not_closed, report.as_of),
        key="ended_not_closed",
    )

if report.ending_soon:
    st.subheader("Ending soon")
    widgets.table(
        tables.ending_rows(report.ending_soon, report.as_of),
        key="ending_soon",
    )

st.subheader("Contracts")
st.caption(
    "Amounts in each contract's own currency, one currency per column"
    + (
        f"; the '(as {currency})' columns convert every contract at the exchange rates."
        if len({r.contract.currency for r in report.contracts} | {currency}) > 1
        else "."
    )
)
widgets.table(
    tables.contract_rows(report),
    key="contracts",
    download=widgets.file_name("procure", "contracts", report.as_of),
    column_config={
        "spent %": st.column_config.NumberColumn("spent %", format="%.0f%%"),
        "vendor": st.column_config.TextColumn("vendor", pinned=True),
        "contract": st.column_config.TextColumn("contract", pinned=True),
    },
)
