import tempfile
from functools import partial
from pathlib import Path

import pandas as pd
import streamlit as st

from procure import catalog, labelfiles, labelstore
from procure.charts import confusion_figure, trend_figure
from procure.kinds import LabelSource
from procure.quality import quality_report, select_labels
from procure.ui.state import commit, reported_errors, session, show_flash, workspace

st.title("Labels & quality")
show_flash()

with session() as db:
    task_types = catalog.list_task_types(db)
if not task_types:
    st.info(
        "Add a task type on **Vendors & contracts** first; labels are checked against its label set."
    )
    st.stop()

keys = [t.key for t in task_types]
task_key = st.selectbox("Task type", keys, key="quality_task_type")
with session() as db:
    selection = select_labels(db, task_key)
    sets = labelstore.label_sets(db)
    task_batches = labelstore.batches_of(db, task_key)

with st.expander("Import labels", expanded=not sets):
    upload = st.file_uploader(
        "Label file (CSV, TSV, JSON Lines, JSON or Parquet; gzip ok)",
        type=["csv", "tsv", "jsonl", "ndjson", "json", "parquet", "gz"],
        key="labels_upload",
    )
    if upload is not None:
        folder = Path(tempfile.mkdtemp(prefix="procure-upload-"))
        path = folder / upload.name
        path.write_bytes(upload.getbuffer())
        with reported_errors():
            shown = labelfiles.preview(path, upload.name)
            st.caption(
                f"{shown.format.value}{' (gzip)' if shown.gzip else ''}; columns: {', '.join(shown.columns)}"
            )
            st.dataframe(pd.DataFrame(shown.rows, columns=shown.header), hide_index=True)
        kind = st.radio(
            "These labels are",
            [s.value for s in LabelSource],
            horizontal=True,
            key="labels_source",
            format_func={
                "vendor": "a delivered batch's",
                "llm": "an LLM run's",
                "gold": "gold / reviewed",
            }.get,
        )
        batch_id = None
        llm = None
        if kind == LabelSource.vendor:
            if not task_batches:
                st.warning(
                    "No delivered batch of this task type yet: record it on **Deliveries** first."
                )
            batch_id = st.selectbox(
                "Batch",
                [b.id for b in task_batches],
                key="labels_batch",
                format_func=lambda i: next(
                    f"{b.ref} (week {b.week}, {b.quantity:,} units)"
                    for b in task_batches
                    if b.id == i
                ),
            )
        elif kind == LabelSource.llm:
            a, b, c = st.columns(3)
            llm = labelstore.LlmRunSpec(
                a.text_input("Model", key="labels_model"),
                b.text_input("Provider", key="labels_provider"),
                c.text_input("Prompt version", key="labels_prompt"),
            )
        force = st.checkbox(
            "Import even if this exact file was imported before", key="labels_force"
        )
        if st.button("Import", type="primary", key="labels_import"):
            with st.spinner("Checking and storing the labels..."):
                commit(
                    partial(
                        labelstore.import_labels,
                        store=workspace().settings.label_store,
                        path=path,
                        source=kind,
                        task_type_key=task_key,
                        batch_id=batch_id,
                        llm=llm,
                        force=force,
                        display_name=upload.name,
                    ),
                    lambda stored: f"Imported {stored.rows:,} labels as {stored.name!r}.",
                )

if not selection.vendor and not selection.llm and not selection.gold:
    st.info(
        "No labels for this task type yet: import a batch's labels, an LLM run or a gold set above."
    )
    st.stop()

with session() as db, reported_errors():
    report = quality_report(db, workspace().settings.label_store, selection)

human = report["human"]
if human:
    st.subheader("The vendor's own annotators (the human ceiling)")
    a, b, c, d = st.columns(4)
    a.metric("Items", f"{human['items']:,}")
    b.metric(
        "Agreement",
        "-" if human["percent_agreement"] is None else f"{human['percent_agreement']:.1%}",
    )
    c.metric(
        "Krippendorff's alpha",
        "-" if human["krippendorff_alpha"] is None else f"{human['krippendorff_alpha']:.3f}",
    )
    d.metric("Gwet's AC1", "-" if human["gwet_ac1"] is None else f"{human['gwet_ac1']:.3f}")

if report["pairs"]:
    st.subheader("Vendor consensus, LLM and gold")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "comparison": name.replace("_", " "),
                    "items": pair["items"],
                    "agreement": pair["percent_agreement"],
                    "Cohen's kappa": pair["cohen_kappa"],
                    "kappa 95% CI": "-"
                    if not pair["cohen_kappa_ci95"]
                    else f"{pair['cohen_kappa_ci95'][0]:.3f} to {pair['cohen_kappa_ci95'][1]:.3f}",
                    "Gwet's AC1": pair["gwet_ac1"],
                }
                for name, pair in report["pairs"].items()
            ]
        ),
        hide_index=True,
        column_config={
            "agreement": st.column_config.NumberColumn(format="percent"),
            "Cohen's kappa": st.column_config.NumberColumn(format="%.3f"),
            "Gwet's AC1": st.column_config.NumberColumn(format="%.3f"),
        },
    )
    shown_pair = st.selectbox(
        "Confusion matrix",
        list(report["pairs"]),
        format_func=lambda n: n.replace("_", " "),
        key="quality_pair",
    )
    first, second = shown_pair.split("_vs_")
    pair = report["pairs"][shown_pair]
    left, right = st.columns(2)
    left.plotly_chart(
        confusion_figure(pair["confusion"]["labels"], pair["confusion"]["counts"], first, second)
    )
    if report["weeks"]:
        right.plotly_chart(trend_figure(report["weeks"]))

if report["annotators"]:
    st.subheader("Annotators")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "annotator": a["annotator"],
                    "labels": a["labels"],
                    "agreement with LLM": a.get("vs_llm", {}).get("percent_agreement"),
                    "kappa with LLM": a.get("vs_llm", {}).get("cohen_kappa"),
                    "agreement with gold": a.get("vs_gold", {}).get("percent_agreement"),
                    "gold items": a.get("vs_gold", {}).get("items"),
                }
                for a in report["annotators"]
            ]
        ),
        hide_index=True,
        column_config={
            "agreement with LLM": st.column_config.NumberColumn(format="percent"),
            "agreement with gold": st.column_config.NumberColumn(format="percent"),
            "kappa with LLM": st.column_config.NumberColumn(format="%.3f"),
        },
    )
