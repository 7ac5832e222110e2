from functools import partial

import numpy as np
import pandas as pd
import streamlit as st

from procure import economics as ec
from procure.records import list_prices, list_task_types, replace_prices
from procure.ui import cached, widgets
from procure.ui.charts import break_even_figure, strategies_figure, tornado_figure
from procure.ui.state import as_of, commit, reported_errors, session, show_flash

st.title("Economics")
st.caption(
    "What a correct label costs from each vendor, from an LLM and from hybrids, from the "
    "workspace's own measured figures. Edit any input to explore; the README gives every formula."
)
show_flash()

with session() as db:
    task_types = list_task_types(session=db)
    prices = [p.model_dump(exclude={"id"}) for p in list_prices(session=db)]
if not task_types:
    st.info("No task types yet: add contracts on **Vendors & contracts**, or load the sample.")
    st.stop()

by_key = {t.key: t for t in task_types}
task = by_key[
    st.selectbox(
        "Task type", list(by_key), format_func=lambda k: by_key[k].name, key="economics_task"
    )
]
runs = {run.label_set_id: run for run in cached.economics_runs(task.key)}
chosen_runs = st.multiselect(
    "Measure the LLMs from these runs",
    list(runs),
    format_func=lambda i: runs[i].title + (" (the default)" if runs[i].used else ""),
    key=f"economics_llm_runs_{task.key}",
    placeholder="each model's run with the most gold items, of those whose cost is known",
    help="An LLM's accuracy is measured against gold on the run's items; the inputs below name "
    "the run each figure comes from.",
)
measured = None
with reported_errors():
    measured = cached.measured(task.key, as_of(), tuple(sorted(chosen_runs)))
if measured is None:
    st.stop()
data, inputs = measured
key = f"economics_{task.key}"

Number = st.column_config.NumberColumn
with st.expander("Inputs: measured from the workspace or assumed; edit any to explore"):
    a, b, c, d = st.columns(4)
    volume = a.number_input(
        "Labels wanted", min_value=1, value=int(data["volume"]), step=1000, key=f"{key}_volume"
    )
    hourly = b.number_input(
        "Reviewer cost per hour",
        min_value=0.0,
        value=float(data["hourly_rate"]),
        key=f"{key}_hourly_rate",
    )
    seconds = c.number_input(
        "Review seconds per item",
        min_value=0.0,
        value=float(data["review_seconds_per_item"]),
        key=f"{key}_review_seconds",
    )
    validation = d.number_input(
        "Validation-set items",
        min_value=0,
        value=int(data["validation_items"]),
        step=50,
        key=f"{key}_validation_items",
    )
    by_kind = {kind: [s for s in data["strategies"] if s["kind"] == kind] for kind in ec.KINDS}
    st.markdown("**Vendors** (human strategies)")
    humans = widgets.edited_records(
        by_kind["human"],
        {
            "name": st.column_config.TextColumn(disabled=True),
            "unit_price": Number(f"unit price ({data['currency']})", min_value=0.0, format="%.4f"),
            "acceptance_rate": widgets.share_column("acceptance rate"),
            "accuracy": widgets.share_column(),
            "review_share": widgets.share_column("share spot-checked"),
            "pays_rejected": st.column_config.CheckboxColumn("pays for rejected units"),
        },
        key=f"{key}_human",
    )
    st.markdown("**LLMs** (prices per million tokens, from the price table below)")
    llms = widgets.edited_records(
        by_kind["llm"],
        {
            "name": st.column_config.TextColumn(disabled=True),
            "input_tokens_per_item": Number("input tokens / item", min_value=0.0),
            "output_tokens_per_item": Number("output tokens / item", min_value=0.0),
            "price_in_per_mtok": Number("price in / 1M", min_value=0.0, format="%.4f"),
            "price_out_per_mtok": Number("price out / 1M", min_value=0.0, format="%.4f"),
            "cost_per_item": Number("cost / item", min_value=0.0, format="%.6f"),
            "runs_per_item": Number("runs / item", min_value=1, step=1),
            "batch_discount": widgets.share_column("batch-API discount"),
            "accuracy": widgets.share_column(),
        },
        key=f"{key}_llm",
    )
    st.markdown("**Hybrids**: the LLM labels everything, humans label a share (add rows)")
    hybrids = widgets.edited_records(
        by_kind["hybrid"],
        {
            "name": st.column_config.TextColumn(required=True),
            "llm": st.column_config.SelectboxColumn(
                options=[s["name"] for s in by_kind["llm"]], required=True
            ),
            "human": st.column_config.SelectboxColumn(
                options=[s["name"] for s in by_kind["human"]], required=True
            ),
            "policy": st.column_config.SelectboxColumn(options=list(ec.POLICIES), required=True),
            "review_fraction": widgets.share_column("share humans label"),
            "votes": Number("LLM votes", min_value=1, step=1),
            "error_capture": widgets.share_column("share of LLM errors caught"),
            "accuracy": widgets.share_column("accuracy (blank: estimated)"),
        },
        key=f"{key}_hybrid",
        num_rows="dynamic",
    )
    st.markdown("**Where each input comes from**")
    st.dataframe(
        pd.DataFrame(inputs),
        hide_index=True,
        column_config={"value": st.column_config.TextColumn(width="small")},
    )

scenario = None
with reported_errors():
    scenario = ec.edited_scenario(
        data,
        volume=volume,
        hourly_rate=hourly,
        review_seconds_per_item=seconds,
        validation_items=validation,
        strategies=[*humans, *llms, *({**h, "kind": "hybrid"} for h in hybrids)],
    )
if scenario is None:
    st.stop()

report = ec.report(scenario)
st.success(widgets.escape(report.summary), icon=":material/savings:")
currency = report.currency
st.dataframe(
    pd.DataFrame(
        [
            {
                "strategy": s.name,
                "kind": s.kind,
                "accuracy": float(s.accuracy),
                "estimated": s.accuracy_estimated,
                "per label": float(s.cost_per_label),
                "per accepted": float(s.cost_per_accepted_label),
                "per correct": float(s.cost_per_correct_label),
                "all-in per correct": float(s.all_in_cost_per_correct_label),
                "5-95% band": " to ".join(
                    f"{float(v):.4g}" for v in s.all_in_cost_per_correct_label_p05_p95
                ),
                "validation set": float(s.validation_cost),
                "all-in total": float(s.all_in_cost),
                "break-even volume": s.break_even_volume,
                "break-even accuracy": None
                if s.break_even_accuracy is None
                else float(s.break_even_accuracy),
            }
            for s in report.strategies
        ]
    ),
    hide_index=True,
    column_config={
        "accuracy": Number(format="percent"),
        "break-even accuracy": Number(format="percent"),
        **{
            name: Number(f"{name} ({currency})", format="%.4g")
            for name in ("per label", "per accepted", "per correct", "all-in per correct")
        },
        "validation set": Number(format="%.2f"),
        "all-in total": Number(format="%.2f"),
    },
)
st.caption(
    "All-in adds the one-off validation set to the cost of the labels wanted. Break-even: the "
    f"volume from which the strategy costs less per correct label than "
    f"{widgets.escape(str(report.compared_with))}, "
    "and the accuracy an LLM-only strategy needs to match it. Estimated accuracies combine the "
    "parts (README: Economics); bands are 5th-95th percentiles over 10,000 draws from the "
    "measured rates' posteriors."
)

left, right = st.columns(2)
with left:
    st.subheader("Cost per correct label")
    st.plotly_chart(strategies_figure(report.strategies, currency), key="economics_bars")
with right:
    st.subheader("Break-even by volume")
    volumes = sorted({int(v) for v in np.geomspace(100, max(10 * scenario.volume, 10_000), 30)})
    st.plotly_chart(break_even_figure(ec.curve(scenario, volumes), currency), key="economics_curve")

st.subheader("Sensitivity")
names = [s.name for s in scenario.strategies]
target = st.selectbox("Strategy", names, index=names.index(report.cheapest), key=f"{key}_tornado")
st.plotly_chart(
    tornado_figure(
        ec.tornado(scenario, target),
        ec.all_in_per_correct(scenario, target, scenario.volume),
        currency,
    ),
    key="economics_tornado",
)
st.caption(
    "Each input moved across its 95% interval when measured (Wilson), else by 20% either way."
)
st.download_button(
    "Download this scenario (YAML, for `procure economics --scenario`)",
    ec.scenario_text(scenario),
    file_name=f"{task.key}_scenario.yaml",
    mime="application/yaml",
)

with st.expander("LLM price table (per million tokens, with the date each price was read)"):
    price_rows = widgets.edited_records(
        prices,
        {
            "model": st.column_config.TextColumn(required=True),
            "provider": st.column_config.TextColumn(),
            "currency": st.column_config.TextColumn(default="USD"),
            "price_in_per_mtok": Number("in / 1M", min_value=0.0, format="%.4f"),
            "price_out_per_mtok": Number("out / 1M", min_value=0.0, format="%.4f"),
            "batch_discount": widgets.share_column("batch discount"),
            "read_on": st.column_config.DateColumn("read on", required=True),
            "source": st.column_config.TextColumn(),
        },
        key="economics_prices",
        num_rows="dynamic",
    )
    if st.button("Save the price table", key="economics_save_prices"):
        commit(
            partial(replace_prices, price_rows),
            lambda n: f"Price table saved ({n} models).",
        )
