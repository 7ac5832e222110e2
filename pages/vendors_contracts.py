from datetime import timedelta
from functools import partial

import pandas as pd
import streamlit as st

from procure import records
from procure.ui import forms, tables, widgets
from procure.ui.state import as_of, commit, reported_errors, session, show_flash


def saved(contract: records.Contract, *, amendment: records.Amendment | None) -> str:
    st.session_state["contract_pick_next"] = contract.id
    amended = f", amended from {amendment.effective_from}" if amendment else ""
    return f"Contract {contract.title!r} saved{amended}."


st.title("Vendors & contracts")
show_flash()

with session() as db:
    vendors = records.list_vendors(session=db)
    task_types = records.list_task_types(session=db)
    contract_rows = records.list_contracts(session=db)
    specs = {c.id: records.contract_spec(c, session=db) for c in contract_rows}
    base_currency = records.reporting_currency(session=db)
    rates = records.exchange_rates(session=db)

tab_contracts, tab_vendors, tab_types, tab_files, tab_fx = st.tabs(
    ["Contracts", "Vendors", "Task types", "Import / export", "Exchange rates"]
)

with tab_contracts:
    if not vendors or not task_types:
        st.info(
            "A contract needs a vendor and at least one task type: add them in the next tabs first."
        )
    else:
        choices: dict[int | None, str] = {None: "New contract"}
        choices.update({cid: f"{spec.vendor}: {spec.title}" for cid, spec in specs.items()})
        if "contract_pick_next" in st.session_state:  # a contract just created: show it
            st.session_state["contract_pick"] = st.session_state.pop("contract_pick_next")
        chosen = st.selectbox(
            "Contract", list(choices), format_func=choices.__getitem__, key="contract_pick"
        )
        current = specs.get(chosen) if chosen is not None else None
        timeline: list[records.VersionView] = []
        decided: list[records.Batch] = []
        if chosen is not None:
            with session() as db:
                timeline = records.amendment_timeline(chosen, session=db)
                decided = records.decided_batches(chosen, session=db)
            st.subheader("Amendment timeline")
            st.caption(
                "Version 1 is the contract as signed; each amendment is a new version from its "
                "effective date. Units delivered before a date keep the terms in force then, and "
                "a decided batch keeps the price it was frozen at."
            )
            widgets.static_table(
                tables.timeline_rows(timeline),
                key=f"timeline_{chosen}",
                download=widgets.file_name(
                    current.vendor if current else "", current.title if current else "", "versions"
                ),
            )
            st.subheader("Edit the contract")
        with reported_errors():
            submitted = forms.contract_form(
                f"contract_form_{chosen}",
                [v.name for v in vendors],
                [t.key for t in task_types],
                current,
                # An amendment takes effect after the newest version: by default the report
                # date, or the day after the newest version's.
                amend_from=max(as_of(), timeline[-1].effective_from + timedelta(days=1))
                if timeline
                else None,
                amendment_required=bool(decided),
                version=len(timeline),
            )
            if submitted is not None:
                document, amendment = submitted
                commit(
                    partial(
                        records.save_contract,
                        data=document,
                        contract_id=chosen,
                        amendment=amendment,
                        create=chosen is None,
                    ),
                    partial(saved, amendment=amendment),
                )
        if chosen is not None:
            with st.expander("Delete this contract"):
                choice = widgets.confirmed(
                    "Delete contract",
                    f"delete_contract_{chosen}",
                    consequence="Deletes a contract recorded by mistake, with its price lines and "
                    "schedule. A contract with batches is history: close it instead (status "
                    "completed or terminated) and void batches recorded by mistake on Deliveries.",
                    needs_reason=False,
                )
                if choice is not None:
                    commit(
                        partial(records.delete_contract, contract_id=chosen), "Contract deleted."
                    )

with tab_vendors:
    if vendors:
        st.dataframe(
            pd.DataFrame([v.model_dump() for v in vendors])[
                ["id", "name", "kind", "contact", "notes"]
            ],
            hide_index=True,
        )
    vendor = widgets.pick_record("Vendor", vendors, lambda v: v.name, key="vendor_pick")
    vendor_id = vendor.id if vendor else None
    values = forms.vendor_form(f"vendor_form_{vendor_id}", vendor.model_dump() if vendor else None)
    if values is not None:
        commit(
            partial(records.save_vendor, data=values, vendor_id=vendor_id),
            lambda saved: f"Vendor {saved.name!r} saved.",
        )
    if vendor_id is not None:
        with st.expander("Delete this vendor"):
            if (
                widgets.confirmed(
                    "Delete vendor",
                    f"delete_vendor_{vendor_id}",
                    consequence="Deletes a vendor without contracts.",
                    needs_reason=False,
                )
                is not None
            ):
                commit(partial(records.delete_vendor, vendor_id=vendor_id), "Vendor deleted.")

with tab_types:
    if task_types:
        frame = pd.DataFrame([t.model_dump() for t in task_types])
        frame["labels"] = frame["labels"].map(", ".join)
        st.dataframe(frame[["id", "key", "name", "unit", "label_kind", "labels"]], hide_index=True)
    task_type = widgets.pick_record(
        "Task type", task_types, lambda t: f"{t.name} ({t.key})", key="task_type_pick"
    )
    type_id = task_type.id if task_type else None
    values = forms.task_type_form(
        f"task_type_form_{type_id}", task_type.model_dump() if task_type else None
    )
    if values is not None:
        commit(
            partial(records.save_task_type, data=values, task_type_id=type_id),
            lambda saved: f"Task type {saved.key!r} saved.",
        )
    if type_id is not None:
        with st.expander("Delete this task type"):
            if (
                widgets.confirmed(
                    "Delete task type",
                    f"delete_task_type_{type_id}",
                    consequence="Deletes a task type no contract or label set uses.",
                    needs_reason=False,
                )
                is not None
            ):
                commit(
                    partial(records.delete_task_type, task_type_id=type_id), "Task type deleted."
                )

with tab_files:
    st.markdown(
        "A workspace document (YAML or JSON) holds vendors, task types and contracts with their price "
        "lines, schedules and, optionally, batches: the file you can keep in git. Importing matches by "
        "vendor name, task type key, contract vendor + title and batch ref, and is all or nothing."
    )
    upload = st.file_uploader(
        "Import a document", type=["yaml", "yml", "json"], key="document_upload"
    )
    force = st.checkbox("Import even if this exact file was imported before", key="document_force")
    if upload is not None and st.button("Import", key="document_import", type="primary"):
        filename = upload.name
        commit(
            partial(
                records.import_document, content=upload.getvalue(), filename=filename, force=force
            ),
            lambda summary: f"Imported {filename}: {summary}",
        )
    st.divider()
    fmt = st.radio("Export format", ["yaml", "json"], horizontal=True, key="export_format")
    with_batches = st.checkbox("Include delivered batches", key="export_batches")
    with session() as db:
        exported = records.export_document(with_batches=with_batches, fmt=fmt, session=db)
    st.download_button(
        "Download the workspace document",
        exported,
        file_name=f"procure-workspace.{fmt}",
        mime="application/json" if fmt == "json" else "application/yaml",
        key="document_export",
    )

with tab_fx:
    st.markdown(
        f"Totals across contracts are shown in **{base_currency}**. Each rate says how many {base_currency} "
        "one unit of the currency buys; amounts in a currency without a rate are never added."
    )
    widgets.table(
        [
            {"currency": r.currency, f"rate ({base_currency})": r.rate, "as of": r.as_of}
            for r in rates
        ],
        key="fx_rates",
        column_config={
            f"rate ({base_currency})": st.column_config.NumberColumn(
                f"rate ({base_currency})", format="%.6f"
            )
        },
        empty="No exchange rates yet.",
    )
    with st.form("fx_form", clear_on_submit=True):
        a, b, c = st.columns(3)
        currency = a.selectbox("Currency", forms.CURRENCIES, index=1, key="fx_currency")
        rate_text = b.text_input(f"Rate ({base_currency} per unit)", key="fx_rate")
        rate_date = c.date_input("As of", value=as_of(), key="fx_as_of")
        if st.form_submit_button("Save rate"):
            commit(
                partial(
                    records.set_exchange_rate, currency=currency, rate=rate_text, as_of=rate_date
                ),
                f"Rate for {currency} saved.",
            )
    with st.form(f"reporting_form_{base_currency}"):
        new_base = st.selectbox(
            "Reporting currency",
            forms.CURRENCIES,
            index=forms.CURRENCIES.index(base_currency),
            key=f"reporting_currency_{base_currency}",
        )
        if st.form_submit_button("Change reporting currency"):
            commit(
                partial(records.set_reporting_currency, currency=new_base),
                f"Reporting currency set to {new_base}; add the exchange rates to it again.",
            )
