"""Writers that run at once, as real processes on SQLite and PostgreSQL: generated batch refs
never collide, a batch is never billed twice, and a writer waiting for another gets through."""

from __future__ import annotations

from sqlmodel import Session, col, select

from procure.records.models import Batch, Invoice
from procure.records.workspace import Workspace
from tests.conftest import procure_at_once

TODAY = "2026-11-19"  # the sample's day


def _at_once(ws: Workspace, commands: list[list[str]]) -> list[tuple[int, str]]:
    return procure_at_once(ws.settings, commands, PROCURE_TODAY=TODAY)


def test_batches_added_at_once_get_distinct_refs(sample: Workspace) -> None:
    """Before: of eight `batch add` without --ref at once, half failed with a UNIQUE-constraint
    traceback."""
    add = [
        "batch",
        "add",
        "1",
        "--task-type",
        "pref_pair",
        "--week",
        "5",
        "--quantity",
        "10",
        "--delivered-on",
        TODAY,
    ]
    results = _at_once(sample, [add] * 8)
    assert [code for code, _ in results] == [0] * 8, results
    with Session(sample.engine) as db:
        refs = db.exec(select(Batch.ref).where(Batch.week == 5, Batch.contract_id == 1)).all()
    assert sorted(refs) == [f"W5-pref_pair-{n}" for n in range(1, 9)]


def test_a_batch_is_never_billed_twice_by_invoices_recorded_at_once(sample: Workspace) -> None:
    bill = [
        "invoice",
        "add",
        "1",
        "--units",
        "5000",
        "--amount",
        "15750",
        "--batch",
        "NW-PP-01",
        "--issued-on",
        TODAY,
        "--number",
    ]
    results = _at_once(sample, [[*bill, f"INV-{n}"] for n in range(4)])
    assert sorted(code for code, _ in results) == [0, 2, 2, 2], results
    assert all("NW-PP-01" in err and "Traceback" not in err for code, err in results if code)
    with Session(sample.engine) as db:
        live = db.exec(select(Invoice).where(col(Invoice.voided_at).is_(None))).all()
    assert len(live) == 1
