"""procure: the Streamlit entry point. Router and frame only."""

import streamlit as st

from procure.config import today
from procure.ui.state import AS_OF_KEY, workspace

st.set_page_config(page_title="procure", page_icon=":material/inventory_2:", layout="wide")

page = st.navigation(
    [
        st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
        st.Page(
            "pages/vendors_contracts.py", title="Vendors & contracts", icon=":material/handshake:"
        ),
        st.Page("pages/deliveries.py", title="Deliveries", icon=":material/local_shipping:"),
        st.Page("pages/quality.py", title="Labels & quality", icon=":material/fact_check:"),
        st.Page("pages/llm_labelling.py", title="LLM labelling", icon=":material/smart_toy:"),
        st.Page("pages/economics.py", title="Economics", icon=":material/savings:"),
    ]
)

with st.sidebar:
    st.date_input(
        "As of", value=today(), key=AS_OF_KEY, help="Reports are computed as of this date."
    )
    ws = workspace()
    st.caption(f"Workspace: `{ws.settings.home}`  \nRecords: `{ws.settings.database_label}`")

page.run()
