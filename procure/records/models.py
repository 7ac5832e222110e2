"""SQLModel tables: the system of record.

Each entity has a validating base (the create/update input, checked with ``model_validate``)
and its table class. Enumerations are stored as plain strings, so adding a value needs no
migration on PostgreSQL.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import field_validator, model_validator
from sqlalchemy import JSON, String, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from procure.kinds import (
    PREFERENCE_LABELS,
    BatchEventKind,
    BatchStatus,
    ContractStatus,
    DiscountKind,
    JobStatus,
    LabelKind,
    LabelSource,
    VendorKind,
)
from procure.money import MoneyType, check_amount, check_currency


class StrEnumType(TypeDecorator[StrEnum]):
    """An enumeration stored as its string value and loaded back as the enum member."""

    impl = String(40)
    cache_ok = True

    def __init__(self, enum: type[StrEnum]) -> None:
        super().__init__()
        self.enum = enum

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: Any, dialect: Dialect) -> StrEnum | None:
        return None if value is None else self.enum(value)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _not_blank(value: str) -> str:
    stripped = value.strip()
    if not stripped:
        raise ValueError("must not be empty")
    return stripped


# --- vendors and task types ------------------------------------------------------------------


class VendorBase(SQLModel):
    name: str = Field(max_length=200, unique=True)
    kind: VendorKind = Field(sa_type=StrEnumType(VendorKind))
    contact: str = ""
    notes: str = ""

    _name = field_validator("name")(_not_blank)


class Vendor(VendorBase, table=True):
    id: int | None = Field(default=None, primary_key=True)


TASK_TYPE_KEY = re.compile(r"[a-z0-9][a-z0-9_\-]*")


class TaskTypeBase(SQLModel):
    key: str = Field(max_length=80, unique=True)
    name: str = Field(max_length=200)
    unit: str = Field(max_length=80)
    label_kind: LabelKind = Field(sa_type=StrEnumType(LabelKind))
    labels: list[str] = Field(default_factory=list, sa_type=JSON)
    # Which tied label a tied consensus goes to (first wins); empty: ties are left out.
    tie_break: list[str] = Field(default_factory=list, sa_type=JSON)

    _texts = field_validator("name", "unit")(_not_blank)

    @field_validator("key")
    @classmethod
    def _key(cls, key: str) -> str:
        if not TASK_TYPE_KEY.fullmatch(key):
            raise ValueError(f"expected a key of lower-case letters, digits, _ and -, got {key!r}")
        return key

    @field_validator("labels", "tie_break")
    @classmethod
    def _labels(cls, labels: list[str]) -> list[str]:
        # NFC, as labels in files are compared: "é" typed two ways is one label.
        cleaned = [unicodedata.normalize("NFC", label.strip()) for label in labels if label.strip()]
        repeated = [label for label, count in Counter(cleaned).items() if count > 1]
        if repeated:
            raise ValueError(f"labels repeat: {', '.join(repeated)}")
        return cleaned

    @model_validator(mode="after")
    def _enough_labels(self) -> TaskTypeBase:
        if self.label_kind in (LabelKind.categorical, LabelKind.ordinal) and len(self.labels) < 2:
            raise ValueError(f"a {self.label_kind.value} task type needs at least two labels")
        unknown = [label for label in self.tie_break if label not in self.labels]
        if unknown:
            raise ValueError(
                f"tie-break labels not among the task type's labels: {', '.join(unknown)}"
            )
        labels = set(self.labels)
        if self.label_kind is LabelKind.preference and not {"A", "B"} <= labels <= set(
            PREFERENCE_LABELS
        ):
            raise ValueError(
                "a preference task type's labels are A and B, optionally tie and both_bad; "
                f"got {', '.join(self.labels) or 'none'}"
            )
        if self.label_kind is LabelKind.rating:
            for label in self.labels:
                try:
                    float(label)
                except ValueError:
                    raise ValueError(f"rating labels must be numbers, got {label!r}") from None
        return self


class TaskType(TaskTypeBase, table=True):
    __tablename__ = "task_type"
    id: int | None = Field(default=None, primary_key=True)


# --- contracts -------------------------------------------------------------------------------


class ContractBase(SQLModel):
    vendor_id: int = Field(foreign_key="vendor.id", index=True)
    title: str = Field(max_length=200)
    start_date: date
    end_date: date
    currency: str = Field(max_length=3)
    committed_budget: Decimal = Field(sa_type=MoneyType, ge=0)
    status: ContractStatus = Field(
        default=ContractStatus.draft, sa_type=StrEnumType(ContractStatus)
    )
    open_source_allowed: bool = False
    vendor_may_reuse: bool = False
    exclusive: bool = False
    notes: str = ""

    _title = field_validator("title")(_not_blank)
    _currency = field_validator("currency")(check_currency)

    @model_validator(mode="after")
    def _dates(self) -> ContractBase:
        if self.end_date < self.start_date:
            raise ValueError(
                f"end_date {self.end_date} is before start_date {self.start_date}; "
                "expected an end on or after the start"
            )
        return self


class Contract(ContractBase, table=True):
    __table_args__ = (UniqueConstraint("vendor_id", "title"),)
    id: int | None = Field(default=None, primary_key=True)


class Discount(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    contract_id: int = Field(foreign_key="contract.id", index=True, ondelete="CASCADE")
    kind: DiscountKind = Field(sa_type=StrEnumType(DiscountKind))
    percent: Decimal = Field(sa_type=MoneyType)
    task_type_id: int | None = Field(default=None, foreign_key="task_type.id")


class PriceLine(SQLModel, table=True):
    __tablename__ = "price_line"
    __table_args__ = (UniqueConstraint("contract_id", "task_type_id"),)
    id: int | None = Field(default=None, primary_key=True)
    contract_id: int = Field(foreign_key="contract.id", index=True, ondelete="CASCADE")
    task_type_id: int = Field(foreign_key="task_type.id")
    unit_price: Decimal = Field(sa_type=MoneyType)
    contracted_quantity: int


class PriceTier(SQLModel, table=True):
    """From unit number ``from_unit`` on (1-based, counted over the line's billable units)."""

    __tablename__ = "price_tier"
    id: int | None = Field(default=None, primary_key=True)
    price_line_id: int = Field(foreign_key="price_line.id", index=True, ondelete="CASCADE")
    from_unit: int
    unit_price: Decimal = Field(sa_type=MoneyType)


class ScheduleEntry(SQLModel, table=True):
    __tablename__ = "schedule_entry"
    __table_args__ = (UniqueConstraint("contract_id", "week", "task_type_id"),)
    id: int | None = Field(default=None, primary_key=True)
    contract_id: int = Field(foreign_key="contract.id", index=True, ondelete="CASCADE")
    week: int
    task_type_id: int = Field(foreign_key="task_type.id")
    planned_quantity: int


# --- deliveries ------------------------------------------------------------------------------


class Batch(SQLModel, table=True):
    """A delivered batch. Its labels, when imported, live in the label store (Parquet)."""

    __table_args__ = (UniqueConstraint("contract_id", "ref"),)
    id: int | None = Field(default=None, primary_key=True)
    contract_id: int = Field(foreign_key="contract.id", index=True, ondelete="CASCADE")
    task_type_id: int = Field(foreign_key="task_type.id")
    ref: str = Field(max_length=120)
    week: int
    delivered_on: date
    quantity: int
    status: BatchStatus = Field(default=BatchStatus.received, sa_type=StrEnumType(BatchStatus))
    accepted_quantity: int | None = None
    notes: str = ""
    created_at: datetime = Field(default_factory=utcnow)
    # The priced terms frozen by the batch's decision (accepted, partially accepted or rejected):
    # the units paid for, where they fell on the line's tiers, the cost and the terms used.
    # Nothing edited later changes them; only a new decision, recorded as an event, does.
    priced_units: int | None = None
    priced_first_unit: int | None = None
    priced_list_cost: Decimal | None = Field(default=None, sa_type=MoneyType)
    priced_cost: Decimal | None = Field(default=None, sa_type=MoneyType)
    priced_currency: str | None = Field(default=None, max_length=3)
    priced_terms: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    voided_at: datetime | None = None  # a voided batch drops out of every figure
    void_reason: str = ""

    @property
    def is_frozen(self) -> bool:
        return self.priced_cost is not None


class BatchEvent(SQLModel, table=True):
    """One entry of a batch's history: recorded, decided, edited or voided; with who, when, the
    state before and after, why, and for a decision the acceptance evidence shown at the time."""

    __tablename__ = "batch_event"
    id: int | None = Field(default=None, primary_key=True)
    batch_id: int = Field(foreign_key="batch.id", index=True)
    at: datetime = Field(default_factory=utcnow)
    actor: str = Field(max_length=200)
    kind: BatchEventKind = Field(sa_type=StrEnumType(BatchEventKind))
    before: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    after: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    reason: str = ""
    note: str = ""
    evidence: dict[str, Any] | None = Field(default=None, sa_type=JSON)


class ContractVersion(SQLModel, table=True):
    """A contract's amendable terms from ``effective_from`` on. Version 1 is the contract as
    signed; each amendment adds the next. Units delivered on a day are priced by the version in
    force that day; the contract's price lines, schedule and discounts mirror the newest."""

    __tablename__ = "contract_version"
    __table_args__ = (UniqueConstraint("contract_id", "number"),)
    id: int | None = Field(default=None, primary_key=True)
    contract_id: int = Field(foreign_key="contract.id", index=True)
    number: int
    effective_from: date
    reason: str = ""
    author: str = Field(default="", max_length=200)
    recorded_at: datetime = Field(default_factory=utcnow)
    terms: dict[str, Any] = Field(sa_type=JSON)


class Invoice(SQLModel, table=True):
    """A vendor's invoice for some of a contract's batches, reconciled against their frozen cost.
    Its number is unique among the vendor's live invoices (a voided one's may be entered again)."""

    id: int | None = Field(default=None, primary_key=True)
    contract_id: int = Field(foreign_key="contract.id", index=True)
    number: str = Field(max_length=120)
    issued_on: date
    units: int
    amount: Decimal = Field(sa_type=MoneyType)
    currency: str = Field(max_length=3)
    period_start: date | None = None
    period_end: date | None = None
    paid_on: date | None = None
    notes: str = ""
    recorded_by: str = Field(default="", max_length=200)
    created_at: datetime = Field(default_factory=utcnow)
    voided_at: datetime | None = None
    void_reason: str = ""


class InvoiceBatch(SQLModel, table=True):
    """Which batches an invoice bills (a batch is billed by at most one live invoice)."""

    __tablename__ = "invoice_batch"
    invoice_id: int = Field(foreign_key="invoice.id", primary_key=True)
    batch_id: int = Field(foreign_key="batch.id", primary_key=True, index=True)


# --- labels ----------------------------------------------------------------------------------


class LabelSet(SQLModel, table=True):
    """An immutable Parquet file of labels in the label store, committed after the file is in
    place: a batch's vendor labels, an LLM run, or a gold set."""

    __tablename__ = "label_set"
    __table_args__ = (UniqueConstraint("content_key", "repeat"),)
    id: int | None = Field(default=None, primary_key=True)
    source: LabelSource = Field(sa_type=StrEnumType(LabelSource))
    task_type_id: int = Field(foreign_key="task_type.id", index=True)
    batch_id: int | None = Field(default=None, foreign_key="batch.id", index=True)
    name: str = Field(max_length=200)
    path: str = Field(max_length=400, unique=True)  # relative to the label store
    sha256: str = Field(max_length=64, index=True)
    # The judgements the file holds, whatever its row order or format (``labels.content_key``);
    # with ``repeat`` (0, then 1, 2 .. for each import forced again) unique, so two processes
    # importing one file store it once. Empty for sets imported before procure kept it.
    content_key: str | None = Field(default=None, max_length=64)
    repeat: int = 0
    filename: str = Field(max_length=400)
    rows: int
    items: int
    annotators: int
    created_at: datetime = Field(default_factory=utcnow)
    retired_at: datetime | None = None  # a retired set drops out of every figure; the file stays
    retire_reason: str = ""


class LlmRun(SQLModel, table=True):
    """What produced an LLM label set: model, provider, prompt version, tokens and cost."""

    __tablename__ = "llm_run"
    id: int | None = Field(default=None, primary_key=True)
    label_set_id: int = Field(foreign_key="label_set.id", unique=True, ondelete="CASCADE")
    model: str = Field(max_length=200)
    provider: str = Field(default="", max_length=200)
    prompt_version: str = Field(default="", max_length=200)
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost: Decimal | None = Field(default=None, sa_type=MoneyType)
    currency: str = Field(default="USD", max_length=3)


class Review(SQLModel, table=True):
    """A reviewer's verdict on one item: the correct label, which counts as gold everywhere.
    The newest review of an item wins."""

    id: int | None = Field(default=None, primary_key=True)
    task_type_id: int = Field(foreign_key="task_type.id", index=True)
    item_id: str = Field(max_length=400, index=True)
    label: str = Field(max_length=200)
    reviewer: str = Field(default="", max_length=200)
    note: str = ""
    created_at: datetime = Field(default_factory=utcnow)


class AcceptanceRule(SQLModel, table=True):
    """Accept a batch when the 95% upper bound of its error rate, estimated from reviewed items,
    is at most ``max_error_rate``, with at least ``min_reviewed`` reviewed items."""

    __tablename__ = "acceptance_rule"
    __table_args__ = (UniqueConstraint("contract_id", "task_type_id"),)
    id: int | None = Field(default=None, primary_key=True)
    contract_id: int = Field(foreign_key="contract.id", index=True, ondelete="CASCADE")
    task_type_id: int = Field(foreign_key="task_type.id")
    max_error_rate: Decimal = Field(sa_type=MoneyType)
    min_reviewed: int = 30


class LlmPriceBase(SQLModel):
    """A model's list price per million tokens, with the date it was read (prices change)."""

    model: str = Field(max_length=200, unique=True)
    provider: str = Field(default="", max_length=200)
    currency: str = Field(default="USD", max_length=3)
    price_in_per_mtok: Decimal = Field(sa_type=MoneyType, ge=0)
    price_out_per_mtok: Decimal = Field(sa_type=MoneyType, ge=0)
    batch_discount: Decimal = Field(default=Decimal(0), sa_type=MoneyType, ge=0, le=1)
    read_on: date
    source: str = ""

    _model = field_validator("model")(_not_blank)
    _currency = field_validator("currency")(check_currency)

    _amounts = field_validator("price_in_per_mtok", "price_out_per_mtok", "batch_discount")(
        check_amount
    )


class LlmPrice(LlmPriceBase, table=True):
    __tablename__ = "llm_price"
    id: int | None = Field(default=None, primary_key=True)


class PromptTemplate(SQLModel, table=True):
    """A task type's labelling prompt; the version is recorded with every run that used it."""

    __tablename__ = "prompt_template"
    __table_args__ = (UniqueConstraint("task_type_id", "version"),)
    id: int | None = Field(default=None, primary_key=True)
    task_type_id: int = Field(foreign_key="task_type.id", index=True)
    version: str = Field(max_length=80)
    instructions: str
    few_shot: int = 0  # examples drawn from gold items with text
    created_at: datetime = Field(default_factory=utcnow)


class LlmJob(SQLModel, table=True):
    """One LLM labelling run: its settings, progress and accounting. The answers are kept in a
    journal file beside the label store until the run is stored as an LLM run."""

    __tablename__ = "llm_job"
    id: int | None = Field(default=None, primary_key=True)
    task_type_id: int = Field(foreign_key="task_type.id", index=True)
    batch_id: int | None = Field(default=None, foreign_key="batch.id")
    items_source: str = Field(max_length=400)  # "batch N" or the items file's sha256
    items_name: str = Field(default="", max_length=400)  # the items file's name, as uploaded
    model: str = Field(max_length=200)
    provider: str = Field(default="", max_length=200)
    base_url: str = Field(default="", max_length=400)
    prompt_version: str = Field(max_length=80)
    status: JobStatus = Field(default=JobStatus.running, sa_type=StrEnumType(JobStatus))
    # While the job runs: a digest of what it labels (task type, items, model, prompt, endpoint),
    # unique, so a second start of the same job (another process) is refused by the database.
    running_key: str | None = Field(default=None, max_length=64, unique=True)
    message: str = ""
    items: int = 0
    done: int = 0
    invalid: int = 0
    failed: int = 0
    retries: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    currency: str = Field(default="USD", max_length=3)
    spent: Decimal = Field(default=Decimal(0), sa_type=MoneyType)
    budget: Decimal | None = Field(default=None, sa_type=MoneyType)
    estimated_cost: Decimal = Field(default=Decimal(0), sa_type=MoneyType)
    estimated_input_tokens: int = 0
    label_set_id: int | None = Field(default=None, foreign_key="label_set.id")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


# --- workspace -------------------------------------------------------------------------------


class ExchangeRate(SQLModel, table=True):
    """``rate`` units of the workspace's reporting currency buy one unit of ``currency``."""

    __tablename__ = "exchange_rate"
    currency: str = Field(primary_key=True, max_length=3)
    rate: Decimal = Field(sa_type=MoneyType)
    as_of: date


class WorkspaceSetting(SQLModel, table=True):
    __tablename__ = "workspace_setting"
    key: str = Field(primary_key=True, max_length=80)
    value: str


class ImportedFile(SQLModel, table=True):
    """Every imported file by content hash, so the same file is not imported twice."""

    __tablename__ = "imported_file"
    id: int | None = Field(default=None, primary_key=True)
    sha256: str = Field(max_length=64, index=True)
    kind: str = Field(max_length=40)
    filename: str
    imported_at: datetime = Field(default_factory=utcnow)


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow)
    action: str = Field(max_length=40)
    entity: str = Field(max_length=40)
    entity_id: str = Field(max_length=200)  # as long as the longest key (a model's name)
    detail: str = ""
