"""Records on a real database (file-backed SQLite and PostgreSQL): create, edit, import, export."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from procure.config import Settings
from procure.db import session_scope
from procure.delivery.payloads import spend_payload
from procure.delivery.portfolio import build_report
from procure.errors import AlreadyImportedError, InputError
from procure.kinds import BatchStatus
from procure.records import batches, catalog, contracts, decisions, transfer
from procure.records.models import AuditEvent, Batch, Contract, ImportedFile, PriceTier, Vendor
from procure.records.versions import Amendment
from procure.records.workspace import Workspace, open_workspace, set_exchange_rate
from tests.conftest import DATA


def _import(
    ws: Workspace, content: bytes, name: str = "contract.yaml", force: bool = False
) -> transfer.ImportSummary:
    with session_scope(ws.engine) as db:
        return transfer.import_document(content, name, force=force, session=db)


def _snapshot(ws: Workspace) -> tuple[int, ...]:
    """Row counts that any write would change."""
    with Session(ws.engine) as db:
        return tuple(
            db.exec(select(func.count()).select_from(table)).one()
            for table in (Vendor, Contract, Batch, PriceTier, ImportedFile, AuditEvent)
        )


def test_import_creates_everything_and_money_stays_exact(workspace: Workspace) -> None:
    summary = _import(workspace, (DATA / "contract.yaml").read_bytes())
    assert summary.created["contracts"] == 1 and summary.created["vendors"] == 1
    with Session(workspace.engine) as db:
        [contract] = contracts.list_contracts(session=db)
        spec = contracts.contract_spec(contract, with_batches=True, session=db)
    assert spec.committed_budget == D(20000)
    assert spec.price_lines[0].unit_price == D("2.50")
    assert spec.price_lines[0].tiers[0].unit_price == D("2.00")
    assert [b.ref for b in spec.batches] == ["A1"]


def test_export_imports_back_to_the_same_document(workspace: Workspace, tmp_path: Path) -> None:
    _import(workspace, (DATA / "contract.yaml").read_bytes())
    with Session(workspace.engine) as db:
        yaml_text = transfer.export_document(with_batches=True, session=db)
        json_text = transfer.export_document(with_batches=True, fmt="json", session=db)
    from procure.config import Settings
    from procure.records.workspace import open_workspace

    other = open_workspace(Settings(home=tmp_path / "other"), create=True)
    with session_scope(other.engine) as db:
        transfer.import_document(json_text.encode(), "export.json", session=db)
    with Session(other.engine) as db:
        assert transfer.export_document(with_batches=True, session=db) == yaml_text


def test_same_file_twice_is_refused_unless_forced(workspace: Workspace) -> None:
    content = (DATA / "contract.yaml").read_bytes()
    _import(workspace, content)
    before = _snapshot(workspace)
    with pytest.raises(AlreadyImportedError, match="already imported"):
        _import(workspace, content)
    assert _snapshot(workspace) == before
    summary = _import(workspace, content, force=True)
    assert summary.updated["contracts"] == 1 and not summary.created["contracts"]
    with Session(workspace.engine) as db:
        assert len(contracts.list_contracts(session=db)) == 1
        assert len(db.exec(select(Batch)).all()) == 1  # matched by ref, not duplicated


BAD_DOCUMENTS = {
    "negative price": (
        ("unit_price: 2.50", "unit_price: -2.50"),
        "line 19, contracts[0].price_lines[0].unit_price: Input should be greater than 0, got -2.50",
    ),
    "zero price": (("unit_price: 400", "unit_price: 0"), "contracts[0].price_lines[1].unit_price"),
    "price line for a task type the workspace lacks": (
        ("task_type: expert_report", "task_type: essay"),
        "line 23, contracts[0].price_lines[1].task_type: unknown task type 'essay'; expected one of the workspace's task types (expert_report, pref_pair)",
    ),
    "schedule for a task type the contract does not cover": (
        ("{week: 3, task_type: expert_report", "{week: 3, task_type: helpfulness"),
        "line 28, contracts[0].schedule[3].task_type: the contract has no price line for task type 'helpfulness'",
    ),
    "overlapping tiers": (
        (
            "- {from_unit: 3001, unit_price: 2.00}",
            "- {from_unit: 3001, unit_price: 2.00}\n          - {from_unit: 3001, unit_price: 1.90}",
        ),
        "tiers overlap: more than one tier starts at unit 3001",
    ),
    "end before start": (
        ("end_date: 2026-11-15", "end_date: 2026-10-01"),
        "line 11, contracts[0].end_date: end date 2026-10-01 is before start date 2026-10-05",
    ),
    "batch outside the contract": (
        ("{ref: A1, task_type: pref_pair, week: 1", "{ref: A1, task_type: pref_pair, week: 9"),
        "week 9 is outside the contract (2026-10-05 to 2026-11-15 has weeks 1 to 6)",
    ),
    "unknown currency": (
        ("currency: USD", "currency: USX"),
        "line 12, contracts[0].currency: unknown currency 'USX'",
    ),
    "malformed YAML": (("title: Pilot", "title: [Pilot"), "malformed YAML"),
    "a day that does not exist": (
        ("end_date: 2026-11-15", "end_date: 2026-02-30"),
        "line 11: malformed YAML: '2026-02-30' is not a date (day is out of range for month); "
        "expected YYYY-MM-DD",
    ),
    "unknown field": (
        ("status: active", "status: active\n    budget: 3"),
        "contracts[0].budget: Extra inputs are not permitted",
    ),
    "a key twice": (  # a parser would keep the last: the budget would silently become 1
        ("    committed_budget: 20000", "    committed_budget: 20000\n    committed_budget: 1"),
        "line 14: key 'committed_budget' is given twice (lines 13 and 14); expected each key once",
    ),
}


@pytest.mark.parametrize("case", list(BAD_DOCUMENTS))
def test_bad_documents_get_one_clear_message_and_change_nothing(
    workspace: Workspace, case: str
) -> None:
    (old, new), expected = BAD_DOCUMENTS[case]
    text = (DATA / "contract.yaml").read_text()
    assert old in text
    before = _snapshot(workspace)
    with pytest.raises(InputError) as raised:
        _import(workspace, text.replace(old, new).encode())
    assert expected in str(raised.value)
    assert str(raised.value).startswith("contract.yaml")
    assert _snapshot(workspace) == before


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'{"contracts": [}', "export.json, line 1: malformed JSON"),
        (b"\xff\xfe\x00bad", "export.json: not UTF-8 text (byte 0)"),
        (b"[1, 2]", "export.json: expected a document with any of"),
        (
            b'{"version": 1, "reporting_currency": "USD", "reporting_currency": "EUR"}',
            "export.json, line 1: key 'reporting_currency' is given twice (columns 16 and 45)",
        ),
        # 100,000 levels exhaust the parsers' recursion; refused from the parser's events
        (b"[" * 100_000 + b"]" * 100_000, "export.json, line 1: nested deeper than 32 levels"),
    ],
)
def test_malformed_json(workspace: Workspace, content: bytes, expected: str) -> None:
    with pytest.raises(InputError) as raised:
        _import(workspace, content, "export.json")
    assert str(raised.value).startswith(expected)


def test_yaml_aliases_are_refused_before_they_expand(workspace: Workspace) -> None:
    """A 620-byte alias bomb (9 levels of 9 references) would expand to 387 million strings."""
    levels = ["a: &a [" + ", ".join(['"lol"'] * 9) + "]"]
    for name, previous in zip("bcdefghi", "abcdefgh", strict=True):
        levels.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    bomb = ("\n".join(levels) + "\n").encode()
    before = _snapshot(workspace)
    with pytest.raises(InputError) as raised:
        _import(workspace, bomb, "bomb.yaml")
    assert str(raised.value) == (
        "bomb.yaml, line 2: YAML aliases (*name) are not allowed in a document; write the value out"
    )
    assert _snapshot(workspace) == before


def test_vendor_and_task_type_validation(workspace: Workspace) -> None:
    with session_scope(workspace.engine) as db:
        vendor = catalog.save_vendor({"name": "Acme", "kind": "platform"}, session=db)
    with (
        pytest.raises(InputError, match="a vendor named 'Acme' exists already"),
        session_scope(workspace.engine) as db,
    ):
        catalog.save_vendor({"name": " Acme ", "kind": "platform"}, session=db)
    with (
        pytest.raises(InputError, match="kind: Input should be"),
        session_scope(workspace.engine) as db,
    ):
        catalog.save_vendor({"name": "B", "kind": "agency"}, session=db)
    with (
        pytest.raises(InputError, match="needs at least two labels"),
        session_scope(workspace.engine) as db,
    ):
        catalog.save_task_type(
            {"key": "x", "name": "X", "unit": "u", "label_kind": "ordinal", "labels": ["a"]},
            session=db,
        )
    with session_scope(workspace.engine) as db:
        catalog.save_vendor(
            {"name": "Acme Data", "kind": "marketplace"}, vendor_id=vendor.id, session=db
        )
    with Session(workspace.engine) as db:
        [stored] = catalog.list_vendors(session=db)
    assert (stored.name, stored.kind) == ("Acme Data", "marketplace")


def test_record_and_review_batches(workspace: Workspace) -> None:
    _import(workspace, (DATA / "contract.yaml").read_bytes())
    with Session(workspace.engine) as db:
        [contract] = contracts.list_contracts(session=db)
    cid = contract.id or 0
    good = {
        "task_type": "pref_pair",
        "week": 2,
        "delivered_on": date(2026, 10, 17),
        "quantity": 1000,
    }
    with session_scope(workspace.engine) as db:
        batch = batches.record_batch(cid, good, session=db)
    assert batch.ref == "W2-pref_pair-1" and batch.status == BatchStatus.received
    before = _snapshot(workspace)
    for bad, message in [
        ({**good, "week": 7}, "week 7 is outside the contract"),
        ({**good, "task_type": "essay"}, "no price line for task type 'essay'"),
        ({**good, "delivered_on": date(2026, 9, 1)}, "before the contract starts"),
        ({**good, "quantity": 0}, "quantity: Input should be greater than 0"),
        ({**good, "status": "partially_accepted"}, "needs an accepted quantity between 1 and 999"),
        ({**good, "ref": "A1"}, "already has a batch with ref 'A1'"),
    ]:
        with pytest.raises(InputError, match=message), session_scope(workspace.engine) as db:
            batches.record_batch(cid, bad, session=db)
    assert _snapshot(workspace) == before
    with session_scope(workspace.engine) as db:
        decisions.decide_batch(
            batch.id or 0, "partially_accepted", accepted_quantity=800, session=db
        )
    with (
        pytest.raises(InputError, match="only for partially_accepted"),
        session_scope(workspace.engine) as db,
    ):
        decisions.decide_batch(
            batch.id or 0, "accepted", accepted_quantity=800, reason="more", session=db
        )
    with Session(workspace.engine) as db:
        payload = spend_payload(build_report(date(2026, 10, 20), session=db))
    # A1: 1000 x 2.50 x 0.9 = 2,250; W2: 800 x 2.50 = 2,000
    assert D(payload["contracts"][0]["spent"]) == D("4250")


def test_editing_a_contract_cannot_strand_its_batches(workspace: Workspace) -> None:
    _import(workspace, (DATA / "contract.yaml").read_bytes())
    with Session(workspace.engine) as db:
        [contract] = contracts.list_contracts(session=db)
        spec = contracts.contract_spec(contract, session=db)
    shorter = spec.model_copy(  # no more preference pairs, from week 3 on
        update={
            "price_lines": spec.price_lines[1:],
            "schedule": spec.schedule[3:],
            "discounts": [],
        }
    )
    amendment = Amendment(date(2026, 10, 20), "experts only")
    with (  # the plan of weeks 1 and 2 is due already: evidence that stays
        pytest.raises(InputError, match="week 1 of pref_pair was due on 2026-10-11"),
        session_scope(workspace.engine) as db,
    ):
        contracts.save_contract(shorter, contract_id=contract.id, amendment=amendment, session=db)
    later = spec.model_copy(update={"start_date": date(2026, 10, 12)})
    with (
        pytest.raises(InputError, match="start date and currency can no longer change"),
        session_scope(workspace.engine) as db,
    ):
        contracts.save_contract(later, contract_id=contract.id, session=db)
    renamed = spec.model_copy(
        update={"title": "Pilot, extended", "committed_budget": D("25000.10")}
    )
    with (
        pytest.raises(InputError, match="change them through an amendment"),
        session_scope(workspace.engine) as db,
    ):
        contracts.save_contract(renamed, contract_id=contract.id, session=db)
    with session_scope(workspace.engine) as db:
        contracts.save_contract(
            renamed,
            contract_id=contract.id,
            amendment=Amendment(date(2026, 10, 20), "more budget"),
            session=db,
        )
    with Session(workspace.engine) as db:
        [stored] = contracts.list_contracts(session=db)
    assert (stored.title, stored.committed_budget) == ("Pilot, extended", D("25000.10"))


def test_sample_workspace_figures(sample: Workspace) -> None:
    """The sample's stories, with figures computed by hand from sample_data/workspace.yaml."""
    from tests.conftest import SAMPLE_TODAY

    with Session(sample.engine) as db:
        report = build_report(SAMPLE_TODAY, session=db)
    by_vendor = {(r.vendor.name, r.contract.title): r for r in report.contracts}
    northwind = by_vendor[("Northwind Annotation", "Preference pairs for RLHF, Q4")]
    assert northwind.problems == []
    assert (northwind.spend.spent, northwind.spend.projected) == (D("50750"), D("100250"))
    lumen = by_vendor[("Lumen Labs", "Multilingual SFT instructions")]
    assert [(r.week, r.short_by, r.days_late) for r in lumen.problems] == [
        (3, 1400, 3),
        (4, 900, 2),
    ]
    assert lumen.spend.spent == D("16480")  # (4000 + 4000 + 2300) x 1.60 EUR
    kestrel = by_vendor[("Kestrel Experts", "Expert reports: chemistry and law")]
    assert kestrel.spend.spent == D("86100")  # 205 reports x 420
    assert kestrel.spend.over_budget_by == D("10800")  # 240 x 420 - 90,000
    pilot = by_vendor[("Lumen Labs", "Helpfulness evaluations, pilot")]
    assert pilot.spend.spent == D("17100")  # 20,000 x 0.90 x 0.95
    totals = report.totals
    assert totals is not None
    # USD: 50,750 + 86,100; EUR at 1.08: (16,480 + 17,100) x 1.08 = 36,266.40; the draft is excluded
    assert totals.spent == D("50750") + D("86100") + D("36266.40")
    assert totals.budget == D(105000) + D(90000) + (D(40000) + D(18000)) * D("1.08")


def test_totals_are_withheld_without_an_exchange_rate(sample: Workspace) -> None:
    with session_scope(sample.engine) as db:
        from procure.records.workspace import delete_exchange_rate

        delete_exchange_rate("EUR", session=db)
    with Session(sample.engine) as db:
        report = build_report(date(2026, 11, 19), session=db)
    assert report.totals is None and report.missing_rates == ["EUR"]
    assert spend_payload(report)["totals"] is None
    with pytest.raises(InputError, match="greater than 0"), session_scope(sample.engine) as db:
        set_exchange_rate("EUR", "-1", date(2026, 11, 19), session=db)
    with (
        pytest.raises(InputError, match="expected a decimal number"),
        session_scope(sample.engine) as db,
    ):
        set_exchange_rate("EUR", "abc", date(2026, 11, 19), session=db)


def test_sample_loads_once(sample: Workspace) -> None:
    from procure.sample.loader import load_sample

    with session_scope(sample.engine) as db:
        assert load_sample(date(2026, 11, 19), session=db) is None
    with Session(sample.engine) as db:
        assert len(contracts.list_contracts(session=db)) == 5


def test_one_validation_on_every_path(
    sqlite_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A task type's key, a price and a contract's terms are checked by their records' own
    models, whether they come from the CLI, a document or code that changed a spec."""
    from procure.cli import run

    home = str(sqlite_settings.home)
    assert run(["--home", home, "init"]) == 0
    task_type = ["task-type", "add", "Bad Key", "--name", "N", "--unit", "u", "--labels", "a,b"]
    code = run(["--home", home, *task_type, "--label-kind", "categorical"])
    assert code == 2 and "expected a key of lower-case letters" in capsys.readouterr().err
    document = tmp_path / "prices.yaml"
    document.write_text(
        "llm_prices:\n  - {model: m, price_in_per_mtok: 1.0e400, price_out_per_mtok: 1,"
        " read_on: 2026-11-01}\n"
    )
    assert run(["--home", home, "contract", "import", str(document)]) == 2
    err = capsys.readouterr().err
    assert "line 2" in err and "below 10^14" in err, err
    workspace = open_workspace(sqlite_settings)
    _import(workspace, (DATA / "contract.yaml").read_bytes())
    with Session(workspace.engine) as db:
        spec = contracts.contract_spec(db.exec(select(Contract)).one(), session=db)
    spec.committed_budget = D(-5)  # pydantic does not check an assignment
    with pytest.raises(InputError, match="committed_budget"), session_scope(workspace.engine) as db:
        contracts.save_contract(spec, session=db)
    workspace.engine.dispose()
