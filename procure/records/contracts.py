"""Contracts with their terms, discounts, price lines and delivery schedule.

``ContractSpec`` is both the YAML/JSON document a user keeps in git and the input of the forms:
one validation for every surface.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, delete, select

from procure.documents import Problem, validate
from procure.errors import InputError, NotFoundError
from procure.kinds import BatchEventKind, BatchStatus
from procure.records.catalog import list_task_types, task_type_by_key, vendor_by_name
from procure.records.decisions import (
    DECIDED,
    add_batch_event,
    check_delivery_date,
    decide_batch,
    decided_batches,
    frozen_spec,
    live_batches,
)
from procure.records.models import (
    AcceptanceRule,
    Batch,
    Contract,
    ContractVersion,
    Discount,
    PriceLine,
    PriceTier,
    ScheduleEntry,
    TaskType,
    Vendor,
)
from procure.records.terms import (
    BatchSpec,
    ContractSpec,
    DiscountSpec,
    PriceLineSpec,
    ScheduleSpec,
    TermsSpec,
    TierSpec,
    VersionSpec,
    check_contract,
)
from procure.records.versions import (
    Amendment,
    add_versions,
    contract_versions,
    record_terms,
    terms_for,
    terms_of,
)
from procure.records.workspace import lock_contract, record_event

# --- reading ---------------------------------------------------------------------------------


def list_contracts(*, session: Session) -> list[Contract]:
    return list(session.exec(select(Contract).order_by(col(Contract.start_date), col(Contract.id))))


def get_contract(contract_id: int, *, session: Session) -> Contract:
    contract = session.get(Contract, contract_id)
    if contract is None:
        raise NotFoundError(f"no contract with id {contract_id}")
    return contract


def contract_spec(
    contract: Contract, *, session: Session, with_batches: bool = False
) -> ContractSpec:
    """The document form of a stored contract (what export writes and the forms edit)."""
    keys = {t.id: t.key for t in session.exec(select(TaskType))}
    vendor = session.get(Vendor, contract.vendor_id)
    assert vendor is not None
    lines = session.exec(
        select(PriceLine).where(PriceLine.contract_id == contract.id).order_by(col(PriceLine.id))
    ).all()
    tiers = session.exec(
        select(PriceTier)
        .where(col(PriceTier.price_line_id).in_([line.id for line in lines]))
        .order_by(col(PriceTier.from_unit))
    ).all()
    schedule = session.exec(
        select(ScheduleEntry)
        .where(ScheduleEntry.contract_id == contract.id)
        .order_by(col(ScheduleEntry.week), col(ScheduleEntry.id))
    ).all()
    discounts = session.exec(
        select(Discount).where(Discount.contract_id == contract.id).order_by(col(Discount.id))
    ).all()
    batches = live_batches(contract.id, session=session) if with_batches else []
    history = contract_versions(contract.id, session=session)
    return ContractSpec(
        vendor=vendor.name,
        title=contract.title,
        start_date=contract.start_date,
        end_date=contract.end_date,
        currency=contract.currency,
        committed_budget=contract.committed_budget,
        status=contract.status,
        terms=TermsSpec(
            open_source_allowed=contract.open_source_allowed,
            vendor_may_reuse=contract.vendor_may_reuse,
            exclusive=contract.exclusive,
        ),
        discounts=[
            DiscountSpec(
                kind=d.kind,
                percent=d.percent,
                task_type=keys[d.task_type_id] if d.task_type_id else None,
            )
            for d in discounts
        ],
        price_lines=[
            PriceLineSpec(
                task_type=keys[line.task_type_id],
                unit_price=line.unit_price,
                quantity=line.contracted_quantity,
                tiers=[
                    TierSpec(from_unit=t.from_unit, unit_price=t.unit_price)
                    for t in tiers
                    if t.price_line_id == line.id
                ],
            )
            for line in lines
        ],
        schedule=[
            ScheduleSpec(week=e.week, task_type=keys[e.task_type_id], quantity=e.planned_quantity)
            for e in schedule
        ],
        batches=[
            BatchSpec(
                ref=b.ref,
                task_type=keys[b.task_type_id],
                week=b.week,
                delivered_on=b.delivered_on,
                quantity=b.quantity,
                status=b.status,
                accepted_quantity=b.accepted_quantity,
                notes=b.notes,
                priced=frozen_spec(b),
            )
            for b in batches
        ],
        versions=[]
        if len(history) < 2
        else [
            VersionSpec.model_validate(
                {**terms_of(v).model_dump(), "effective_from": v.effective_from, "reason": v.reason}
            )
            for v in history
        ],
        notes=contract.notes,
    )


# --- writing ---------------------------------------------------------------------------------


def _task_type_ids(spec: ContractSpec, *, session: Session) -> dict[str, int]:
    keys = {line.task_type for line in spec.price_lines}
    found = {key: task_type_by_key(key, session=session) for key in keys}
    unknown = sorted(key for key, task_type in found.items() if task_type is None)
    if unknown:
        index = next(i for i, line in enumerate(spec.price_lines) if line.task_type == unknown[0])
        raise InputError(
            f"unknown task type {unknown[0]!r}; expected one of the workspace's task types "
            f"({', '.join(t.key for t in list_task_types(session=session)) or 'none yet: add it first'})",
            field=f"price_lines[{index}].task_type",
        )
    return {key: task_type.id for key, task_type in found.items() if task_type and task_type.id}


def save_contract(
    data: ContractSpec | dict[str, Any],
    *,
    session: Session,
    contract_id: int | None = None,
    source: str = "contract",
    amendment: Amendment | None = None,
    create: bool = False,
) -> Contract:
    """Create or update a contract from its document form, all or nothing.

    With ``contract_id`` that contract is updated; with ``create`` a new one is made (a vendor's
    titles are unique); otherwise the contract with the same vendor and title is updated, or a
    new one created (how documents match contracts). Terms, discounts, price lines and schedule are
    replaced by the document's; batches are added or updated by ``ref`` and never deleted here.
    Existing batches must still fit the new terms.

    Changed terms are kept as history (``versions.record_terms``): with ``amendment`` they are a
    new version from its effective date; without one, a contract with decided batches refuses
    them, since those batches' costs rely on the terms.
    """
    raw = data.model_dump() if isinstance(data, ContractSpec) else data
    if amendment is not None:  # the amendment is the change; the history is the one recorded
        raw = {k: v for k, v in raw.items() if k != "versions"}
    spec = validate(ContractSpec, raw, source)  # again for a spec: it may have been changed
    check_contract(spec, source)
    vendor = vendor_by_name(spec.vendor, session=session)
    if vendor is None:
        raise InputError(
            f"unknown vendor {spec.vendor!r}; add the vendor first", source=source, field="vendor"
        )
    type_ids = _task_type_ids(spec, session=session)
    same_title = session.exec(
        select(Contract).where(Contract.vendor_id == vendor.id, Contract.title == spec.title)
    ).first()
    taken = same_title is not None and (create or same_title.id != contract_id)
    if contract_id is not None or create:
        if taken:
            raise InputError(
                f"{vendor.name} already has a contract titled {spec.title!r}; expected a new "
                "title (or pick that contract to edit it)",
                field="title",
            )
        contract = (
            get_contract(contract_id, session=session)
            if contract_id
            else Contract(
                vendor_id=vendor.id or 0,
                title=spec.title,
                start_date=spec.start_date,
                end_date=spec.end_date,
                currency=spec.currency,
                committed_budget=spec.committed_budget,
            )
        )
    else:
        contract = same_title or Contract(
            vendor_id=vendor.id or 0,
            title=spec.title,
            start_date=spec.start_date,
            end_date=spec.end_date,
            currency=spec.currency,
            committed_budget=spec.committed_budget,
        )
    created = contract.id is None
    decided = [] if created else decided_batches(contract.id, session=session)
    if decided and (contract.start_date != spec.start_date or contract.currency != spec.currency):
        raise InputError(
            f"contract {contract.title!r} has decided batches ({decided[0].ref!r} first); its "
            "start date and currency can no longer change",
            field="start_date" if contract.start_date != spec.start_date else "currency",
        )
    if not created and contract.vendor_id != vendor.id and _has_batches(contract, session=session):
        raise InputError(
            f"contract {contract.title!r} has batches delivered by its vendor; its vendor can no "
            "longer change",
            field="vendor",
        )
    contract.sqlmodel_update(
        {
            "vendor_id": vendor.id,
            **spec.model_dump(include={"title", "start_date", "end_date", "currency"}),
            "committed_budget": spec.committed_budget,
            "status": spec.status,
            **spec.terms.model_dump(),
            "notes": spec.notes,
        }
    )
    session.add(contract)
    session.flush()
    keys = {t.id: t.key for t in session.exec(select(TaskType))}
    relied = [(b.ref, keys[b.task_type_id], b.delivered_on) for b in decided]
    if spec.versions:
        add_versions(contract, spec.versions, decided=relied, session=session)
    else:
        record_terms(
            contract, spec.amendable(), amendment=amendment, decided=relied, session=session
        )
    _replace_terms(contract, spec, type_ids, session=session)
    _upsert_batches(contract, spec, type_ids, source=source, session=session)
    _check_stored_batches(contract, spec, session=session)
    record_event(
        "create" if created else "update", "contract", contract.id, spec.title, session=session
    )
    return contract


def _has_batches(contract: Contract, *, session: Session) -> bool:
    return (
        session.exec(select(Batch.id).where(Batch.contract_id == contract.id)).first() is not None
    )


def _delete_terms(contract_id: int, *, session: Session, with_versions: bool = False) -> None:
    """Delete a contract's discounts, price lines (with tiers) and schedule, children first."""
    lines = select(PriceLine.id).where(PriceLine.contract_id == contract_id)
    session.exec(delete(PriceTier).where(col(PriceTier.price_line_id).in_(lines)))
    tables: tuple[Any, ...] = (Discount, ScheduleEntry, PriceLine) + (
        (ContractVersion, AcceptanceRule) if with_versions else ()
    )
    for table in tables:
        session.exec(delete(table).where(table.contract_id == contract_id))


def _replace_terms(
    contract: Contract, spec: ContractSpec, type_ids: dict[str, int], *, session: Session
) -> None:
    assert contract.id is not None
    _delete_terms(contract.id, session=session)
    for discount in spec.discounts:
        session.add(
            Discount(
                contract_id=contract.id,
                kind=discount.kind,
                percent=discount.percent,
                task_type_id=type_ids[discount.task_type] if discount.task_type else None,
            )
        )
    for line_spec in spec.price_lines:
        line = PriceLine(
            contract_id=contract.id,
            task_type_id=type_ids[line_spec.task_type],
            unit_price=line_spec.unit_price,
            contracted_quantity=line_spec.quantity,
        )
        session.add(line)
        session.flush()
        assert line.id is not None
        for tier in line_spec.tiers:
            session.add(
                PriceTier(
                    price_line_id=line.id, from_unit=tier.from_unit, unit_price=tier.unit_price
                )
            )
    for entry in spec.schedule:
        session.add(
            ScheduleEntry(
                contract_id=contract.id,
                week=entry.week,
                task_type_id=type_ids[entry.task_type],
                planned_quantity=entry.quantity,
            )
        )
    session.flush()


def _upsert_batches(
    contract: Contract,
    spec: ContractSpec,
    type_ids: dict[str, int],
    *,
    source: str,
    session: Session,
) -> None:
    """Add a document's new batches, then decide the decided ones in delivery order (so each is
    priced where it stands on its line); a batch already recorded may only be corrected while it
    is undecided, and every change is an event."""
    if contract.id is not None:
        lock_contract(contract.id, session=session)  # as `batch add` does: one writer at a time
    existing = {b.ref: b for b in live_batches(contract.id, session=session, with_voided=True)}
    to_decide: list[tuple[Batch, BatchSpec]] = []
    for batch_spec in spec.batches:
        assert batch_spec.ref is not None and contract.id is not None
        facts = {
            **batch_spec.model_dump(include={"ref", "week", "delivered_on", "quantity", "notes"}),
            "task_type_id": type_ids[batch_spec.task_type],
        }
        batch = existing.get(batch_spec.ref)
        if batch is None:
            check_delivery_date(batch_spec.delivered_on)
            batch = Batch(contract_id=contract.id, **facts)
            session.add(batch)
            session.flush()
            recorded = {k: v for k, v in facts.items() if k != "task_type_id" and v != ""}
            add_batch_event(
                batch,
                BatchEventKind.recorded,
                {},
                {**_jsonable(recorded), "source": source},
                session=session,
            )
        elif batch.voided_at is not None:
            raise InputError(
                f"batch {batch.ref!r} was voided ({batch.void_reason}); a document cannot bring "
                "it back: record the delivery under another ref"
            )
        else:
            changed = {k: v for k, v in facts.items() if getattr(batch, k) != v}
            status_changed = (batch_spec.status, batch_spec.accepted_quantity) != (
                batch.status,
                batch.accepted_quantity,
            )
            if (changed or status_changed) and BatchStatus(batch.status) in DECIDED:
                raise InputError(
                    f"batch {batch.ref!r} is {batch.status}; a document cannot change a decided "
                    "batch (correct it with `procure batch edit` or re-decide it with a reason)"
                )
            if changed:
                before = {k: getattr(batch, k) for k in changed}
                batch.sqlmodel_update(changed)
                session.add(batch)
                add_batch_event(
                    batch,
                    BatchEventKind.edited,
                    _jsonable(before),
                    _jsonable(changed),
                    reason=f"document {source}",
                    session=session,
                )
            if not status_changed:
                continue
        if batch_spec.status is not BatchStatus.received:
            to_decide.append((batch, batch_spec))
    session.flush()
    for batch, batch_spec in sorted(to_decide, key=lambda p: (p[0].delivered_on, p[0].id or 0)):
        decide_batch(
            batch.id or 0,
            batch_spec.status,
            accepted_quantity=batch_spec.accepted_quantity,
            note=f"from document {source}",
            carried_price=batch_spec.priced,
            session=session,
        )


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in values.items()}


def batch_fit(
    spec: ContractSpec, versions: list[ContractVersion], batch: BatchSpec
) -> list[Problem]:
    """What keeps a batch from fitting the contract: its week and dates against the contract,
    its task type against the version in force on its delivery day."""
    problems = [p for p in spec.batch_problems(batch) if p[0] != ("task_type",)]
    try:
        terms_for(versions, batch.task_type, batch.delivered_on)
    except InputError as exc:
        problems.append((("task_type",), exc.reason))
    return problems


def _check_stored_batches(contract: Contract, spec: ContractSpec, *, session: Session) -> None:
    """Batches recorded earlier must still fit the contract's new dates, and the version in force
    on their delivery day must price them."""
    versions = contract_versions(contract.id, session=session)
    keys = {t.id: t.key for t in session.exec(select(TaskType))}
    for batch in live_batches(contract.id, session=session):
        batch_spec = BatchSpec(
            ref=batch.ref,
            task_type=keys[batch.task_type_id],
            week=batch.week,
            delivered_on=batch.delivered_on,
            quantity=batch.quantity,
            status=batch.status,
            accepted_quantity=batch.accepted_quantity,
        )
        problems = batch_fit(spec, versions, batch_spec)
        if problems:
            loc, message = problems[0]
            raise InputError(
                f"recorded batch {batch.ref!r} would no longer fit: {message}",
                field=".".join(map(str, loc)),
            )


def delete_contract(contract_id: int, *, session: Session) -> None:
    """Delete a contract recorded by mistake, before anything was delivered against it.

    A contract with batches is history: it is closed (status completed or terminated) and its
    batches voided, never deleted."""
    contract = get_contract(contract_id, session=session)
    batches = session.exec(select(Batch).where(Batch.contract_id == contract_id)).all()
    if batches:
        raise InputError(
            f"contract {contract.title!r} has {len(batches)} recorded batch"
            f"{'es' if len(batches) > 1 else ''}, which stay in its history; close it instead "
            "(set its status to completed or terminated) and void batches recorded by mistake "
            "(`procure batch void ID --reason TEXT`)"
        )
    _delete_terms(contract_id, with_versions=True, session=session)
    session.delete(contract)
    record_event("delete", "contract", contract_id, contract.title, session=session)
