"""Widgets shared by pages."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, Protocol, TypeVar

import pandas as pd
import streamlit as st

from procure.delivery import Alert, ContractReport, Severity, Totals
from procure.errors import InputError
from procure.money import format_money
from procure.records import Batch
from procure.results import columns_of, csv_bytes, csv_value

if TYPE_CHECKING:
    from streamlit.runtime.uploaded_file_manager import UploadedFile


class _Record(Protocol):
    id: int | None


R = TypeVar("R", bound=_Record)
FigureArguments = ParamSpec("FigureArguments")


def plotly_chart(
    figure: Callable[FigureArguments, Any],
    *args: FigureArguments.args,
    **kwargs: FigureArguments.kwargs,
) -> None:
    """Draw ``figure(*args)`` in the current container. Streamlit replays a cached function's
    elements, so a rerun with the same figures skips building and serialising the chart."""
    _replayed_chart(figure, f"{figure.__module__}.{figure.__qualname__}", *args, **kwargs)


@st.cache_data(max_entries=64, show_spinner=False)
def _replayed_chart(_figure: Callable[..., Any], name: str, *args: Any, **kwargs: Any) -> None:
    st.plotly_chart(_figure(*args, **kwargs))


def money(amount: Decimal, currency: str, places: int = 2) -> str:
    return format_money(amount, currency, places)


# Markdown that user text could trigger: emphasis, code, links and images, LaTeX, strikethrough,
# raw HTML and entities; "_" only at a word's edge (inside a word, as in end_date, it is no
# emphasis); list, quote and heading marks (also "===" under a line) at a line's start.
_INLINE = re.compile(r"([\\`*\[\]<$~&])|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")
_LINE_START = re.compile(r"^(\s*)([-+>#=]|\d+[.)])", re.MULTILINE)
# Streamlit also links bare URLs and e-mail addresses and turns :shortcodes: into emoji and
# icons; backslashes do not stop those. The opening colon of a shortcode written as its entity
# stops the shortcodes, and a word joiner (U+2060, invisible) before "://", "@" and after "www"
# stops the links.
_AUTOLINK = re.compile(r"(?<=[A-Za-z])(?=://)|(?=@)|(?<=\bwww)(?=\.)", re.IGNORECASE)
_SHORTCODE = re.compile(r":(?=[\w+/-]+:)")
WORD_JOINER = "\u2060"


def escape(text: str) -> str:
    r"""``text`` as literal Markdown: what st.markdown, st.error and their kin show as typed.

    >>> escape("*Acme* [x](http://e.com) $5 and $6, end_date, _x_")
    '\\*Acme\\* \\[x\\](http\u2060://e.com) \\$5 and \\$6, end_date, \\_x\\_'
    >>> escape("- 1. not a list")
    '\\- 1. not a list'
    >>> escape(":tada: :material/home: a@b.io &copy; at 10:30 done")
    '&#58;tada: &#58;material/home: a\u2060@b.io \\&copy; at 10:30 done'
    """
    escaped = _INLINE.sub(lambda m: "\\" + m.group(0), text)
    escaped = _LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), escaped)
    return _SHORTCODE.sub("&#58;", _AUTOLINK.sub(WORD_JOINER, escaped))


def say(text: str) -> None:
    """Plain text in the page's body font (st.write of a str would render it as Markdown)."""
    st.markdown(escape(text))


def share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def alerts(
    items: Sequence[Alert], *, empty: str = "No alerts: every active contract is on track."
) -> None:
    if not items:
        st.success(empty, icon=":material/check_circle:")
    show = {Severity.critical: st.error, Severity.warning: st.warning, Severity.info: st.info}
    icons = {
        Severity.critical: ":material/error:",
        Severity.warning: ":material/warning:",
        Severity.info: ":material/info:",
    }
    for alert in items:
        show[alert.severity](escape(alert.message), icon=icons[alert.severity])


def contract_choice(
    reports: Sequence[ContractReport], key: str, *, label: str = "Contract"
) -> ContractReport:
    options = {r.contract.id: r for r in reports}
    chosen = st.selectbox(
        label,
        list(options),
        format_func=lambda cid: f"{options[cid].label} ({options[cid].state})",
        key=key,
    )
    return options[chosen]


def pick_record(label: str, records: Sequence[R], name: Callable[[R], str], key: str) -> R | None:
    """A selectbox over records with a first 'New ...' choice; returns the record or ``None``."""
    by_id = {record.id: record for record in records}
    picked = st.selectbox(
        label,
        [None, *by_id],
        format_func=lambda i: f"New {label.lower()}" if i is None else name(by_id[i]),
        key=key,
    )
    return by_id.get(picked)


def batch_choice(batches: Sequence[Batch], key: str, *, show_status: bool = False) -> int | None:
    """A selectbox over batches, labelled by ref, week and units (and status); returns the id."""
    by_id = {batch.id: batch for batch in batches}

    def describe(batch_id: int | None) -> str:
        batch = by_id[batch_id]
        status = f", {str(batch.status).replace('_', ' ')}" if show_status else ""
        return f"{batch.ref} (week {batch.week}, {batch.quantity:,} units{status})"

    chosen: int | None = st.selectbox("Batch", list(by_id), key=key, format_func=describe)
    return chosen


# --- tables: money as numbers on screen, exact decimals in the CSV ----------------------------


def money_column(label: str | None = None, **options: Any) -> Any:
    """A column of amounts (the currency is in the column's name): grouped, two decimals."""
    return st.column_config.NumberColumn(label, format="accounting", **options)


def price_column(label: str | None = None) -> Any:
    """A column of unit prices, which need more than cents ($0.0003 a label)."""
    return st.column_config.NumberColumn(label, format="%.4f")


def units_column(label: str | None = None) -> Any:
    return st.column_config.NumberColumn(label, format="localized")


def file_name(*parts: object, suffix: str = "csv") -> str:
    """A download's name from what it is about: ``file_name("Acme", "Q4 pairs", "batches")`` is
    ``acme-q4-pairs-batches.csv``."""
    words = [re.sub(r"[^0-9a-z]+", "-", str(part).lower()).strip("-") for part in parts]
    return "-".join(w for w in words if w) + f".{suffix}"


def _shown(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, list | tuple):
        return "; ".join(str(v) for v in value)
    return value


def table(
    rows: Sequence[Mapping[str, Any]],
    *,
    key: str,
    download: str | None = None,
    column_config: Mapping[str, Any] | None = None,
    empty: str = "Nothing yet.",
    **options: Any,
) -> Any:
    """``rows`` as a sortable table (Decimal columns as amounts, booleans as ticks) with, when
    ``download`` names a file, a CSV of the exact values under it. Returns what ``st.dataframe``
    returns (the selection, with ``on_select``)."""
    if not rows:
        st.caption(empty)
        return None
    columns = columns_of(rows)
    frame = pd.DataFrame([[_shown(row.get(c)) for c in columns] for row in rows], columns=columns)
    config: dict[str, Any] = {}
    for column in columns:
        values = [row.get(column) for row in rows if row.get(column) is not None]
        if values and all(isinstance(v, Decimal) for v in values):
            config[column] = money_column(column)
        elif values and all(isinstance(v, bool) for v in values):
            config[column] = st.column_config.CheckboxColumn(column)
        elif values and all(isinstance(v, int) for v in values):
            config[column] = units_column(column)
    config.update(column_config or {})
    shown = st.dataframe(
        frame,
        hide_index=True,
        column_config=config,
        key=f"{key}_table",
        width="stretch",
        placeholder="",
        **options,
    )
    if download:
        _csv_download(rows, download, key)
    return shown


def money_metrics(totals: Totals, currency: str) -> None:
    """A contract's or the portfolio's money in two rows of metrics: against the budget, then
    against the invoices."""
    cash = partial(money, currency=currency)
    spent = st.columns(4)
    spent[0].metric("Committed budget", cash(totals.budget), help="Past the draft stage.")
    spent[1].metric(
        "Spent",
        cash(totals.spent),
        f"{share(float(totals.spent / totals.budget))} of budget" if totals.budget else None,
        delta_color="off",
        delta_arrow="off",
        help="Accepted units at the prices their decisions froze.",
    )
    spent[2].metric(
        "Pending", cash(totals.pending), help="Batches awaiting a decision, if accepted in full."
    )
    spent[3].metric(
        "Projected",
        cash(totals.projected),
        f"{cash(totals.projected - totals.budget)} vs budget",
        delta_color="inverse",
        help="Spent + pending + the units still to come at the newest terms.",
    )
    billed = st.columns(4)
    billed[0].metric("Invoiced", cash(totals.invoiced), help="The live invoices' amounts.")
    billed[1].metric(
        "Accrued", cash(totals.accrued), help="Accepted, not invoiced yet: owed, not billed."
    )
    billed[2].metric("Disputed", cash(totals.disputed), help="The amounts of over-billed invoices.")
    billed[3].metric(
        "Credit due",
        cash(totals.credit_due),
        help="Billed above the accepted units' frozen cost (rejected units billed, or prices "
        "above the contract's): what the vendor owes back.",
    )


def _csv_download(rows: Sequence[Mapping[str, Any]], file_name: str, key: str) -> None:
    st.download_button(
        "Download CSV",
        csv_bytes(rows),
        file_name=file_name,
        mime="text/csv",
        key=f"{key}_csv",
        icon=":material/download:",
        on_click="ignore",
    )


def static_table(
    rows: Sequence[Mapping[str, Any]], *, key: str, download: str | None = None, empty: str = ""
) -> None:
    """A short table whose cells wrap (a history, a timeline): every cell shown as typed (st.table
    renders Markdown, so user text is escaped), with a CSV of the exact values."""
    if not rows:
        st.caption(empty or "Nothing yet.")
        return
    columns = columns_of(rows)
    frame = pd.DataFrame(
        [[escape(csv_value(row.get(c))) for c in columns] for row in rows],
        columns=[escape(c) for c in columns],
    )
    st.table(frame, hide_index=True, border="horizontal")
    if download:
        _csv_download(rows, download, key)


def confirmed(label: str, key: str, *, consequence: str, needs_reason: bool = True) -> str | None:
    """A destructive action behind a reason (kept in the history) and an explicit confirmation;
    returns the reason once the user confirmed and clicked, else ``None``."""
    st.caption(consequence)
    reason = ""
    if needs_reason:
        reason = st.text_input("Reason (kept in the history)", key=f"{key}_reason")
    sure = st.checkbox("I understand; go ahead", key=f"{key}_confirm")
    ready = sure and (bool(reason.strip()) or not needs_reason)
    clicked = st.button(label, key=f"{key}_go", disabled=not ready, icon=":material/delete:")
    return reason.strip() if clicked and ready else None


def rows_from_editor(
    frame: pd.DataFrame, table: str = "", required: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """Rows of a data editor as dicts, empty cells as ``None``, blank rows dropped; a row with a
    ``required`` cell left empty is an ``InputError`` naming it (the editor would drop the row
    without a word if the column itself were marked required)."""
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    rows = [row for row in records if any(value not in (None, "") for value in row.values())]
    for n, row in enumerate(rows, start=1):
        empty = [column for column in required if row.get(column) in (None, "")]
        if empty:
            raise InputError(
                f"row {n}: {empty[0].replace('_', ' ')} is empty; fill it in or delete the row",
                field=table,
            )
    return rows


def edited_records(
    records: list[dict[str, Any]], columns: dict[str, Any], key: str, **options: Any
) -> list[dict[str, Any]]:
    """Show ``records`` in a data editor and return them with the user's edits applied to the
    original values: unedited cells keep their exact ``Decimal``s (the editor shows floats).
    Added rows come back with the editor's values; deleted rows are dropped."""
    shown = pd.DataFrame(
        [{c: _editable(r.get(c)) for c in columns} for r in records], columns=list(columns)
    )
    st.data_editor(shown, column_config=columns, key=key, hide_index=True, **options)
    state = st.session_state.get(key) or {}
    result = []
    for i, record in enumerate(records):
        if i in state.get("deleted_rows", []):
            continue
        edited = state.get("edited_rows", {})
        changes = edited.get(i) or edited.get(str(i)) or {}
        result.append({**record, **{c: _exact(v) for c, v in changes.items()}})
    for added in state.get("added_rows", []):
        result.append({c: _exact(v) for c, v in added.items()})
    return result


def _editable(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value


def _exact(value: Any) -> Any:
    """An edited cell: floats as the decimal the user typed, cleared cells as ``None``."""
    if isinstance(value, float):
        return None if value != value else Decimal(repr(value))
    return value


def share_column(label: str | None = None) -> Any:
    """A data-editor column for a share between 0 and 1."""
    return st.column_config.NumberColumn(label, min_value=0.0, max_value=1.0, format="%.4f")


def progress_reporter(text: str) -> Callable[[float], None]:
    """A progress bar, and a function that moves it from any thread (the import's watcher
    reports from its own thread, so the page's script context is attached to it)."""
    import threading

    from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

    bar = st.progress(0.0, text=text)
    context = get_script_run_ctx()

    def update(share: float) -> None:
        add_script_run_ctx(threading.current_thread(), context)
        bar.progress(min(max(share, 0.0), 1.0), text=f"{text} {share:.0%}")

    return update


@contextmanager
def uploaded_file(upload: UploadedFile) -> Iterator[Path]:
    """The upload as a file under a name procure chooses (keeping the user's extensions, which say
    the format), in a folder removed when the rerun is done with it."""
    suffixes = "".join(s for s in Path(upload.name).suffixes if s[1:].isalnum())
    with tempfile.TemporaryDirectory(prefix="procure-upload-") as folder:
        path = Path(folder) / f"upload{suffixes}"
        path.write_bytes(upload.getbuffer())
        yield path
