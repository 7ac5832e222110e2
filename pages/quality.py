from functools import partial
from pathlib import Path

import pandas as pd
import streamlit as st

from procure import labels, quality, records
from procure.kinds import LabelSource
from procure.labels import Adapter
from procure.quality import add_review, select_labels, set_rule
from procure.ui import cached, decisions, jobs, tables, widgets
from procure.ui.charts import confusion_figure, trend_figure
from procure.ui.preferences import show_preferences
from procure.ui.state import commit, reported_errors, session, show_flash, workspace

st.title("Labels & quality")
show_flash()

with session() as db:
    task_types = records.list_task_types(session=db)
if not task_types:
    st.info(
        "Add a task type on **Vendors & contracts** first; labels are checked against its label set."
    )
    st.stop()

by_key = {t.key: t for t in task_types}
task_key = st.selectbox(
    "Task type", list(by_key), format_func=lambda k: by_key[k].name, key="quality_task_type"
)
task_type = by_key[task_key]
with session() as db:
    selection = select_labels(
        task_key, store=workspace().settings.label_store, with_llm=False, session=db
    )
    sets = [s for s in labels.label_sets(session=db) if s.task_type_id == by_key[task_key].id]
    task_batches = labels.batches_of(task_key, session=db)

with st.expander("Import labels", expanded=not sets):
    upload = st.file_uploader(
        "Label file (CSV, TSV, JSON Lines, JSON or Parquet; gzip ok)",
        type=["csv", "tsv", "jsonl", "ndjson", "json", "parquet", "gz"],
        key="labels_upload",
    )
    file_kind = st.radio(
        "File",
        ["labels", *(a.value for a in Adapter)],
        horizontal=True,
        key="labels_file_kind",
        format_func={
            "labels": "label file (long format)",
            "label-studio": "Label Studio JSON export",
            "labelbox": "Labelbox NDJSON export",
        }.get,
    )
    adapter = None if file_kind == "labels" else Adapter(file_kind)
    field = None
    if upload is not None:
        with widgets.uploaded_file(upload) as path:
            with reported_errors():
                shown_path = path
                if adapter is not None:
                    field = st.selectbox(
                        "Label field", labels.fields(path, adapter, upload.name), key="labels_field"
                    )
                    shown_path = path.with_name("converted.parquet")
                    labels.convert(path, adapter, field or "", shown_path, upload.name)
                shown = labels.preview(shown_path, upload.name)
                st.caption(
                    widgets.escape(
                        f"{'converted from the export' if adapter else shown.format.value}"
                        f"{' (gzip)' if shown.gzip else ''}; columns: {', '.join(shown.columns)}"
                    )
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
                batch_id = widgets.batch_choice(task_batches, key=f"labels_batch_{task_key}")
            elif kind == LabelSource.llm:
                a, b, c = st.columns(3)
                llm = labels.LlmRunSpec(
                    a.text_input("Model", key="labels_model"),
                    b.text_input("Provider", key="labels_provider"),
                    c.text_input("Prompt version", key="labels_prompt"),
                )
            force = st.checkbox(
                "Import even if this exact file was imported before", key="labels_force"
            )
            if st.button("Import", type="primary", key="labels_import"):
                commit(
                    partial(
                        labels.import_labels,
                        store=workspace().settings.label_store,
                        path=path,
                        source=kind,
                        task_type_key=task_key,
                        batch_id=batch_id,
                        llm=llm,
                        force=force,
                        display_name=upload.name,
                        adapter=adapter,
                        field=field,
                        progress=widgets.progress_reporter("Checking and storing the labels..."),
                    ),
                    lambda stored: f"Imported {stored.rows:,} labels as {stored.name!r}.",
                )

if sets:
    with st.expander(f"Stored label sets of this task type ({len(sets)})"):
        refs = {b.id: b.ref for b in task_batches}
        widgets.table(tables.label_set_rows(sets, refs), key=f"label_sets_{task_key}")
        by_id = {s.id: s for s in sets}
        retired = st.selectbox(
            "Label set",
            list(by_id),
            format_func=lambda i: f"{by_id[i].name} ({by_id[i].source}, {by_id[i].rows:,} labels)",
            key=f"retire_pick_{task_key}",
        )
        reason = widgets.confirmed(
            "Retire label set",
            f"retire_label_set_{retired}",
            consequence="A retired label set drops out of every figure (agreement, reviews, "
            "acceptance evidence); its file and record stay, so the history still names it.",
        )
        if reason is not None:
            commit(
                partial(labels.retire_label_set, retired or 0, reason=reason),
                f"Label set {by_id[retired].name} retired.",
            )

if not selection.vendor and not selection.llm_runs and not selection.gold:
    st.info(
        "No labels for this task type yet: import a batch's labels, an LLM run or a gold set above."
    )
    st.stop()

with session() as db:
    labelled = labels.batch_filter(selection, session=db)
chosen_batches: tuple[int, ...] | None = None
if labelled.batches:
    left, right = st.columns(2)
    vendors = left.multiselect(
        "Vendors", labelled.vendors, key=f"quality_vendors_{task_key}", placeholder="all vendors"
    )
    weeks = right.multiselect(
        "Delivery weeks", labelled.weeks, key=f"quality_weeks_{task_key}", placeholder="all weeks"
    )
    chosen_batches = labelled.chosen(vendors, weeks)
    if chosen_batches == ():
        st.info("No labelled batch of these vendors in these weeks.")
        st.stop()

runs = {run.label_set_id: run for run in cached.llm_runs(task_key, chosen_batches)}
llm_run = None
if runs:
    llm_run = st.selectbox(
        "LLM run to compare with",
        list(runs),
        format_func=lambda i: runs[i].title,
        key=f"quality_llm_run_{task_key}_{chosen_batches}",
        help="Default: the run that labels the most of the selected items (the newest among "
        "equals). Retire a stray run under Stored label sets.",
    )
page = None
with reported_errors():
    page = cached.quality(
        task_key, chosen_batches, None if llm_run == next(iter(runs), None) else llm_run
    )
if page is None:
    st.stop()
report, queue = page.report, page.queue
if report.llm_run and report.llm_run.covered == 0:
    st.warning(
        "This LLM run labels none of the selected items, so nothing is compared with it: "
        "choose another run, or retire this one."
    )

human = report.human
if human:
    st.subheader("The vendor's own annotators (the human ceiling)")
    a, b, c, d = st.columns(4)
    a.metric("Items", f"{human.items:,}")
    b.metric(
        "Agreement",
        "-" if human.percent_agreement is None else f"{human.percent_agreement:.1%}",
    )
    c.metric(
        "Krippendorff's alpha",
        "-" if human.krippendorff_alpha is None else f"{human.krippendorff_alpha:.3f}",
    )
    d.metric("Gwet's AC1", "-" if human.gwet_ac1 is None else f"{human.gwet_ac1:.3f}")

tied = report.tied
if tied.items:
    st.subheader("Ties in the vendor's consensus")
    st.caption(
        widgets.escape(
            f"{tied.tied:,} of {tied.items:,} items ({tied.share or 0:.1%}) have no single most "
            f"frequent label; {report.tie_policy.description}. Tied items are in the review queue."
        )
    )
    left, right = st.columns([3, 2])
    with left:
        widgets.table(
            [row for row in tables.tie_rows(report.ties) if row["ties"]],
            key=f"ties_{task_key}",
            empty="No ties.",
            column_config={"share tied": st.column_config.NumberColumn(format="percent")},
        )
    with right, st.form(f"tie_break_{task_type.id}"):
        order = st.multiselect(
            "Tie-break order (first wins)",
            report.labels,
            default=list(task_type.tie_break),
            key=f"tie_break_{task_type.id}_order",
            placeholder="none: leave ties out",
            help="On a safety task, put the cautious label first. Applies to every figure of "
            "this task type, on this page and in the CLI.",
        )
        if st.form_submit_button("Save tie policy", key=f"tie_break_{task_type.id}_save"):
            commit(
                partial(records.set_tie_break, task_key, order),
                "Tie policy saved.",
            )

comparable = {name: pair for name, pair in report.pairs.items() if pair.items}
if comparable:
    st.subheader("Vendor consensus, LLM and gold")
    if report.llm_run:
        st.caption(widgets.escape(f"Compared with {report.llm_run.title}."))
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "comparison": name.replace("_", " "),
                    "items": pair.items,
                    "agreement": pair.percent_agreement,
                    "Cohen's kappa": pair.cohen_kappa,
                    "kappa 95% CI": "undefined"
                    if not pair.cohen_kappa_ci95
                    else f"{pair.cohen_kappa_ci95[0]:.3f} to {pair.cohen_kappa_ci95[1]:.3f}",
                    "Gwet's AC1": pair.gwet_ac1,
                }
                for name, pair in comparable.items()
            ]
        ),
        hide_index=True,
        column_config={
            "items": widgets.units_column("items"),
            "agreement": st.column_config.NumberColumn(format="percent"),
            "Cohen's kappa": st.column_config.NumberColumn(format="%.3f"),
            "Gwet's AC1": st.column_config.NumberColumn(format="%.3f"),
        },
    )
    shown_pair = st.selectbox(
        "Confusion matrix and per-class figures",
        list(comparable),
        format_func=lambda n: n.replace("_", " "),
        key=f"quality_pair_{task_key}",
    )
    first, second = shown_pair.split("_vs_")
    pair = comparable[shown_pair]
    left, right = st.columns(2)
    with left:
        widgets.plotly_chart(
            confusion_figure,
            pair.confusion.labels,
            pair.confusion.counts,
            first,
            second,
        )
    with right:
        st.caption(f"Per class, with {second} as the reference")
        widgets.table(
            tables.class_rows(pair),
            key=f"classes_{task_key}_{shown_pair}",
            column_config={
                column: st.column_config.NumberColumn(format="%.3f")
                for column in ("precision", "recall", "F1")
            },
        )
    if report.weeks:
        widgets.plotly_chart(trend_figure, report.weeks)
        undefined = [w.week for w in report.weeks if w.cohen_kappa is None and w.items]
        if undefined:
            st.caption(
                f"Kappa is undefined in week {', '.join(map(str, undefined))}: one side gave a "
                "single label there, so chance agreement explains everything (no band is drawn)."
            )

if report.llm_test_retest:
    st.subheader("LLM test-retest")
    st.caption(
        "The same model and prompt run again on the same items: how often it gives the same label."
    )
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "model": r.model,
                    "prompt": r.prompt_version,
                    "runs": f"{r.runs[0]} and {r.runs[1]}",
                    "items": r.items,
                    "agreement": r.percent_agreement,
                    "Cohen's kappa": r.cohen_kappa,
                }
                for r in report.llm_test_retest
            ]
        ),
        hide_index=True,
        column_config={
            "agreement": st.column_config.NumberColumn(format="percent"),
            "Cohen's kappa": st.column_config.NumberColumn(format="%.3f"),
        },
    )

if report.annotators:
    st.subheader("Annotators: volume, speed and agreement")
    widgets.table(
        tables.annotator_rows(report.annotators),
        key=f"annotators_{task_key}",
        column_config={
            "median seconds per label": st.column_config.NumberColumn(format="%.1f"),
            "agreement with LLM": st.column_config.NumberColumn(format="percent"),
            "agreement with gold": st.column_config.NumberColumn(format="percent"),
            "kappa with LLM": st.column_config.NumberColumn(format="%.3f"),
        },
    )

if report.preferences:
    show_preferences(report.preferences, f"preferences_{task_key}_{chosen_batches}")


@st.fragment(run_every=1.0)
def wait_for_dawid_skene(path: Path) -> None:
    if quality.read_result(path) != quality.RUNNING:
        st.rerun()
    st.info("Fitting Dawid-Skene in the background; the estimates appear here when ready.")


if selection.vendor:
    ds_path = jobs.dawid_skene_path(task_key, chosen_batches)
    fitted = quality.read_result(ds_path)
    if fitted is None:
        if st.button(
            "Estimate annotator reliability without gold (Dawid-Skene)", key="dawid_skene"
        ):
            jobs.start_dawid_skene(task_key, chosen_batches)
            st.rerun()
    elif fitted == quality.RUNNING:
        wait_for_dawid_skene(ds_path)
    elif isinstance(fitted, dict) and fitted.get("error"):
        st.error(widgets.escape(f"Dawid-Skene: {fitted['error']}"), icon=":material/error:")
    elif isinstance(fitted, dict) and not fitted.get("result"):
        st.info("No vendor labels to fit Dawid-Skene on.")
    elif isinstance(fitted, dict):
        estimate = quality.DawidSkeneReport.from_json(fitted["result"])
        if estimate.converged:
            st.markdown(f"**Dawid-Skene** (converged after {estimate.iterations} iterations)")
        else:
            st.warning(
                f"Dawid-Skene did not converge in {estimate.iterations} iterations: the "
                "estimates below had not settled and should not be relied on."
            )
        st.dataframe(
            pd.DataFrame(
                [
                    {"annotator": a.annotator, "estimated accuracy": a.estimated_accuracy}
                    for a in estimate.annotators
                ]
            ),
            hide_index=True,
            column_config={"estimated accuracy": st.column_config.NumberColumn(format="percent")},
        )
        gold = estimate.against_gold
        if gold and gold.items:
            st.caption(
                f"On {gold.items:,} gold items, Dawid-Skene's labels are right {gold.dawid_skene:.1%} of the time, "
                f"the majority vote {gold.majority:.1%}"
                + (
                    f" ({gold.majority_tied:,} tied items counted as wrong)."
                    if gold.majority_tied
                    else "."
                )
            )

st.subheader("Items to review")
if report.llm_run is None:
    st.caption(
        "Without an LLM run only tied items are queued; import or run one to add disagreements."
    )
if not queue.items:
    st.caption(
        "Nothing to review: no unreviewed item without gold is tied or differs from the LLM."
        if report.llm_run is None or report.llm_run.covered != 0  # None: no items selected
        else "Nothing to compare: the LLM run labels none of the selected items."
    )
else:
    st.caption(
        f"{queue.total:,} items without gold or a review are tied in the vendor's consensus or "
        f"differ from the LLM (showing {len(queue.items):,}; the LLM's most confident "
        "disagreements first). Click a row to review it; a review counts as gold."
    )
    blind = st.toggle(
        "Blind review (hide the vendor's and the LLM's answers)",
        key=f"review_blind_{task_key}",
    )
    picked = widgets.table(
        quality.queue_rows(queue.items, blind=blind),
        key=f"queue_{task_key}_{blind}",
        download=widgets.file_name(task_type.name, "review queue", "blind" if blind else ""),
        on_select="rerun",
        selection_mode="single-row",
        column_config={"LLM confidence": st.column_config.NumberColumn(format="%.2f")},
    )
    items = [q.item_id for q in queue.items]
    rows = picked.selection.rows if picked is not None else []
    with st.form(f"review_form_{task_key}", clear_on_submit=True):
        a, b = st.columns([1, 2])
        item = a.selectbox(
            "Item",
            items,
            index=rows[0] if rows else 0,
            key=f"review_item_{task_key}_{rows[0] if rows else 0}",
        )
        label = b.radio(
            "Correct label",
            report.labels,
            index=None,
            format_func=widgets.escape,  # radio options render Markdown; labels are data
            horizontal=True,
            key=f"review_label_{task_key}_{item}",
        )
        c, d = st.columns([1, 2])
        reviewer = c.text_input("Reviewer", key=f"review_reviewer_{task_key}")
        note = d.text_input("Note", key=f"review_note_{task_key}")
        if st.form_submit_button("Save review", type="primary"):
            if label is None:
                st.error("Choose the correct label first: there is no default.")
            else:
                commit(
                    partial(
                        add_review,
                        task_type_key=task_key,
                        item_id=item or "",
                        label=label,
                        reviewer=reviewer,
                        note=note,
                    ),
                    f"Review of {item} saved; it counts as gold now.",
                )

reviews = cached.reviews(task_key)
if reviews.reviews:
    with st.expander(f"Reviews of this task type ({len(reviews.reviews):,})"):
        if reviews.reviewer_agreement is not None:
            st.caption(
                f"{reviews.items_with_several_reviewers:,} items were reviewed by several named "
                f"reviewers, who agree on {reviews.reviewer_agreement:.1%} of their pairs of "
                "verdicts. Each item's newest review is the gold label."
            )
        widgets.table(
            quality.review_rows(reviews),
            key=f"reviews_{task_key}",
            download=widgets.file_name(task_type.name, "reviews"),
        )

if labelled.batches:
    st.subheader("Batch acceptance")
    batch_id = widgets.batch_choice(
        labelled.batches, key=f"acceptance_batch_{task_key}", show_status=True
    )
    batch = next(b for b in labelled.batches if b.id == batch_id)
    with session() as db:
        last = records.latest_decision(batch, session=db)
        currency = records.get_contract(batch.contract_id, session=db).currency
    with reported_errors():
        evidence = cached.evidence(batch.id or 0)
        show = {"accept": st.success, "reject": st.error, "review more": st.info}[
            evidence.recommendation
        ]
        show(f"Recommendation: **{evidence.recommendation}**. {widgets.escape(evidence.reason)}.")
        rule = evidence.rule
        st.caption(
            f"Rule: error rate at most {rule.max_error_rate:.1%} at 95% confidence, with at least "
            f"{rule.min_reviewed} reviewed items{' (the default; set one below)' if rule.default else ''}."
        )
        decide, change = st.columns([2, 1])
        with decide:
            decisions.decision_panel(batch, last, evidence, key="acceptance", currency=currency)
        # The rule belongs to the batch's contract and this task type: keyed by both.
        rule_key = f"rule_{batch.contract_id}_{task_key}"
        with change.form(rule_key):
            rate = st.number_input(
                "Max error rate",
                min_value=0.0,
                max_value=0.99,
                value=float(rule.max_error_rate),
                step=0.01,
                help="A share: 0.05 is 5%.",
                key=f"{rule_key}_rate",
            )
            minimum = st.number_input(
                "Min reviewed items",
                min_value=1,
                value=int(rule.min_reviewed),
                step=1,
                key=f"{rule_key}_min",
            )
            if st.form_submit_button("Save rule", key=f"{rule_key}_save"):
                commit(
                    partial(
                        set_rule,
                        contract_id=batch.contract_id,
                        task_type_key=task_key,
                        max_error_rate=repr(rate),
                        min_reviewed=int(minimum),
                    ),
                    "Acceptance rule saved.",
                )
