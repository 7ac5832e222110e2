"""Import and export of workspace documents (YAML or JSON): the same document a user keeps in git.

A document may hold any of: ``reporting_currency``, ``exchange_rates``, ``llm_prices`` (the dated
price table), ``vendors``, ``task_types`` and ``contracts`` (each with its price lines, schedule,
discounts and, optionally, batches).
Everything is validated first and applied in one transaction: all of it, or nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import Field
from sqlmodel import Session, select

from procure.documents import Spec, dump, field_path, line_of, parse_file, validate
from procure.errors import InputError
from procure.records.catalog import (
    list_task_types,
    list_vendors,
    save_task_type,
    save_vendor,
    task_type_by_key,
    vendor_by_name,
)
from procure.records.contracts import contract_spec, get_contract, list_contracts, save_contract
from procure.records.llm_prices import list_prices, save_price
from procure.records.models import Contract, LlmPriceBase, TaskTypeBase, Vendor, VendorBase
from procure.records.terms import ContractSpec, check_contract
from procure.records.workspace import (
    claim_import,
    exchange_rates,
    reporting_currency,
    set_exchange_rate,
    set_reporting_currency,
)

DOCUMENT_VERSION = 1


class RateSpec(Spec):
    currency: str
    rate: Decimal = Field(gt=0, allow_inf_nan=False)
    as_of: date


# The records' own families, with the documents' rules: one validation on every path.
class LlmPriceSpec(LlmPriceBase):
    model_config = {"extra": "forbid", "str_strip_whitespace": True}  # as documents.Spec


class VendorSpec(VendorBase):
    model_config = {"extra": "forbid", "str_strip_whitespace": True}  # as documents.Spec


class TaskTypeSpec(TaskTypeBase):
    model_config = {"extra": "forbid", "str_strip_whitespace": True}  # as documents.Spec


class WorkspaceDocument(Spec):
    version: int = DOCUMENT_VERSION
    reporting_currency: str | None = None
    exchange_rates: list[RateSpec] = []
    llm_prices: list[LlmPriceSpec] = []
    vendors: list[VendorSpec] = []
    task_types: list[TaskTypeSpec] = []
    contracts: list[ContractSpec] = []


@dataclass
class ImportSummary:
    created: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)

    def __str__(self) -> str:
        parts = [f"{n} {kind} created" for kind, n in sorted(self.created.items())]
        parts += [f"{n} {kind} updated" for kind, n in sorted(self.updated.items())]
        return ", ".join(parts) or "nothing to import"


def read_document(content: bytes, filename: str) -> tuple[WorkspaceDocument, Any]:
    """Parse and validate a workspace document; nothing is written."""
    data, tree = parse_file(content, filename, "document")
    return validate_document(data, filename, tree)


def validate_document(data: Any, filename: str, tree: Any = None) -> tuple[WorkspaceDocument, Any]:
    if not isinstance(data, dict):
        raise InputError(
            "expected a document with any of: reporting_currency, exchange_rates, llm_prices, "
            "vendors, task_types, contracts",
            source=filename,
        )
    document = validate(WorkspaceDocument, data, filename, tree)
    if document.version != DOCUMENT_VERSION:
        raise InputError(
            f"document version {document.version} is not supported; expected {DOCUMENT_VERSION}",
            source=filename,
            field="version",
        )
    for i, contract in enumerate(document.contracts):
        check_contract(contract, filename, tree, at=("contracts", i))
    return document, tree


def import_document(
    content: bytes, filename: str, *, session: Session, force: bool = False
) -> ImportSummary:
    """Validate, then apply a workspace document in the caller's transaction (all or nothing).

    Vendors are matched by name, task types by key, contracts by vendor and title, batches by
    ref; matches are updated, the rest created. The same file twice is refused unless ``force``.
    """
    document, tree = read_document(content, filename)
    claim_import(content, "document", filename, force=force, session=session)
    return apply_document(document, filename, tree, session=session)


def apply_document(
    document: WorkspaceDocument, filename: str, tree: Any = None, *, session: Session
) -> ImportSummary:
    """Write a validated document (see ``import_document``)."""
    summary = ImportSummary()

    def note(kind: str, existed: bool) -> None:
        (summary.updated if existed else summary.created)[kind] += 1

    def located(exc: InputError, at: tuple[int | str, ...]) -> InputError:
        loc = (*at, *(exc.field.split(".") if exc.field else ()))
        line = line_of(tree, tuple(int(p) if str(p).isdigit() else p for p in _split(loc)))
        return InputError(exc.reason, source=filename, line=line, field=field_path(_split(loc)))

    if document.reporting_currency:
        set_reporting_currency(document.reporting_currency, session=session)
    for i, rate in enumerate(document.exchange_rates):
        try:
            set_exchange_rate(rate.currency, rate.rate, rate.as_of, session=session)
        except InputError as exc:
            raise located(exc, ("exchange_rates", i)) from None
    for i, price in enumerate(document.llm_prices):
        try:
            save_price(price.model_dump(), session=session)
        except InputError as exc:
            raise located(exc, ("llm_prices", i)) from None
        note("LLM prices", False)
    for i, vendor in enumerate(document.vendors):
        existing = vendor_by_name(vendor.name, session=session)
        try:
            save_vendor(
                vendor.model_dump(), vendor_id=existing.id if existing else None, session=session
            )
        except InputError as exc:
            raise located(exc, ("vendors", i)) from None
        note("vendors", existing is not None)
    for i, task_type in enumerate(document.task_types):
        existing_type = task_type_by_key(task_type.key, session=session)
        try:
            save_task_type(
                task_type.model_dump(),
                task_type_id=existing_type.id if existing_type else None,
                session=session,
            )
        except InputError as exc:
            raise located(exc, ("task_types", i)) from None
        note("task types", existing_type is not None)
    for i, contract in enumerate(document.contracts):
        vendor_row = vendor_by_name(contract.vendor, session=session)
        existed = vendor_row is not None and any(
            c.title == contract.title for c in _contracts_of(vendor_row, session=session)
        )
        try:
            save_contract(contract, source=filename, session=session)
        except InputError as exc:
            raise located(exc, ("contracts", i)) from None
        note("contracts", existed)
    batches = sum(len(contract.batches) for contract in document.contracts)
    if batches:
        summary.created["batches (added or updated by ref)"] = batches
    return summary


def _split(loc: Sequence[int | str]) -> tuple[int | str, ...]:
    """Split dotted/indexed parts (``price_lines[1]``) into path elements."""
    parts: list[int | str] = []
    for part in loc:
        if isinstance(part, int):
            parts.append(part)
            continue
        for piece in str(part).replace("]", "").split("."):
            name, *indexes = piece.split("[")
            if name:
                parts.append(int(name) if name.isdigit() else name)
            parts.extend(int(index) for index in indexes)
    return tuple(parts)


def _contracts_of(vendor: Vendor, *, session: Session) -> list[Contract]:
    return list(session.exec(select(Contract).where(Contract.vendor_id == vendor.id)))


def export_document(
    contract_ids: Sequence[int] | None = None,
    *,
    session: Session,
    with_batches: bool = False,
    fmt: str = "yaml",
) -> str:
    """The workspace (or the chosen contracts, with their vendors and task types) as a document."""
    contracts = (
        [get_contract(cid, session=session) for cid in contract_ids]
        if contract_ids
        else list_contracts(session=session)
    )
    specs = [contract_spec(c, with_batches=with_batches, session=session) for c in contracts]
    vendor_names = {spec.vendor for spec in specs}
    type_keys = {line.task_type for spec in specs for line in spec.price_lines}
    everything = not contract_ids
    document = WorkspaceDocument(
        reporting_currency=reporting_currency(session=session),
        exchange_rates=[
            RateSpec(currency=r.currency, rate=r.rate, as_of=r.as_of)
            for r in exchange_rates(session=session)
        ],
        llm_prices=[
            LlmPriceSpec.model_validate(p.model_dump(exclude={"id"}))
            for p in list_prices(session=session)
        ],
        vendors=[
            VendorSpec.model_validate(v.model_dump(exclude={"id"}))
            for v in list_vendors(session=session)
            if everything or v.name in vendor_names
        ],
        task_types=[
            TaskTypeSpec.model_validate(t.model_dump(exclude={"id"}))
            for t in list_task_types(session=session)
            if everything or t.key in type_keys
        ],
        contracts=specs,
    )
    data = document.model_dump(mode="python", exclude_defaults=False)
    for contract in data["contracts"]:
        if not with_batches:
            contract.pop("batches")
        if not contract["versions"]:
            contract.pop("versions")
        for batch in contract.get("batches", []):
            for optional in ("accepted_quantity", "priced"):
                if batch[optional] is None:
                    batch.pop(optional)
    return dump(data, fmt)
