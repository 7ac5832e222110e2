"""Widgets shared by pages."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, Protocol, TypeVar

import pandas as pd
import streamlit as st

from procure.delivery import Alert, ContractReport, PortfolioReport, Severity
from procure.money import format_money
from procure.records import Batch

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


def share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def alerts(
    items: Sequence[Alert], *, empty: str = "No alerts: every active contract is on track."
) -> None:
    if not items:
        st.success(empty, icon=":material/check_circle:")
    show = {Severity.critical: st.error, Severity.warning: st.warning, Severity.info: st.info}
    for alert in items:
        show[alert.severity](alert.message)


def contract_choice(
    reports: Sequence[ContractReport], key: str, *, label: str = "Contract"
) -> ContractReport:
    options = {r.contract.id: r for r in reports}
    chosen = st.selectbox(
        label,
        list(options),
        format_func=lambda cid: f"{options[cid].label} ({options[cid].contract.status})",
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
        status = f", {batch.status}" if show_status else ""
        return f"{batch.ref} (week {batch.week}, {batch.quantity:,} units{status})"

    chosen: int | None = st.selectbox("Batch", list(by_id), key=key, format_func=describe)
    return chosen


def contracts_table(report: PortfolioReport) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    for r in report.contracts:
        c, s = r.contract, r.spend
        rows.append(
            {
                "id": c.id,
                "vendor": r.vendor.name,
                "contract": c.title,
                "status": c.status,
                "start": c.start_date,
                "end": c.end_date,
                "budget": money(s.budget, c.currency),
                "spent": money(s.spent, c.currency),
                "pending": money(s.pending, c.currency),
                "projected": money(s.projected, c.currency),
                "spent %": share(s.spent_share),
                "accepted / planned": f"{r.accepted:,} / {r.planned:,}",
                "delivery problems": len(r.problems),
            }
        )
    return pd.DataFrame(rows)


def rows_from_editor(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of a data editor as dicts, empty cells as ``None``, blank rows dropped."""
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return [row for row in records if any(value not in (None, "") for value in row.values())]


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
