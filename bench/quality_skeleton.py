"""The widgets and elements of the Labels & quality page, with fixed values and no data or
database: what a run of that page costs before it reads anything (bench_pages.py reports it)."""

import streamlit as st

st.title("Labels & quality")
st.selectbox("Task type", ["a", "b"], key="t")
with st.expander("Import labels"):
    st.file_uploader("Label file", key="u")
    st.radio("File", ["labels", "label-studio", "labelbox"], horizontal=True, key="r")
left, right = st.columns(2)
left.multiselect("Vendors", ["x", "y"], key="v")
right.multiselect("Delivery weeks", [1, 2], key="w")
st.subheader("The vendor's own annotators")
for column, label in zip(st.columns(4), ["Items", "Agreement", "alpha", "AC1"], strict=True):
    column.metric(label, "1")
st.subheader("Vendor consensus, LLM and gold")
st.dataframe({"comparison": ["vendor vs llm"], "items": [1]}, hide_index=True)
st.selectbox("Confusion matrix", ["vendor_vs_llm"], key="p")
st.columns(2)
st.subheader("Annotators")
st.dataframe({"annotator": ["a"] * 200, "labels": list(range(200))}, hide_index=True)
st.button("Estimate annotator reliability", key="ds")
st.subheader("Disagreements to review")
st.dataframe({"item": ["i"] * 100, "vendor": ["A"] * 100}, hide_index=True)
with st.form("review"):
    a, b, c = st.columns([2, 1, 1])
    a.selectbox("Item", ["i"] * 100, key="ri")
    b.selectbox("Correct label", ["A", "B"], key="rl")
    c.text_input("Reviewer", key="rr")
    st.text_input("Note", key="rn")
    st.form_submit_button("Save review")
st.subheader("Batch acceptance")
st.selectbox("Batch", ["B1"], key="b")
st.success("Recommendation: accept")
st.caption("Rule")
d, p, ch = st.columns(3)
d.button("Accept batch", key="acc")
d.button("Reject batch", key="rej")
with p.form("partial"):
    st.number_input("Accept this many units", min_value=1, value=1, key="q")
    st.form_submit_button("Partially accept")
with ch.form("rule"):
    st.number_input("Max error rate", value=0.05, key="mr")
    st.number_input("Min reviewed", value=30, key="mn")
    st.form_submit_button("Save rule")
