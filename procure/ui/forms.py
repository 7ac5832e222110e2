"""Forms that edit records through the same specs the CLI and documents use."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pandas as pd
import streamlit as st

from procure.config import today as procure_today
from procure.delivery import week_count
from procure.errors import InputError
from procure.kinds import ContractStatus, DiscountKind, LabelKind, VendorKind
from procure.money import ISO_CURRENCIES
from procure.records import Amendment, ContractSpec
from procure.ui.widgets import rows_from_editor

CURRENCIES = ["USD", "EUR", "GBP", *sorted(ISO_CURRENCIES - {"USD", "EUR", "GBP"})]


def decimal_of(value: Any) -> Any:
    """Editor numbers arrive as floats; their shortest repr is what the user typed."""
    return Decimal(repr(value)) if isinstance(value, float) else value


def _frame(rows: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns)


def vendor_form(key: str, current: dict[str, Any] | None = None) -> dict[str, Any] | None:
    current = current or {}
    kinds = [k.value for k in VendorKind]
    with st.form(key, clear_on_submit=current == {}):
        name = st.text_input("Name", value=current.get("name", ""), key=f"{key}_name")
        kind = st.selectbox(
            "Kind",
            kinds,
            index=kinds.index(current.get("kind", kinds[0])),
            format_func=lambda k: k.replace("_", " "),
            key=f"{key}_kind",
        )
        contact = st.text_input("Contact", value=current.get("contact", ""), key=f"{key}_contact")
        notes = st.text_area("Notes", value=current.get("notes", ""), key=f"{key}_notes")
        if st.form_submit_button("Save vendor", type="primary", key=f"{key}_save"):
            return {"name": name, "kind": kind, "contact": contact, "notes": notes}
    return None


def task_type_form(key: str, current: dict[str, Any] | None = None) -> dict[str, Any] | None:
    current = current or {}
    kinds = [k.value for k in LabelKind]
    with st.form(key, clear_on_submit=current == {}):
        left, right = st.columns(2)
        task_key = left.text_input(
            "Key",
            value=current.get("key", ""),
            help="Short id used in files, e.g. pref_pair.",
            key=f"{key}_key",
        )
        name = right.text_input("Name", value=current.get("name", ""), key=f"{key}_name")
        unit = left.text_input(
            "Unit",
            value=current.get("unit", ""),
            help="What one unit is: 'preference pair', 'conversation'.",
            key=f"{key}_unit",
        )
        kind = right.selectbox(
            "Label kind",
            kinds,
            index=kinds.index(current.get("label_kind", kinds[0])),
            key=f"{key}_label_kind",
        )
        labels = st.text_input(
            "Allowed labels",
            value=", ".join(current.get("labels", [])),
            help="Comma-separated; in order from lowest to highest for ordinal labels.",
            key=f"{key}_labels",
        )
        if st.form_submit_button("Save task type", type="primary", key=f"{key}_save"):
            return {
                "key": task_key,
                "name": name,
                "unit": unit,
                "label_kind": kind,
                "labels": labels.split(","),
            }
    return None


def contract_form(
    key: str,
    vendors: list[str],
    task_types: list[str],
    current: ContractSpec | None,
    *,
    amend_from: date | None = None,
    amendment_required: bool = False,
    version: int = 1,
) -> tuple[dict[str, Any], Amendment | None] | None:
    """The whole contract in one form; returns the document dict on submit, with the amendment
    the user gave (an existing contract's changed terms, from ``Effective from``, with a
    ``Reason``; none when the reason is blank)."""
    today = procure_today()
    spec = current or ContractSpec(
        vendor=vendors[0],
        title="New contract",
        start_date=today,
        end_date=today + timedelta(weeks=6, days=-1),
        currency="USD",
        committed_budget=Decimal(0),
    )
    statuses = [s.value for s in ContractStatus]
    with st.form(key):
        a, b, c = st.columns(3)
        vendor = a.selectbox(
            "Vendor",
            vendors,
            index=vendors.index(spec.vendor) if spec.vendor in vendors else 0,
            key=f"{key}_vendor",
        )
        title = b.text_input("Title", value=spec.title if current else "", key=f"{key}_title")
        status = c.selectbox(
            "Status", statuses, index=statuses.index(spec.status), key=f"{key}_status"
        )
        start = a.date_input("Start date", value=spec.start_date, key=f"{key}_start")
        end = b.date_input("End date", value=spec.end_date, key=f"{key}_end")
        currency = c.selectbox(
            "Currency", CURRENCIES, index=CURRENCIES.index(spec.currency), key=f"{key}_currency"
        )
        budget = a.text_input(
            "Committed budget", value=format(spec.committed_budget, "f"), key=f"{key}_budget"
        )
        st.caption("Terms")
        t1, t2, t3 = st.columns(3)
        open_source = t1.checkbox(
            "Open-sourcing allowed",
            value=spec.terms.open_source_allowed,
            key=f"{key}_open_source",
        )
        reuse = t2.checkbox(
            "Vendor may re-use the data", value=spec.terms.vendor_may_reuse, key=f"{key}_reuse"
        )
        exclusive = t3.checkbox("Exclusive", value=spec.terms.exclusive, key=f"{key}_exclusive")

        st.markdown("**Price lines** (unit price per task type, contracted quantity)")
        task_column = st.column_config.SelectboxColumn("task type", options=task_types)
        price = st.column_config.NumberColumn("unit price", min_value=0.0, format="%.4f")
        lines = st.data_editor(
            _frame(
                [
                    {
                        "task_type": line.task_type,
                        "unit_price": float(line.unit_price),
                        "quantity": line.quantity,
                    }
                    for line in spec.price_lines
                ],
                ["task_type", "unit_price", "quantity"],
            ),
            num_rows="dynamic",
            key=f"{key}_lines",
            column_config={
                "task_type": task_column,
                "unit_price": price,
                "quantity": st.column_config.NumberColumn(
                    "contracted quantity", min_value=1, step=1
                ),
            },
        )
        left, right = st.columns(2)
        with left:
            st.markdown("**Volume tiers** (price from unit N on)")
            tiers = st.data_editor(
                _frame(
                    [
                        {
                            "task_type": line.task_type,
                            "from_unit": t.from_unit,
                            "unit_price": float(t.unit_price),
                        }
                        for line in spec.price_lines
                        for t in line.tiers
                    ],
                    ["task_type", "from_unit", "unit_price"],
                ),
                num_rows="dynamic",
                key=f"{key}_tiers",
                column_config={
                    "task_type": task_column,
                    "from_unit": st.column_config.NumberColumn("from unit", min_value=2, step=1),
                    "unit_price": price,
                },
            )
        with right:
            st.markdown("**Discounts** (percent off)")
            discounts = st.data_editor(
                _frame(
                    [
                        {
                            "kind": d.kind.value,
                            "percent": float(d.percent),
                            "task_type": d.task_type,
                        }
                        for d in spec.discounts
                    ],
                    ["kind", "percent", "task_type"],
                ),
                num_rows="dynamic",
                key=f"{key}_discounts",
                column_config={
                    "kind": st.column_config.SelectboxColumn(
                        "kind",
                        options=[k.value for k in DiscountKind],
                        help="first_batch: off week-1 batches; flat: off every unit",
                    ),
                    "percent": st.column_config.NumberColumn(
                        "percent", min_value=0.0, max_value=100.0
                    ),
                    "task_type": st.column_config.SelectboxColumn(
                        "task type (blank: all)", options=task_types
                    ),
                },
            )
        st.markdown(
            f"**Delivery schedule** (planned units per week; the contract has {spec.weeks} weeks)"
        )
        schedule = st.data_editor(
            _frame(
                [
                    {"week": e.week, "task_type": e.task_type, "quantity": e.quantity}
                    for e in spec.schedule
                ],
                ["week", "task_type", "quantity"],
            ),
            num_rows="dynamic",
            key=f"{key}_schedule",
            column_config={
                "week": st.column_config.NumberColumn("week", min_value=1, step=1),
                "task_type": task_column,
                "quantity": st.column_config.NumberColumn("planned units", min_value=1, step=1),
            },
        )
        spread = st.checkbox(
            "Replace the schedule with each price line's quantity spread evenly over the contract's weeks",
            key=f"{key}_spread",
        )
        notes = st.text_area("Notes", value=spec.notes, key=f"{key}_notes")
        effective_from, reason = None, ""
        if amend_from is not None:
            st.markdown(
                "**Amendment** "
                + (
                    "(required to change the terms: this contract has decided batches, whose "
                    "cost stays as it was frozen)"
                    if amendment_required
                    else "(optional: record changed terms as a new version from a date)"
                )
            )
            # Keyed by the version the amendment follows: once saved, the next one starts blank.
            e, r = st.columns([1, 3])
            effective_from = e.date_input(
                "Effective from", value=amend_from, key=f"{key}_v{version}_effective_from"
            )
            reason = r.text_input(
                "Reason",
                key=f"{key}_v{version}_reason",
                help="Why the terms change (kept with the version). Leave blank to edit "
                "without an amendment.",
            )
        if not st.form_submit_button("Save contract", type="primary", key=f"{key}_save"):
            return None
    line_rows = rows_from_editor(lines, "price lines", ("task_type", "unit_price", "quantity"))
    document: dict[str, Any] = {
        "vendor": vendor,
        "title": title,
        "status": status,
        "start_date": start,
        "end_date": end,
        "currency": currency,
        "committed_budget": budget.strip() or "0",
        "terms": {
            "open_source_allowed": open_source,
            "vendor_may_reuse": reuse,
            "exclusive": exclusive,
        },
        "notes": notes,
        "price_lines": [
            {**row, "unit_price": decimal_of(row["unit_price"]), "tiers": []} for row in line_rows
        ],
        "discounts": [
            {**row, "percent": decimal_of(row["percent"])}
            for row in rows_from_editor(discounts, "discounts", ("kind", "percent"))
        ],
        "schedule": rows_from_editor(schedule, "schedule", ("week", "task_type", "quantity")),
    }
    by_type = {line["task_type"]: line for line in document["price_lines"]}
    tier_rows = rows_from_editor(tiers, "volume tiers", ("task_type", "from_unit", "unit_price"))
    for n, tier in enumerate(tier_rows, start=1):
        if tier["task_type"] not in by_type:
            raise InputError(
                f"tier row {n} is for task type {tier['task_type']!r}, which has no price line",
                field="volume tiers",
            )
        by_type[tier["task_type"]]["tiers"].append(
            {"from_unit": tier["from_unit"], "unit_price": decimal_of(tier["unit_price"])}
        )
    if spread and isinstance(start, date) and isinstance(end, date) and end >= start:
        document["schedule"] = even_schedule(document["price_lines"], week_count(start, end))
    amendment = (
        Amendment(effective_from, reason.strip())
        if isinstance(effective_from, date) and reason.strip()
        else None
    )
    return document, amendment


def even_schedule(price_lines: list[dict[str, Any]], weeks: int) -> list[dict[str, Any]]:
    """Each line's quantity over ``weeks`` weeks, the remainder going to the first weeks.

    >>> even_schedule([{"task_type": "t", "quantity": 10}], 3)
    [{'week': 1, 'task_type': 't', 'quantity': 4}, {'week': 2, 'task_type': 't', 'quantity': 3}, {'week': 3, 'task_type': 't', 'quantity': 3}]
    """
    schedule = []
    for line in price_lines:
        base, extra = divmod(int(line["quantity"]), weeks)
        for week in range(1, weeks + 1):
            quantity = base + (1 if week <= extra else 0)
            if quantity:
                schedule.append(
                    {"week": week, "task_type": line["task_type"], "quantity": quantity}
                )
    return schedule
