"""Contracts with their terms, discounts, price lines and delivery schedule.

``ContractSpec`` is both the YAML/JSON document a user keeps in git and the input of the forms:
one validation for every surface.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal
from typing import Any

import yaml
from pydantic import Field, field_validator
from sqlmodel import Session, col, delete, select

from procure.documents import Problem, Spec, problems_error, validate
from procure.errors import InputError, NotFoundError
from procure.kinds import BatchStatus, ContractStatus, DiscountKind
from procure.money import check_currency
from procure.records.catalog import list_task_types, task_type_by_key, vendor_by_name
from procure.records.models import (
    Batch,
    Contract,
    Discount,
    LabelSet,
    PriceLine,
    PriceTier,
    ScheduleEntry,
    TaskType,
    Vendor,
)
from procure.records.workspace import record_event


def week_count(start: date, end: date) -> int:
    """Number of contract weeks, counting a partial last week.

    >>> week_count(date(2026, 10, 5), date(2026, 11, 15))  # 42 days
    6
    >>> week_count(date(2026, 10, 5), date(2026, 11, 16))
    7
    """
    return ((end - start).days // 7) + 1


class TermsSpec(Spec):
    open_source_allowed: bool = False
    vendor_may_reuse: bool = False
    exclusive: bool = False


class TierSpec(Spec):
    from_unit: int = Field(gt=1, description="first unit (1-based) sold at this price")
    unit_price: Decimal = Field(gt=0, allow_inf_nan=False)


class PriceLineSpec(Spec):
    task_type: str = Field(min_length=1)
    unit_price: Decimal = Field(gt=0, allow_inf_nan=False)
    quantity: int = Field(gt=0, description="contracted quantity")
    tiers: list[TierSpec] = []

    @field_validator("tiers")
    @classmethod
    def _tiers_do_not_overlap(cls, tiers: list[TierSpec]) -> list[TierSpec]:
        repeated = sorted(
            start for start, n in Counter(t.from_unit for t in tiers).items() if n > 1
        )
        if repeated:
            raise ValueError(
                f"tiers overlap: more than one tier starts at unit {repeated[0]}; "
                "expected each tier to start at a different unit"
            )
        return sorted(tiers, key=lambda tier: tier.from_unit)


class ScheduleSpec(Spec):
    week: int = Field(ge=1)
    task_type: str = Field(min_length=1)
    quantity: int = Field(gt=0)


class DiscountSpec(Spec):
    kind: DiscountKind
    percent: Decimal = Field(gt=0, lt=100, allow_inf_nan=False)
    task_type: str | None = None


class BatchSpec(Spec):
    ref: str | None = None
    task_type: str = Field(min_length=1)
    week: int = Field(ge=1)
    delivered_on: date
    quantity: int = Field(gt=0)
    status: BatchStatus = BatchStatus.received
    accepted_quantity: int | None = None
    notes: str = ""

    def problems(self) -> list[Problem]:
        partial = self.status is BatchStatus.partially_accepted
        if partial and (
            self.accepted_quantity is None or not 0 < self.accepted_quantity < self.quantity
        ):
            return [
                (
                    ("accepted_quantity",),
                    f"a partially accepted batch needs an accepted quantity between 1 and "
                    f"{self.quantity - 1}, got {self.accepted_quantity}",
                )
            ]
        if not partial and self.accepted_quantity is not None:
            return [
                (
                    ("accepted_quantity",),
                    "an accepted quantity is only for partially_accepted batches",
                )
            ]
        return []


class ContractSpec(Spec):
    vendor: str = Field(min_length=1)
    title: str = Field(min_length=1, max_length=200)
    start_date: date
    end_date: date
    currency: str
    committed_budget: Decimal = Field(ge=0, allow_inf_nan=False)
    status: ContractStatus = ContractStatus.draft
    terms: TermsSpec = TermsSpec()
    discounts: list[DiscountSpec] = []
    price_lines: list[PriceLineSpec] = []
    schedule: list[ScheduleSpec] = []
    batches: list[BatchSpec] = []
    notes: str = ""

    _currency = field_validator("currency")(check_currency)

    @property
    def weeks(self) -> int:
        return week_count(self.start_date, self.end_date)

    def problems(self) -> list[Problem]:
        """Checks across fields, each with the location of the offending field."""
        if self.end_date < self.start_date:
            return [
                (
                    ("end_date",),
                    f"end date {self.end_date} is before start date {self.start_date}; "
                    "expected an end on or after the start",
                )
            ]
        problems: list[Problem] = []
        priced = Counter(line.task_type for line in self.price_lines)
        for i, line in enumerate(self.price_lines):
            if priced[line.task_type] > 1:
                problems.append(
                    (
                        ("price_lines", i, "task_type"),
                        f"{line.task_type!r} has more than one price line",
                    )
                )
        covered = sorted(priced)
        not_covered = "the contract has no price line for task type {!r} (it covers: {})"
        referenced: list[tuple[str, int, str | None]] = [
            ("schedule", i, e.task_type) for i, e in enumerate(self.schedule)
        ]
        referenced += [("discounts", i, d.task_type) for i, d in enumerate(self.discounts)]
        for section, i, task_type in referenced:
            if task_type is not None and task_type not in priced:
                problems.append(
                    (
                        (section, i, "task_type"),
                        not_covered.format(task_type, ", ".join(covered) or "nothing"),
                    )
                )
        planned = Counter((entry.week, entry.task_type) for entry in self.schedule)
        for i, entry in enumerate(self.schedule):
            problems += [
                ((("schedule", i, *loc)), msg) for loc, msg in self.week_problems(entry.week)
            ]
            if planned[(entry.week, entry.task_type)] > 1:
                problems.append(
                    (("schedule", i), f"week {entry.week} plans {entry.task_type!r} more than once")
                )
        refs = Counter(batch.ref for batch in self.batches)
        for i, batch in enumerate(self.batches):
            if batch.ref is None:
                problems.append((("batches", i, "ref"), "a batch in a document needs a ref"))
            elif refs[batch.ref] > 1:
                problems.append((("batches", i, "ref"), f"ref {batch.ref!r} is used twice"))
            problems += [(("batches", i, *loc), msg) for loc, msg in self.batch_problems(batch)]
        return problems

    def week_problems(self, week: int) -> list[Problem]:
        if not 1 <= week <= self.weeks:
            return [
                (
                    ("week",),
                    f"week {week} is outside the contract ({self.start_date} to {self.end_date} "
                    f"has weeks 1 to {self.weeks})",
                )
            ]
        return []

    def batch_problems(self, batch: BatchSpec) -> list[Problem]:
        problems = batch.problems() + self.week_problems(batch.week)
        if batch.task_type not in {line.task_type for line in self.price_lines}:
            problems.append(
                (
                    ("task_type",),
                    f"the contract has no price line for task type {batch.task_type!r}",
                )
            )
        if batch.delivered_on < self.start_date:
            problems.append(
                (
                    ("delivered_on",),
                    f"delivered on {batch.delivered_on}, before the contract starts on {self.start_date}",
                )
            )
        return problems


def check_contract(
    spec: ContractSpec, source: str, tree: yaml.Node | None = None, at: tuple[int | str, ...] = ()
) -> None:
    problems = spec.problems()
    if problems:
        raise problems_error([((*at, *loc), msg) for loc, msg in problems], source, tree)


# --- reading ---------------------------------------------------------------------------------


def list_contracts(session: Session) -> list[Contract]:
    return list(session.exec(select(Contract).order_by(col(Contract.start_date), col(Contract.id))))


def get_contract(session: Session, contract_id: int) -> Contract:
    contract = session.get(Contract, contract_id)
    if contract is None:
        raise NotFoundError(f"no contract with id {contract_id}")
    return contract


def contract_spec(
    session: Session, contract: Contract, *, with_batches: bool = False
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
    batches = contract_batches(session, contract.id) if with_batches else []
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
            )
            for b in batches
        ],
        notes=contract.notes,
    )


def contract_batches(session: Session, contract_id: int | None) -> list[Batch]:
    return list(
        session.exec(
            select(Batch)
            .where(Batch.contract_id == contract_id)
            .order_by(col(Batch.delivered_on), col(Batch.id))
        )
    )


# --- writing ---------------------------------------------------------------------------------


def _task_type_ids(session: Session, spec: ContractSpec) -> dict[str, int]:
    keys = {line.task_type for line in spec.price_lines}
    found = {key: task_type_by_key(session, key) for key in keys}
    unknown = sorted(key for key, task_type in found.items() if task_type is None)
    if unknown:
        index = next(i for i, line in enumerate(spec.price_lines) if line.task_type == unknown[0])
        raise InputError(
            f"unknown task type {unknown[0]!r}; expected one of the workspace's task types "
            f"({', '.join(t.key for t in list_task_types(session)) or 'none yet: add it first'})",
            field=f"price_lines[{index}].task_type",
        )
    return {key: task_type.id for key, task_type in found.items() if task_type and task_type.id}


def save_contract(
    session: Session,
    data: ContractSpec | dict[str, Any],
    *,
    contract_id: int | None = None,
    source: str = "contract",
) -> Contract:
    """Create or update a contract from its document form, all or nothing.

    With ``contract_id`` that contract is updated; otherwise the contract with the same vendor
    and title is updated, or a new one created. Terms, discounts, price lines and schedule are
    replaced by the document's; batches are added or updated by ``ref`` and never deleted here.
    Existing batches must still fit the new terms.
    """
    spec = data if isinstance(data, ContractSpec) else validate(ContractSpec, data, source)
    check_contract(spec, source)
    vendor = vendor_by_name(session, spec.vendor)
    if vendor is None:
        raise InputError(
            f"unknown vendor {spec.vendor!r}; add the vendor first", source=source, field="vendor"
        )
    type_ids = _task_type_ids(session, spec)
    same_title = session.exec(
        select(Contract).where(Contract.vendor_id == vendor.id, Contract.title == spec.title)
    ).first()
    if contract_id is not None:
        contract = get_contract(session, contract_id)
        if same_title is not None and same_title.id != contract_id:
            raise InputError(
                f"{vendor.name} already has a contract titled {spec.title!r}", field="title"
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
    _replace_terms(session, contract, spec, type_ids)
    _upsert_batches(session, contract, spec, type_ids)
    _check_stored_batches(session, contract, spec, {v: k for k, v in type_ids.items()})
    record_event(session, "create" if created else "update", "contract", contract.id, spec.title)
    return contract


def _delete_terms(session: Session, contract_id: int, *, with_batches: bool = False) -> None:
    """Delete a contract's discounts, price lines (with tiers) and schedule, children first."""
    lines = select(PriceLine.id).where(PriceLine.contract_id == contract_id)
    session.exec(delete(PriceTier).where(col(PriceTier.price_line_id).in_(lines)))
    tables: tuple[Any, ...] = (Discount, ScheduleEntry, PriceLine) + (
        (Batch,) if with_batches else ()
    )
    for table in tables:
        session.exec(delete(table).where(table.contract_id == contract_id))


def _replace_terms(
    session: Session, contract: Contract, spec: ContractSpec, type_ids: dict[str, int]
) -> None:
    assert contract.id is not None
    _delete_terms(session, contract.id)
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
    session: Session, contract: Contract, spec: ContractSpec, type_ids: dict[str, int]
) -> None:
    existing = {batch.ref: batch for batch in contract_batches(session, contract.id)}
    for batch_spec in spec.batches:
        assert batch_spec.ref is not None and contract.id is not None
        batch = existing.get(batch_spec.ref) or Batch(
            contract_id=contract.id,
            task_type_id=type_ids[batch_spec.task_type],
            ref=batch_spec.ref,
            week=batch_spec.week,
            delivered_on=batch_spec.delivered_on,
            quantity=batch_spec.quantity,
        )
        batch.sqlmodel_update(
            {
                **batch_spec.model_dump(exclude={"task_type"}),
                "task_type_id": type_ids[batch_spec.task_type],
            }
        )
        session.add(batch)
    session.flush()


def _check_stored_batches(
    session: Session, contract: Contract, spec: ContractSpec, keys: dict[int, str]
) -> None:
    """Batches recorded earlier must still fit the contract's new dates and price lines."""
    for batch in contract_batches(session, contract.id):
        batch_spec = BatchSpec(
            ref=batch.ref,
            task_type=keys.get(batch.task_type_id, f"#{batch.task_type_id}"),
            week=batch.week,
            delivered_on=batch.delivered_on,
            quantity=batch.quantity,
            status=batch.status,
            accepted_quantity=batch.accepted_quantity,
        )
        problems = spec.batch_problems(batch_spec)
        if problems:
            loc, message = problems[0]
            raise InputError(
                f"recorded batch {batch.ref!r} would no longer fit: {message}",
                field=".".join(map(str, loc)),
            )


def delete_contract(session: Session, contract_id: int) -> None:
    contract = get_contract(session, contract_id)
    refuse_if_labelled(
        session,
        [b.id or 0 for b in contract_batches(session, contract_id)],
        f"contract {contract.title!r}",
    )
    _delete_terms(session, contract_id, with_batches=True)
    session.delete(contract)
    record_event(session, "delete", "contract", contract_id, contract.title)


def refuse_if_labelled(session: Session, batch_ids: list[int], what: str) -> None:
    """Labels point at their batch: delete the label sets first, on purpose."""
    if session.exec(select(LabelSet.id).where(col(LabelSet.batch_id).in_(batch_ids))).first():
        raise InputError(f"{what} has imported labels; delete its label sets first")
