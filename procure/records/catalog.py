"""Vendors and task types."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from procure.documents import validate
from procure.errors import InputError, NotFoundError
from procure.records.models import Contract, PriceLine, TaskType, TaskTypeBase, Vendor, VendorBase
from procure.records.workspace import record_event


def list_vendors(*, session: Session) -> list[Vendor]:
    return list(session.exec(select(Vendor).order_by(col(Vendor.name))))


def list_task_types(*, session: Session) -> list[TaskType]:
    return list(session.exec(select(TaskType).order_by(col(TaskType.key))))


def vendor_by_name(name: str, *, session: Session) -> Vendor | None:
    return session.exec(select(Vendor).where(Vendor.name == name.strip())).first()


def task_type_by_key(key: str, *, session: Session) -> TaskType | None:
    return session.exec(select(TaskType).where(TaskType.key == key.strip())).first()


def get_task_type(key: str, *, session: Session) -> TaskType:
    """The task type with ``key``; a ``NotFoundError`` naming it if there is none."""
    task_type = task_type_by_key(key, session=session)
    if task_type is None:
        raise NotFoundError(f"no task type {key!r}", field="task type")
    return task_type


def get_vendor(vendor_id: int, *, session: Session) -> Vendor:
    vendor = session.get(Vendor, vendor_id)
    if vendor is None:
        raise NotFoundError(f"no vendor with id {vendor_id}")
    return vendor


def save_vendor(
    data: dict[str, Any] | VendorBase, *, session: Session, vendor_id: int | None = None
) -> Vendor:
    """Create a vendor, or update the one with ``vendor_id`` (names are unique)."""
    spec = validate(VendorBase, data if isinstance(data, dict) else data.model_dump(), "vendor")
    same_name = vendor_by_name(spec.name, session=session)
    if same_name is not None and same_name.id != vendor_id:
        raise InputError(f"a vendor named {spec.name!r} exists already", field="name")
    vendor = (
        get_vendor(vendor_id, session=session)
        if vendor_id is not None
        else Vendor.model_validate(spec)
    )
    vendor.sqlmodel_update(spec.model_dump())
    session.add(vendor)
    session.flush()
    record_event(
        "update" if vendor_id else "create", "vendor", vendor.id, vendor.name, session=session
    )
    return vendor


def delete_vendor(vendor_id: int, *, session: Session) -> None:
    vendor = get_vendor(vendor_id, session=session)
    if session.exec(select(Contract.id).where(Contract.vendor_id == vendor_id)).first():
        raise InputError(f"vendor {vendor.name!r} has contracts; delete those first")
    session.delete(vendor)
    record_event("delete", "vendor", vendor_id, vendor.name, session=session)


def save_task_type(
    data: dict[str, Any] | TaskTypeBase, *, session: Session, task_type_id: int | None = None
) -> TaskType:
    """Create a task type, or update the one with ``task_type_id`` (keys are unique)."""
    raw = data if isinstance(data, dict) else data.model_dump()
    spec = validate(TaskTypeBase, raw, "task type")
    same_key = task_type_by_key(spec.key, session=session)
    if same_key is not None and same_key.id != task_type_id:
        raise InputError(f"a task type with key {spec.key!r} exists already", field="key")
    if task_type_id is not None:
        task_type = session.get(TaskType, task_type_id)
        if task_type is None:
            raise NotFoundError(f"no task type with id {task_type_id}")
        if "tie_break" not in raw:  # a form without the order keeps it (less removed labels)
            kept = [label for label in task_type.tie_break if label in spec.labels]
            spec = spec.model_copy(update={"tie_break": kept})
    else:
        task_type = TaskType.model_validate(spec)
    task_type.sqlmodel_update(spec.model_dump())
    session.add(task_type)
    session.flush()
    record_event(
        "update" if task_type_id else "create", "task_type", task_type.id, spec.key, session=session
    )
    return task_type


def set_tie_break(key: str, tie_break: list[str], *, session: Session) -> TaskType:
    """Set which tied label a task type's tied consensus goes to (first wins); an empty order
    leaves ties out of the consensus comparisons. Figures already decided on keep their record."""
    task_type = get_task_type(key, session=session)
    spec = validate(TaskTypeBase, {**task_type.model_dump(), "tie_break": tie_break}, "task type")
    task_type.tie_break = spec.tie_break
    session.add(task_type)
    session.flush()
    record_event(
        "update",
        "task_type",
        task_type.id,
        f"{key}: tie-break {', '.join(spec.tie_break) or 'none (ties left out)'}",
        session=session,
    )
    return task_type


def delete_task_type(task_type_id: int, *, session: Session) -> None:
    task_type = session.get(TaskType, task_type_id)
    if task_type is None:
        raise NotFoundError(f"no task type with id {task_type_id}")
    if session.exec(select(PriceLine.id).where(PriceLine.task_type_id == task_type_id)).first():
        raise InputError(
            f"task type {task_type.key!r} is priced in a contract; remove it there first"
        )
    session.delete(task_type)
    record_event("delete", "task_type", task_type_id, task_type.key, session=session)
