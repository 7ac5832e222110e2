"""The workspace: its folder, schema, settings, exchange rates and audit trail."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, select

from procure import db, workfiles
from procure.config import Settings
from procure.errors import AlreadyImportedError, InputError, NotFoundError
from procure.money import check_currency
from procure.records.fx import RateTable
from procure.records.models import (
    AuditEvent,
    Contract,
    ExchangeRate,
    ImportedFile,
    Vendor,
    WorkspaceSetting,
    utcnow,
)

REPORTING_CURRENCY = "reporting_currency"
DEFAULT_REPORTING_CURRENCY = "USD"


@dataclass(frozen=True)
class Workspace:
    settings: Settings
    engine: Engine


def workspace_exists(settings: Settings) -> bool:
    """True when the workspace's database has a schema (any migration applied)."""
    if settings.database_url is None and not settings.sqlite_path.exists():
        return False
    engine = db.make_engine(settings)
    try:
        return db.check_schema(engine, settings.database_label) is not None
    finally:
        engine.dispose()


def open_workspace(settings: Settings, *, create: bool = True) -> Workspace:
    """Open the workspace that ``settings`` names; with ``create``, create or upgrade it first.

    Without ``create`` a missing or outdated workspace is an ``InputError`` saying what to run.
    """
    if not create and not workspace_exists(settings):
        raise InputError(
            f"no procure workspace at {settings.database_label}; run `procure init` first"
        )
    engine = db.make_engine(settings)
    try:
        if db.check_schema(engine, settings.database_label) != db.HEAD_REVISION:
            if not create:
                raise InputError(
                    "the workspace schema is out of date; run `procure init` to upgrade it"
                )
            db.upgrade(engine)
    except BaseException:
        engine.dispose()
        raise
    workfiles.make_private_folder(settings.label_store)
    workfiles.sweep(settings.label_store)  # what writers killed before they finished left
    return Workspace(settings, engine)


def is_empty(*, session: Session) -> bool:
    return session.exec(select(Contract.id).limit(1)).first() is None


def record_event(
    action: str, entity: str, entity_id: object, detail: str = "", *, session: Session
) -> None:
    session.add(AuditEvent(action=action, entity=entity, entity_id=str(entity_id), detail=detail))


VOID = ("voiding", "voided", "voided_at", "void_reason")
RETIRE = ("retiring", "retired", "retired_at", "retire_reason")


def withdraw(record: Any, reason: str, *, what: str, noun: str, how: tuple[str, ...] = VOID) -> str:
    """Take ``record`` out of every figure with its reason (``VOID`` or ``RETIRE``: the words and
    the two fields that say so); it stays on record, nothing is deleted. Returns the reason."""
    doing, done, at, why = how
    if getattr(record, at) is not None:
        raise InputError(f"{what} is already {done}")
    kept = reason.strip()
    if not kept:
        raise InputError(f"{doing} {noun} needs a reason", field="reason")
    setattr(record, at, utcnow())
    setattr(record, why, kept)
    return kept


def lock_contract(contract_id: int, *, session: Session, vendor: bool = False) -> Contract:
    """The contract (and with ``vendor`` its vendor) locked until the transaction ends, read
    afresh: two writers cannot both take the next batch ref, tier position or invoice of one
    contract (an invoice number is the vendor's). PostgreSQL locks the rows; on SQLite every
    writer holds the database's write lock from its first statement already."""
    contract = session.exec(
        select(Contract)
        .where(Contract.id == contract_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if contract is None:
        raise NotFoundError(f"no contract with id {contract_id}")
    if vendor:
        session.exec(select(Vendor.id).where(Vendor.id == contract.vendor_id).with_for_update())
    return contract


def data_version(*, session: Session) -> int:
    """Grows with every recorded change (each write records an audit event): a cache key."""
    from sqlalchemy import func

    newest = session.exec(select(func.max(AuditEvent.id))).one()
    return newest or 0


# --- settings and exchange rates -------------------------------------------------------------


def reporting_currency(*, session: Session) -> str:
    setting = session.get(WorkspaceSetting, REPORTING_CURRENCY)
    return setting.value if setting else DEFAULT_REPORTING_CURRENCY


def set_reporting_currency(currency: str, *, session: Session) -> str:
    """Change the reporting currency. Rates are relative to it, so a change removes them all."""
    try:
        code = check_currency(currency)
    except ValueError as exc:
        raise InputError(str(exc), field="reporting_currency") from None
    if code != reporting_currency(session=session):
        for row in exchange_rates(session=session):
            session.delete(row)
    setting = session.get(WorkspaceSetting, REPORTING_CURRENCY) or WorkspaceSetting(
        key=REPORTING_CURRENCY, value=code
    )
    setting.value = code
    session.add(setting)
    record_event("set", "setting", REPORTING_CURRENCY, code, session=session)
    return code


def set_exchange_rate(
    currency: str, rate: Decimal | str, as_of: date, *, session: Session
) -> ExchangeRate:
    """Record that one unit of ``currency`` is worth ``rate`` units of the reporting currency."""
    try:
        code = check_currency(currency)
    except ValueError as exc:
        raise InputError(str(exc), field="currency") from None
    try:
        rate = Decimal(str(rate).strip())
    except InvalidOperation:
        raise InputError(f"expected a decimal number, got {rate!r}", field="rate") from None
    if not rate.is_finite() or rate <= 0:
        raise InputError(f"expected a rate greater than 0, got {rate}", field="rate")
    if code == reporting_currency(session=session):
        raise InputError(
            f"{code} is the reporting currency; its rate is always 1", field="currency"
        )
    row = session.get(ExchangeRate, code) or ExchangeRate(currency=code, rate=rate, as_of=as_of)
    row.rate, row.as_of = rate, as_of
    session.add(row)
    record_event("set", "exchange_rate", code, f"{rate} as of {as_of}", session=session)
    return row


def delete_exchange_rate(currency: str, *, session: Session) -> None:
    row = session.get(ExchangeRate, currency)
    if row is not None:
        session.delete(row)
        record_event("delete", "exchange_rate", currency, session=session)


def exchange_rates(*, session: Session) -> list[ExchangeRate]:
    return list(session.exec(select(ExchangeRate).order_by(ExchangeRate.currency)))


def rate_table(*, session: Session) -> RateTable:
    rates = {row.currency: row.rate for row in exchange_rates(session=session)}
    return RateTable(reporting_currency(session=session), rates)


# --- imported files --------------------------------------------------------------------------


def sha256_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def claim_import(
    content: bytes, kind: str, filename: str, *, session: Session, force: bool
) -> None:
    """Record an import of ``content``; refuse a file imported before unless ``force``."""
    digest = sha256_of(content)
    earlier = session.exec(
        select(ImportedFile).where(ImportedFile.sha256 == digest, ImportedFile.kind == kind)
    ).first()
    if earlier is not None and not force:
        raise AlreadyImportedError(
            f"this file was already imported on {earlier.imported_at:%Y-%m-%d %H:%M} UTC "
            f"as {earlier.filename!r}; import it again with --force (or 'Import anyway')",
            source=filename,
        )
    session.add(ImportedFile(sha256=digest, kind=kind, filename=filename))
