"""A contract's terms over time: version 1 as signed, one more per amendment, each in force from
its effective date. Units delivered on a day are priced by the version in force that day."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import Session, col, select

from procure.config import local_user
from procure.errors import InputError
from procure.kinds import DiscountKind
from procure.records.models import Contract, ContractVersion
from procure.records.pricing import DiscountRule, PriceSchedule, Tier
from procure.records.terms import AmendableTerms, VersionSpec, describe_changes
from procure.records.workspace import record_event


@dataclass(frozen=True)
class Amendment:
    """How a change of terms is recorded: from which day, and why."""

    effective_from: date
    reason: str


@dataclass(frozen=True)
class VersionView:
    """One step of a contract's amendment timeline, with what it changed."""

    number: int
    effective_from: date
    reason: str
    author: str
    recorded_at: datetime
    changes: tuple[str, ...]


def contract_versions(contract_id: int | None, *, session: Session) -> list[ContractVersion]:
    return list(
        session.exec(
            select(ContractVersion)
            .where(ContractVersion.contract_id == contract_id)
            .order_by(col(ContractVersion.number))
        )
    )


def terms_of(version: ContractVersion) -> AmendableTerms:
    return AmendableTerms.model_validate(version.terms)


def in_force(versions: list[ContractVersion], day: date) -> ContractVersion:
    """The version in force on ``day``: the newest effective on or before it (the first version
    for a day before every effective date)."""
    current = versions[0]
    for version in versions:
        if version.effective_from <= day:
            current = version
    return current


def line_terms(
    terms: AmendableTerms, task_type: str
) -> tuple[PriceSchedule, tuple[DiscountRule, ...]] | None:
    """A task type's price schedule and applicable discounts under ``terms`` (``None`` when the
    terms have no price line for it)."""
    line = next((line for line in terms.price_lines if line.task_type == task_type), None)
    if line is None:
        return None
    schedule = PriceSchedule(
        line.unit_price, tuple(Tier(t.from_unit, t.unit_price) for t in line.tiers)
    )
    discounts = tuple(
        DiscountRule(DiscountKind(d.kind), d.percent)
        for d in terms.discounts
        if d.task_type in (None, task_type)
    )
    return schedule, discounts


def terms_for(
    versions: list[ContractVersion], task_type: str, delivered_on: date
) -> tuple[ContractVersion, PriceSchedule, tuple[DiscountRule, ...]]:
    """The version in force on a delivery day, with its price line for ``task_type``; an
    ``InputError`` when that version prices no such line."""
    version = in_force(versions, delivered_on)
    terms = line_terms(terms_of(version), task_type)
    if terms is None:
        raise InputError(
            f"on {delivered_on} the contract (version {version.number}, effective from "
            f"{version.effective_from}) has no price line for task type {task_type!r}",
            field="task_type",
        )
    return version, *terms


def record_terms(
    contract: Contract,
    terms: AmendableTerms,
    *,
    session: Session,
    amendment: Amendment | None,
    decided: Sequence[tuple[str, str, date]],
) -> ContractVersion | None:
    """Keep the version history in step with a save of ``contract``'s terms.

    A new contract gets version 1. Changed terms become a new version with ``amendment``. Without
    one they replace version 1 in place while nothing relies on it; once a batch is decided
    (``decided``: ref, task type and delivery day of each) or the contract was amended, that is
    refused with how to amend. An amendment may not reach back over a decided batch's price line,
    nor change the plan of weeks already due. Returns the version written, if any.
    """
    versions = contract_versions(contract.id, session=session)
    document = terms.model_dump(mode="json")
    if not versions:
        first = ContractVersion(
            contract_id=contract.id or 0,
            number=1,
            effective_from=contract.start_date,
            reason=amendment.reason if amendment else "as signed",
            author=local_user(),
            terms=document,
        )
        session.add(first)
        return first
    latest = versions[-1]
    if terms_of(latest) == terms:
        if amendment is not None:
            raise InputError("the amendment changes none of the terms", field="amendment")
        return None
    if amendment is None:
        if decided or len(versions) > 1:
            relied = (
                "decided batches whose cost relies on" if decided else "an amendment history of"
            )
            raise InputError(
                f"contract {contract.title!r} has {relied} its terms; "
                "change them through an amendment with an effective date and a reason (in the "
                "app: 'Effective from' and 'Reason' in the contract form; on the command line: "
                f"procure contract amend {contract.id} FILE --effective YYYY-MM-DD --reason TEXT)",
                field="amendment",
            )
        latest.terms = document
        session.add(latest)
        return latest
    reason = amendment.reason.strip()
    if not reason:
        raise InputError("an amendment needs a reason", field="reason")
    if amendment.effective_from <= latest.effective_from:
        raise InputError(
            f"an amendment takes effect after the version in force now (version "
            f"{latest.number}, effective from {latest.effective_from}); got "
            f"{amendment.effective_from}",
            field="effective_from",
        )
    if not contract.start_date <= amendment.effective_from <= terms.end_date:
        raise InputError(
            f"effective from {amendment.effective_from} is outside the contract "
            f"({contract.start_date} to {terms.end_date})",
            field="effective_from",
        )
    _check_reach(contract, terms_of(latest), terms, amendment.effective_from, decided)
    version = ContractVersion(
        contract_id=contract.id or 0,
        number=latest.number + 1,
        effective_from=amendment.effective_from,
        reason=reason,
        author=local_user(),
        terms=document,
    )
    session.add(version)
    session.flush()
    changes = describe_changes(terms_of(latest), terms)
    record_event(
        "amend",
        "contract",
        contract.id,
        f"version {version.number} from {version.effective_from}: {'; '.join(changes)}",
        session=session,
    )
    return version


def add_versions(
    contract: Contract,
    versions: list[VersionSpec],
    *,
    decided: Sequence[tuple[str, str, date]],
    session: Session,
) -> None:
    """Keep a document's version history: the recorded versions must be its first ones (history
    is never rewritten, nor left behind); the ones after them are added as amendments."""
    stored = contract_versions(contract.id, session=session)
    if len(versions) < len(stored):
        raise InputError(
            f"the document holds {len(versions)} versions of the contract's terms, the workspace "
            f"{len(stored)}; export the contract again to edit its newest terms",
            field="versions",
        )
    for i, version in enumerate(versions):
        terms = version.amendable()
        if i < len(stored):
            if (stored[i].effective_from, terms_of(stored[i])) != (version.effective_from, terms):
                raise InputError(
                    f"version {i + 1} differs from the one recorded (effective from "
                    f"{stored[i].effective_from}); amendments are added, never rewritten",
                    field=f"versions[{i}]",
                )
            continue
        amendment = Amendment(version.effective_from, version.reason) if i else None
        written = record_terms(
            contract, terms, amendment=amendment, decided=decided, session=session
        )
        if written is not None and i == 0 and version.reason:
            written.reason = version.reason
        session.flush()


def _check_reach(
    contract: Contract,
    before: AmendableTerms,
    after: AmendableTerms,
    effective_from: date,
    decided: Sequence[tuple[str, str, date]],
) -> None:
    """An amendment changes what is to come: not the price of a batch decided under the terms
    in force on its delivery day, nor the plan of a week already due."""
    for ref, task_type, delivered_on in decided:
        if delivered_on >= effective_from and line_terms(before, task_type) != line_terms(
            after, task_type
        ):
            raise InputError(
                f"batch {ref!r}, delivered on {delivered_on}, was decided under the {task_type} "
                f"price line then in force; an amendment of that line takes effect after "
                f"{delivered_on} (or reopen the batch for review first)",
                field="effective_from",
            )
    old_plan = {(e.week, e.task_type): e.quantity for e in before.schedule}
    new_plan = {(e.week, e.task_type): e.quantity for e in after.schedule}
    for week, task_type in sorted(old_plan.keys() | new_plan.keys()):
        due = min(contract.start_date + timedelta(days=7 * week - 1), before.end_date)
        if due < effective_from and old_plan.get((week, task_type)) != new_plan.get(
            (week, task_type)
        ):
            raise InputError(
                f"week {week} of {task_type} was due on {due}, before the amendment takes "
                "effect; the plan of a week already due is evidence and stays as it was",
                field="schedule",
            )


def amendment_timeline(contract_id: int, *, session: Session) -> list[VersionView]:
    """The contract's versions, oldest first, each with what it changed from the one before."""
    versions = contract_versions(contract_id, session=session)
    timeline = []
    for before, version in zip([None, *versions], versions, strict=False):
        changes = (
            ("the terms as signed",)
            if before is None
            else tuple(describe_changes(terms_of(before), terms_of(version)))
        )
        timeline.append(
            VersionView(
                number=version.number,
                effective_from=version.effective_from,
                reason=version.reason,
                author=version.author,
                recorded_at=version.recorded_at,
                changes=changes,
            )
        )
    return timeline
