"""The rules that keep the records history: tier positions taken once, amendments that cannot
reach back, versions never rewritten, invoices to the cent. Small contracts, computed by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D
from typing import Any

import pytest
from sqlmodel import Session

from procure.db import session_scope
from procure.delivery import build_report
from procure.errors import InputError
from procure.kinds import ContractStatus
from procure.records import (
    Amendment,
    add_invoice,
    contract_spec,
    decide_batch,
    export_document,
    get_contract,
    import_document,
    record_batch,
    save_contract,
    save_task_type,
    save_vendor,
    void_invoice,
)
from procure.records.workspace import Workspace

AS_OF = date(2026, 11, 15)
# 2.00 a unit, 1.50 from unit 1,501 on: a tier inside the batches below.
TERMS: dict[str, Any] = {
    "vendor": "Acme",
    "title": "Tiers",
    "start_date": date(2026, 10, 5),
    "end_date": date(2026, 11, 15),
    "currency": "USD",
    "committed_budget": "10000",
    "status": "active",
    "price_lines": [
        {
            "task_type": "t",
            "unit_price": "2.00",
            "quantity": 4000,
            "tiers": [{"from_unit": 1501, "unit_price": "1.50"}],
        }
    ],
    "schedule": [{"week": 1, "task_type": "t", "quantity": 2000}],
}


def _contract(workspace: Workspace, **changes: Any) -> int:
    with session_scope(workspace.engine) as db:
        save_vendor({"name": "Acme", "kind": "managed_workforce"}, session=db)
        save_task_type(
            {"key": "t", "name": "T", "unit": "item", "label_kind": "categorical",
             "labels": ["a", "b"]},
            session=db,
        )  # fmt: skip
        return save_contract({**TERMS, **changes}, session=db).id or 0


def _batch(workspace: Workspace, contract_id: int, ref: str, day: date, units: int) -> int:
    spec = {"ref": ref, "task_type": "t", "week": 1, "delivered_on": day, "quantity": units}
    with session_scope(workspace.engine) as db:
        return record_batch(contract_id, spec, as_of=AS_OF, session=db).id or 0


def _decide(workspace: Workspace, batch_id: int, status: str, **options: Any) -> None:
    with session_scope(workspace.engine) as db:
        decide_batch(batch_id, status, session=db, **options)


def _report(workspace: Workspace, as_of: date = AS_OF) -> Any:
    with Session(workspace.engine) as db:
        [report] = build_report(as_of, session=db).contracts
    return report


def _costs(workspace: Workspace) -> dict[str, tuple[int, D]]:
    report = _report(workspace)
    return {
        b.ref: (c.first_unit, c.cost)
        for b, c in zip(report.batches, report.batch_costs, strict=True)
    }


@pytest.mark.parametrize("order", [("P", "B"), ("B", "P")])
def test_a_frozen_price_does_not_depend_on_the_order_of_decisions(
    workspace: Workspace, order: tuple[str, str]
) -> None:
    contract_id = _contract(workspace)
    ids = {
        "P": _batch(workspace, contract_id, "P", date(2026, 10, 6), 1500),
        "B": _batch(workspace, contract_id, "B", date(2026, 10, 7), 1000),
    }
    for ref in order:
        _decide(workspace, ids[ref], "rejected" if ref == "P" else "accepted")
    # P is rejected and takes no position; B's 1,000 units are units 1-1,000 at 2.00.
    assert _costs(workspace)["B"] == (1, D("2000"))


def test_a_re_decision_takes_new_positions_and_none_is_paid_twice(workspace: Workspace) -> None:
    contract_id = _contract(workspace)
    a = _batch(workspace, contract_id, "A", date(2026, 10, 6), 1000)
    b = _batch(workspace, contract_id, "B", date(2026, 10, 7), 1000)
    c = _batch(workspace, contract_id, "C", date(2026, 10, 8), 1000)
    _decide(workspace, a, "accepted")
    _decide(workspace, b, "rejected")
    _decide(workspace, c, "accepted")
    _decide(workspace, b, "partially_accepted", accepted_quantity=800, reason="relabelled")
    # A: 1-1,000 at 2.00 = 2,000; C: 1,001-2,000 = 500 x 2.00 + 500 x 1.50 = 1,750;
    # B: 2,001-2,800 at 1.50 = 1,200. Spent 4,950: each position paid once.
    assert _costs(workspace) == {
        "A": (1, D("2000")),
        "B": (2001, D("1200")),
        "C": (1001, D("1750")),
    }
    assert _report(workspace).spend.spent == D("4950")


def test_pending_batches_follow_the_frozen_positions(workspace: Workspace) -> None:
    contract_id = _contract(workspace)
    early = _batch(workspace, contract_id, "early", date(2026, 10, 6), 1000)  # stays pending
    late = _batch(workspace, contract_id, "late", date(2026, 10, 7), 1000)
    _decide(workspace, late, "accepted")
    costs = _costs(workspace)
    assert costs["late"] == (1, D("2000"))
    # The pending batch is priced after it: 1,001-2,000 = 500 x 2.00 + 500 x 1.50.
    assert costs["early"] == (1001, D("1750"))
    # Still to come: 4,000 - 2,000 = 2,000 units from 2,001 on at 1.50.
    assert _report(workspace).spend.remaining == D("3000")
    assert early


def test_closed_contracts_have_nothing_to_come_and_keep_their_invoice_alerts(
    workspace: Workspace,
) -> None:
    contract_id = _contract(workspace)
    batch = _batch(workspace, contract_id, "A", date(2026, 10, 6), 1000)
    _decide(workspace, batch, "accepted")
    with session_scope(workspace.engine) as db:
        add_invoice(
            contract_id,
            {"number": "I1", "issued_on": date(2026, 10, 9), "units": 1000, "amount": "2500",
             "batches": ["A"]},
            as_of=AS_OF,
            session=db,
        )  # fmt: skip
    for status in ("completed", "terminated"):
        with Session(workspace.engine) as db:
            spec = contract_spec(get_contract(contract_id, session=db), session=db)
        with session_scope(workspace.engine) as db:
            save_contract(spec.model_copy(update={"status": ContractStatus(status)}), session=db)
        with Session(workspace.engine) as db:
            portfolio = build_report(date(2026, 10, 20), session=db)
        [report] = portfolio.contracts
        assert report.state.value == status and report.spend.remaining == 0
        assert [a.message for a in portfolio.alerts] == [
            "Acme: Tiers: invoice I1 over-bills by $500.00 ($2,500.00 billed, $2,000.00 "
            "accepted): credit due"
        ]


def test_invoices_reconcile_to_the_cent_and_a_voided_number_can_be_used_again(
    workspace: Workspace,
) -> None:
    contract_id = _contract(
        workspace,
        price_lines=[{"task_type": "t", "unit_price": "0.333", "quantity": 4000}],
    )
    batch = _batch(workspace, contract_id, "A", date(2026, 10, 6), 3)
    _decide(workspace, batch, "accepted")
    invoice = {"number": "I1", "issued_on": date(2026, 10, 9), "units": 3, "batches": ["A"]}
    with session_scope(workspace.engine) as db:
        first = add_invoice(contract_id, {**invoice, "amount": "1.00"}, as_of=AS_OF, session=db)
    [matched] = _report(workspace).invoices
    # 3 x 0.333 = 0.999: a difference of 0.001 rounds to zero cents.
    assert (matched.state.value, matched.credit_due) == ("matched", 0)
    with session_scope(workspace.engine) as db:
        void_invoice(first.id or 0, reason="wrong amount", session=db)
        add_invoice(contract_id, {**invoice, "amount": "1.02"}, as_of=AS_OF, session=db)
    [again] = _report(workspace).invoices
    assert (again.state.value, again.credit_due) == ("over-billed", D("0.021"))


def test_amendments_reach_forward_only(workspace: Workspace) -> None:
    contract_id = _contract(workspace)
    with Session(workspace.engine) as db:
        spec = contract_spec(get_contract(contract_id, session=db), session=db)
    more = spec.model_copy(deep=True)
    more.schedule[0].quantity = 2500  # week 1 was due on 2026-10-11
    with (
        pytest.raises(InputError, match="week 1 of t was due on 2026-10-11"),
        session_scope(workspace.engine) as db,
    ):
        save_contract(
            more, contract_id=contract_id, amendment=Amendment(date(2026, 10, 20), "x"), session=db
        )
    dearer = spec.model_copy(deep=True)
    dearer.price_lines[0].unit_price = D("3.00")
    with session_scope(workspace.engine) as db:
        save_contract(
            dearer,
            contract_id=contract_id,
            amendment=Amendment(date(2026, 10, 20), "dearer"),
            session=db,
        )
    # Nothing is decided, yet the amended history is not rewritten in place.
    with (
        pytest.raises(InputError, match="an amendment history"),
        session_scope(workspace.engine) as db,
    ):
        save_contract(spec, contract_id=contract_id, session=db)


def test_a_batch_is_priced_by_the_version_of_its_day(workspace: Workspace) -> None:
    contract_id = _contract(workspace)
    with Session(workspace.engine) as db:
        spec = contract_spec(get_contract(contract_id, session=db), session=db)
    data = spec.model_dump()
    data["price_lines"].append({"task_type": "u", "unit_price": "5", "quantity": 10, "tiers": []})
    with session_scope(workspace.engine) as db:
        save_task_type(
            {"key": "u", "name": "U", "unit": "item", "label_kind": "categorical",
             "labels": ["a", "b"]},
            session=db,
        )  # fmt: skip
        save_contract(
            data, contract_id=contract_id, amendment=Amendment(date(2026, 10, 26), "u"), session=db
        )
    early = {"ref": "U1", "task_type": "u", "week": 1, "delivered_on": date(2026, 10, 10)}
    with (
        pytest.raises(InputError, match="on 2026-10-10 the contract \\(version 1"),
        session_scope(workspace.engine) as db,
    ):
        record_batch(contract_id, {**early, "quantity": 1}, as_of=AS_OF, session=db)


def test_an_older_document_cannot_take_the_terms_back(workspace: Workspace) -> None:
    contract_id = _contract(workspace)
    with Session(workspace.engine) as db:
        spec = contract_spec(get_contract(contract_id, session=db), session=db)
        old = export_document(session=db)
    for day, price in ((date(2026, 10, 20), "2.50"), (date(2026, 10, 27), "3.00")):
        changed = spec.model_copy(deep=True)
        changed.price_lines[0].unit_price = D(price)
        with session_scope(workspace.engine) as db:
            save_contract(
                changed, contract_id=contract_id, amendment=Amendment(day, price), session=db
            )
        if price == "2.50":
            with Session(workspace.engine) as db:
                old = export_document(session=db)  # versions 1 and 2
    with (
        pytest.raises(
            InputError, match="holds 2 versions of the contract's terms, the workspace 3"
        ),
        session_scope(workspace.engine) as db,
    ):
        import_document(old.encode(), "old.yaml", session=db)
