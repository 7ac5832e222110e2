from dataclasses import replace
from decimal import Decimal
from functools import partial

import streamlit as st

from procure import llm
from procure.kinds import JobStatus, LabelKind
from procure.records import list_prices, list_task_types
from procure.ui import jobs, widgets
from procure.ui.state import as_of, commit, reported_errors, session, show_flash, workspace

st.title("LLM labelling")
st.caption(
    "Label a batch's items with an LLM through any OpenAI-compatible endpoint (OpenAI, or a "
    "vLLM, Ollama or llama.cpp server), see the estimated cost first, and get an LLM run that "
    "the Labels & quality and Economics pages use at once."
)
show_flash()
store = workspace().settings.label_store

with session() as db:
    task_types = [t for t in list_task_types(session=db) if t.labels]
    prices = {p.model: p for p in list_prices(session=db)}
if not task_types:
    st.info(
        "No task types with labels yet: add one on **Vendors & contracts**, or load the sample."
    )
    st.stop()

by_key = {t.key: t for t in task_types}
task = by_key[
    st.selectbox("Task type", list(by_key), format_func=lambda k: by_key[k].name, key="llm_task")
]
with session() as db:
    batches = llm.labelled_batches(task, session=db)
    versions = [t.version for t in llm.templates(task, session=db)]

left, right = st.columns(2)
with left:
    origin = st.radio(
        "Items", ["A delivered batch", "An items file"], horizontal=True, key="llm_origin"
    )
    batch_id = upload = None
    if origin == "A delivered batch":
        if batches:
            batch_id = widgets.batch_choice(batches, key=f"llm_batch_{task.key}")
        else:
            st.info("No batch of this task type has labels imported yet (Labels & quality).")
    else:
        upload = st.file_uploader("Items file with columns item_id and text", key="llm_items")
with right:
    if not prices:
        st.info("The price table is empty: add your model's price on the **Economics** page.")
        st.stop()

    def endpoint_of(model_name: str) -> str:
        known = llm.provider_endpoint(prices[model_name].provider)
        return known.url if known else ""

    # The endpoint follows the model's provider in the price table; the first model offered is
    # one with a known endpoint.
    names = list(prices)
    served = [n for n in names if endpoint_of(n)]
    model = st.selectbox(
        "Model",
        names,
        index=names.index(served[0]) if served else 0,
        key="llm_model",
        help="Models in the price table.",
        on_change=lambda: st.session_state.update(
            llm_base_url=endpoint_of(st.session_state["llm_model"])
        ),
    )
    st.session_state.setdefault("llm_base_url", endpoint_of(model))
    base_url = st.text_input(
        "Endpoint",
        key="llm_base_url",
        placeholder="http://localhost:11434/v1",
        help="The model's provider's endpoint from the price table; change it for a local "
        "server (vLLM, Ollama, llama.cpp).",
    )
    if not base_url.strip():
        provider = prices[model].provider.strip()
        st.info(
            widgets.escape(
                f"The price table gives {model} "
                + (
                    f"the provider {provider}, whose endpoint"
                    if provider
                    else "no provider, so its endpoint"
                )
                + " is not known: give the endpoint's URL."
            )
        )
    version = st.selectbox(
        "Prompt version",
        [llm.DEFAULT_VERSION, *versions],
        index=len(versions),
        key=f"llm_prompt_{task.key}",
    )

# The new version starts from the chosen one: keyed by the task type and that version.
prompt_key = f"llm_prompt_form_{task.key}_{version}"
with st.expander("Add a prompt version"), st.form(prompt_key):
    with session() as db:
        current = llm.template(task, version, session=db)
    new_version = st.text_input("Version", placeholder="v2", key=f"{prompt_key}_version")
    instructions = st.text_area(
        "Instructions (the allowed labels are appended)",
        current.instructions,
        key=f"{prompt_key}_instructions",
    )
    few_shot = st.number_input(
        "Few-shot examples from gold items with text",
        0,
        50,
        current.few_shot,
        key=f"{prompt_key}_few_shot",
    )
    if st.form_submit_button("Save prompt version"):
        commit(
            partial(llm.save_template, task.key, new_version, instructions, int(few_shot)),
            lambda row: f"Prompt {row.version} saved.",
        )

a, b, c, d = st.columns(4)
concurrency = a.number_input("Requests at a time", 1, 64, 4, key="llm_concurrency")
budget = b.number_input("Budget (0: none)", min_value=0.0, value=0.0, key="llm_budget")
retries = c.number_input("Retries (429, 5xx, timeouts)", 0, 10, 4, key="llm_retries")
timeout = d.number_input("Seconds per request", 1.0, 600.0, 60.0, key="llm_timeout")
provider_endpoint = llm.provider_endpoint(prices[model].provider)
key_name = provider_endpoint.key_name if provider_endpoint else jobs.KEY_NAME
api_key, found_in = jobs.api_key(key_name)
st.caption(
    f"API key: {'found in ' + found_in if api_key else 'none found (fine for a local server)'}; "
    f"read from `{key_name}` in Streamlit secrets or the environment, never stored."
)

both_orders = task.label_kind is LabelKind.preference and st.checkbox(
    "Judge each pair in both orders (A shown first, then B): twice the calls, and the swap "
    "consistency on Labels & quality",
    key=f"llm_both_orders_{task.key}",
)
source = figures = None
with reported_errors(), session() as db:
    if batch_id is not None:
        source = llm.job_source(store, batch_id=batch_id, both_orders=both_orders, session=db)
    elif upload is not None:
        with widgets.uploaded_file(upload) as path:
            source = llm.job_source(
                store,
                items_file=path,
                display_name=upload.name,
                both_orders=both_orders,
                session=db,
            )
    if source is not None:
        figures = llm.plan(
            store, task.key, source, model, prompt_version=version, today=as_of(), session=db
        ).estimate

if source is not None and figures is not None:
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Requests" if both_orders else "Items", f"{figures.items:,}")
    m2.metric("Estimated tokens", f"{figures.input_tokens + figures.output_tokens:,}")
    m3.metric("Estimated cost", widgets.money(figures.cost, figures.currency, 4))
    m4.metric("At most", widgets.money(figures.worst_case, figures.currency, 4))
    st.caption(
        f"An estimate: about 4 characters per token, prices read on {figures.price_read_on}. "
        "The budget holds back each request's worst case, so it is never exceeded."
    )
    if figures.price_warning:
        st.warning(widgets.escape(f"{model}: {figures.price_warning}"), icon=":material/warning:")
    options = llm.RunOptions(
        model=model,
        base_url=base_url.strip(),
        api_key=api_key,
        concurrency=int(concurrency),
        budget=Decimal(repr(budget)) if budget else None,
        max_retries=int(retries),
        timeout=float(timeout),
    )
    with session() as db:
        done = llm.finished_duplicate(task.key, source, options, version, session=db)
    repeat = False
    if done is not None:
        st.error(
            widgets.escape(
                f"Job {done.id} labelled these items with these settings already "
                f"({done.done:,} labels, finished {done.updated_at:%Y-%m-%d}); running it again "
                "pays for the same labels twice. Tick Repeat for a test-retest run."
            ),
            icon=":material/error:",
        )
        repeat = st.checkbox("Repeat (a test-retest run of the same settings)", key="llm_repeat")
    if st.button("Run", type="primary", key="llm_run", disabled=done is not None and not repeat):
        launched = None
        with reported_errors():
            if not api_key and llm.hosted_endpoint(base_url.strip() or endpoint_of(model)):
                st.error(f"Set {key_name} (secrets or environment), or give a local endpoint.")
            else:
                launched = jobs.launch(
                    task.key,
                    source,
                    replace(options, repeat=repeat),
                    version,
                )
        if launched:
            st.session_state["_flash"] = f"Job {launched} started."
            st.rerun()


@st.fragment(run_every=1.0)
def job_table() -> None:
    with session() as db:
        rows = llm.list_jobs(session=db)
    for job in [j for j in rows if j.status in (JobStatus.running, JobStatus.stopping)]:
        answered = job.done + job.invalid
        st.progress(
            answered / max(job.items, 1), text=f"Job {job.id}: {answered:,} of {job.items:,} items"
        )
        cols = st.columns(5)
        cols[0].metric("Labelled", f"{job.done:,}")
        cols[1].metric("Invalid", f"{job.invalid:,}")
        cols[2].metric("Failed", f"{job.failed:,}")
        cols[3].metric("Spent", widgets.money(job.spent, job.currency, 4))
        stopping = job.status == JobStatus.stopping
        if cols[4].button("Stop", key=f"llm_stop_{job.id}", disabled=stopping):
            commit(partial(llm.request_stop, job_id=job.id or 0), f"Job {job.id} is stopping.")
    if not rows:
        return
    st.subheader("Jobs")
    with session() as db:
        listed = llm.job_rows(rows, session=db)
    widgets.table(
        [
            {
                "job": r.job.id,
                "items": r.items_name,
                "model": r.job.model,
                "prompt": r.job.prompt_version,
                "endpoint": r.job.base_url,
                "status": str(r.job.status),
                "labelled": r.job.done,
                "invalid": r.job.invalid,
                "failed": r.job.failed,
                "retries": r.job.retries,
                "tokens in": r.job.input_tokens,
                "tokens out": r.job.output_tokens,
                "spent": r.job.spent,
                "estimated": r.job.estimated_cost,
                "actual - estimate": r.job.spent - r.job.estimated_cost,
                "LLM run": r.job.label_set_id,
                "note": r.job.message,
            }
            for r in listed
        ],
        key="llm_jobs",
        column_config={
            c: widgets.price_column(c) for c in ("spent", "estimated", "actual - estimate")
        },
    )
    st.caption("A stopped job resumes where it left off: run it again with the same settings.")


job_table()

with session() as db:
    troubled = llm.job_rows(
        [j for j in llm.list_jobs(session=db) if j.invalid or j.failed], session=db
    )
if troubled:
    st.subheader("Invalid and failed items")
    by_id = {r.job.id: r for r in troubled}
    chosen = by_id[
        st.selectbox(
            "Job",
            list(by_id),
            key="llm_problems_job",
            format_func=lambda i: (
                f"Job {i}: {by_id[i].items_name}, {by_id[i].job.model} "
                f"({by_id[i].job.invalid:,} invalid, {by_id[i].job.failed:,} failed)"
            ),
        )
    ]
    widgets.table(
        [
            {
                "item": p.item_id,
                "status": p.status,
                "answer": p.answer,
                "problem or error": p.problem,
            }
            for p in llm.problems(workspace().settings.llm_jobs, chosen.job.id or 0)
        ],
        key="llm_problems",
        download=widgets.file_name("llm job", chosen.job.id, "problems"),
        empty="This job's journal is not in this workspace.",
    )
    st.caption(
        "An invalid answer is one outside the label set (asked twice); a failed item got no "
        "answer (errors and timeouts) and is asked again when the job resumes."
    )
