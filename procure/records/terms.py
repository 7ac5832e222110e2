"""A contract's terms as a document: ``ContractSpec`` with its price lines and tiers, discounts,
schedule and batches, and the checks that tie them together. It is both the YAML/JSON document a
user keeps in git and the input of the forms: one validation for every surface."""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal
from typing import Any

import yaml
from pydantic import Field, field_validator, model_validator

from procure.documents import Problem, Spec, problems_error
from procure.kinds import BatchStatus, ContractStatus, DiscountKind
from procure.money import check_currency

MAX_UNITS = 10**12  # a count of units a record holds (a 64-bit column, with room to add)


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


class FrozenPriceSpec(Spec):
    """A decided batch's frozen price as a document carries it (``Batch.priced_*``): moved to
    another workspace, a decided batch keeps what it cost."""

    first_unit: int = Field(ge=1)
    units: int = Field(ge=0)
    list_cost: Decimal = Field(ge=0, allow_inf_nan=False)
    cost: Decimal = Field(ge=0, allow_inf_nan=False)
    currency: str
    terms: dict[str, Any] = {}

    _currency = field_validator("currency")(check_currency)


class BatchSpec(Spec):
    ref: str | None = Field(default=None, min_length=1, max_length=120)
    task_type: str = Field(min_length=1)
    week: int = Field(ge=1)
    delivered_on: date
    quantity: int = Field(gt=0, le=MAX_UNITS)
    status: BatchStatus = BatchStatus.received
    accepted_quantity: int | None = Field(default=None, ge=0, le=MAX_UNITS)
    notes: str = ""
    priced: FrozenPriceSpec | None = None

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


AMENDABLE = ("end_date", "committed_budget", "terms", "discounts", "price_lines", "schedule")


class AmendableTerms(Spec):
    """What an amendment may change: a contract version's terms (``ContractVersion.terms``)."""

    end_date: date
    committed_budget: Decimal = Field(ge=0, allow_inf_nan=False)
    terms: TermsSpec = TermsSpec()
    discounts: list[DiscountSpec] = []
    price_lines: list[PriceLineSpec] = []
    schedule: list[ScheduleSpec] = []

    @model_validator(mode="after")
    def _in_canonical_order(self) -> AmendableTerms:
        """The same terms compare equal whatever order a document lists them in."""
        self.price_lines.sort(key=lambda line: line.task_type)
        self.discounts.sort(key=lambda d: (d.kind.value, d.task_type or "", d.percent))
        self.schedule.sort(key=lambda e: (e.week, e.task_type))
        return self


class VersionSpec(AmendableTerms):
    """One version of a contract's terms in a document: from when, and why (``versions``)."""

    effective_from: date
    reason: str = ""

    def amendable(self) -> AmendableTerms:
        return AmendableTerms.model_validate(self.model_dump(include=set(AMENDABLE)))


def _price(amount: Decimal) -> str:
    """A unit price as a person reads it: at least two decimals, every digit kept.

    >>> _price(Decimal("2")), _price(Decimal("1.5")), _price(Decimal("0.0003"))
    ('2.00', '1.50', '0.0003')
    """
    exact = amount.normalize()
    return f"{exact:.2f}" if exact == round(exact, 2) else format(exact, "f")


def _line_text(line: PriceLineSpec) -> str:
    tiers = "".join(f", from unit {t.from_unit:,} {_price(t.unit_price)}" for t in line.tiers)
    return f"{_price(line.unit_price)} per unit{tiers}; {line.quantity:,} units"


def describe_changes(before: AmendableTerms, after: AmendableTerms) -> list[str]:
    """What an amendment changed, one line per change, for the contract's timeline.

    >>> old = AmendableTerms(end_date=date(2026, 1, 31), committed_budget=Decimal(100))
    >>> describe_changes(old, old.model_copy(update={"committed_budget": Decimal(150)}))
    ['budget 100.00 -> 150.00']
    """
    changes = []
    if before.end_date != after.end_date:
        changes.append(f"end date {before.end_date} -> {after.end_date}")
    if before.committed_budget != after.committed_budget:
        changes.append(
            f"budget {_price(before.committed_budget)} -> {_price(after.committed_budget)}"
        )
    if before.terms != after.terms:
        for name, value in after.terms.model_dump().items():
            if getattr(before.terms, name) != value:
                changes.append(f"{name.replace('_', ' ')}: {'yes' if value else 'no'}")
    old_lines = {line.task_type: line for line in before.price_lines}
    new_lines = {line.task_type: line for line in after.price_lines}
    for key in sorted(old_lines.keys() | new_lines.keys()):
        old, new = old_lines.get(key), new_lines.get(key)
        if old == new:
            continue
        if old is None or new is None:
            line = new or old
            assert line is not None
            verb = "added" if old is None else "removed"
            changes.append(f"price line {key} {verb} ({_line_text(line)})")
        else:
            changes.append(f"price line {key}: {_line_text(old)} -> {_line_text(new)}")

    def discounts(terms: AmendableTerms) -> list[str]:
        return sorted(
            f"{d.kind.value} {d.percent}% ({d.task_type or 'all'})" for d in terms.discounts
        )

    if discounts(before) != discounts(after):
        changes.append(
            f"discounts: {', '.join(discounts(before)) or 'none'} -> "
            f"{', '.join(discounts(after)) or 'none'}"
        )

    def plan(terms: AmendableTerms) -> dict[tuple[int, str], int]:
        return {(e.week, e.task_type): e.quantity for e in terms.schedule}

    old_plan, new_plan = plan(before), plan(after)
    for week, key in sorted(old_plan.keys() | new_plan.keys()):
        was, now = old_plan.get((week, key), 0), new_plan.get((week, key), 0)
        if was != now:
            changes.append(f"week {week} {key}: {was:,} -> {now:,} units planned")
    return changes


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
    # The terms' history, oldest first, when the contract was amended: version 1 from the start,
    # the last one equal to the terms above. Written by export; an import adds new versions.
    versions: list[VersionSpec] = []
    notes: str = ""

    _currency = field_validator("currency")(check_currency)

    @property
    def weeks(self) -> int:
        return week_count(self.start_date, self.end_date)

    def amendable(self) -> AmendableTerms:
        return AmendableTerms.model_validate(self.model_dump(include=set(AMENDABLE)))

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
        problems += self.version_problems()
        refs = Counter(batch.ref for batch in self.batches)
        for i, batch in enumerate(self.batches):
            if batch.ref is None:
                problems.append((("batches", i, "ref"), "a batch in a document needs a ref"))
            elif refs[batch.ref] > 1:
                problems.append((("batches", i, "ref"), f"ref {batch.ref!r} is used twice"))
            problems += [(("batches", i, *loc), msg) for loc, msg in self.batch_problems(batch)]
        return problems

    def version_problems(self) -> list[Problem]:
        if not self.versions:
            return []
        if self.versions[0].effective_from != self.start_date:
            return [
                (
                    ("versions", 0, "effective_from"),
                    f"version 1 takes effect when the contract starts, {self.start_date}",
                )
            ]
        for i, (before, after) in enumerate(zip(self.versions, self.versions[1:], strict=False)):
            if after.effective_from <= before.effective_from:
                return [
                    (
                        ("versions", i + 1, "effective_from"),
                        f"expected a date after {before.effective_from} (versions in order)",
                    )
                ]
        if self.versions[-1].amendable() != self.amendable():
            return [
                (
                    ("versions", len(self.versions) - 1),
                    "the last version differs from the contract's terms; change terms by adding "
                    "a version (or with `procure contract amend`)",
                )
            ]
        return []

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
