"""The economics model's inputs measured from the workspace, each marked measured or assumed.

For a task type:

- one human strategy per committed contract with a price line for it: the **effective unit
  price** is the priced cost of its batches (tiers and discounts applied) over their billable
  units, or the line's list price before any batch, converted to the reporting currency; the
  **acceptance rate** is accepted over delivered units of its decided batches (the contracts do
  not pay for rejected units, so ``pays_rejected`` is false); the **accuracy** is the share of
  its items whose vendor consensus equals gold (gold files and reviews);
- one LLM strategy per model, measured from the run the user chooses (``llm_runs``) or by
  default the model's run with the most gold items, the newest among equals: a run on
  unrelated items does not replace a measured accuracy. **tokens per item** from the run's
  recorded usage, **prices** from the dated price table (or, without a price, the recorded cost per
  item), **accuracy** against gold;
- hybrids of the most accurate LLM with the cheapest vendor per correct label: humans review a
  10% sample; humans relabel the 20% least confident LLM items, with the **share of LLM errors**
  that falls there measured from the run's confidence against gold.

What cannot be measured is assumed and said so: an internal reviewer costs 50 an hour (in the
reporting currency) and spends 30 seconds per item, spot-checking 5% of vendor deliveries; a
validation set has 500 items (Pangakis et al. 2023 recommend 250 to 1,250); the target volume
is the task type's contracted units.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from procure.delivery.portfolio import build_report
from procure.economics.scenario import Scenario
from procure.errors import InputError
from procure.kinds import BatchStatus
from procure.labels.selection import select_labels
from procure.quality.acceptance import error_capture, gold_matches
from procure.quality.results import GoldMatches
from procure.records.catalog import get_task_type
from procure.records.fx import RateTable
from procure.records.llm_prices import is_stale, price_for
from procure.records.models import LabelSet, LlmRun, PriceLine, TaskType
from procure.records.pricing import PENDING, accepted_units

ASSUMED: dict[str, Any] = {
    "hourly_rate": Decimal(50),
    "review_seconds_per_item": Decimal(30),
    "validation_items": 500,
    "vendor_review_share": Decimal("0.05"),
    "vendor_accuracy": Decimal("0.9"),
    "llm_accuracy": Decimal("0.8"),
    "volume": 10_000,
}
REVIEW_SAMPLE = Decimal("0.1")
RELABEL_SHARE = Decimal("0.2")


@dataclass(frozen=True)
class Provenance:
    input: str
    value: str
    measured: bool
    note: str


@dataclass(frozen=True)
class MeasuredRun:
    """An LLM run the economics model can measure a model from: its labels against gold,
    whether its cost is known, and whether it is used."""

    label_set_id: int
    model: str
    prompt_version: str
    imported_at: datetime
    gold: GoldMatches
    costable: bool
    used: bool

    @property
    def title(self) -> str:
        prompt = f", prompt {self.prompt_version}" if self.prompt_version else ""
        cost = "" if self.costable else "; no price or recorded cost"
        return (
            f"LLM run {self.label_set_id} ({self.model}{prompt}, {self.imported_at:%Y-%m-%d}): "
            f"{self.gold.items:,} gold items{cost}"
        )


@dataclass
class Measured:
    scenario: Scenario
    inputs: list[Provenance] = field(default_factory=list)
    llm_runs: list[MeasuredRun] = field(default_factory=list)  # those measured, in id order


def _share(numerator: int, denominator: int) -> Decimal:
    return Decimal(numerator) / Decimal(denominator)


Note = Callable[[str, Any, bool, str], Any]  # records where an input came from, returns it


def _accuracy(
    strategy: dict[str, Any], note: Note, matches: GoldMatches, whose: str, assumed: Decimal
) -> None:
    """The share of gold items where ``whose`` label equals gold (with n for the bands), or the
    assumption when there is no gold, or none right (a cost per correct label needs q > 0). An
    item left tied is not a correct label: it counts in n, not in the matches."""
    name = f"{strategy['name']}: accuracy"
    ties = f" ({matches.tied:,} left tied, counted as wrong)" if matches.tied else ""
    if matches.items and matches.matches:
        strategy["accuracy"] = note(
            name,
            _share(matches.matches, matches.items),
            True,
            f"{whose} equals gold on {matches.matches:,} of {matches.items:,} items{ties}",
        )
        strategy["accuracy_n"] = matches.items
    else:
        why = (
            f"0 of {matches.items:,} gold items right{ties}"
            if matches.items
            else "no gold or reviewed items"
        )
        strategy["accuracy"] = note(name, assumed, False, why)


def measured_scenario(
    store: Path,
    task_type_key: str,
    as_of: date,
    *,
    session: Session,
    llm_runs: tuple[int, ...] = (),
) -> Measured:
    """A scenario for ``task_type_key`` built from the workspace (see the module docstring)."""
    task_type = get_task_type(task_type_key, session=session)
    inputs: list[Provenance] = []

    def note(name: str, value: Any, measured: bool, why: str) -> Any:  # a Note
        inputs.append(Provenance(name, str(value), measured, why))
        return value

    report = build_report(as_of, session=session)
    rates, currency = report.rates, report.currency
    humans: list[dict[str, Any]] = []
    contracted = 0
    for contract in report.committed:
        lines = [
            line
            for line in contract.spend.batches
            if line.task_type == task_type.key and not line.pending
        ]
        price_line = next(
            (
                line
                for line in _price_lines(contract.contract.id or 0, session=session)
                if line.task_type_id == task_type.id
            ),
            None,
        )
        if price_line is None:
            continue
        contracted += price_line.contracted_quantity
        name = contract.vendor.name
        if any(h["name"] == name for h in humans):
            name = contract.label
        units = sum(b.billable_units for b in lines)
        rate = rates.rate(contract.contract.currency)
        fx = "" if rate == 1 else f", {contract.contract.currency} at {rate}"
        if units:
            price = sum((b.cost for b in lines), Decimal(0)) / units * rate
            why = f"paid for {units:,} accepted units (tiers and discounts applied{fx})"
        else:
            price = price_line.unit_price * rate
            why = f"list price of the contract; no accepted units yet{fx}"
        human: dict[str, Any] = {
            "name": name,
            "kind": "human",
            "pays_rejected": False,
            "unit_price": note(f"{name}: unit_price", price, True, why),
        }
        decided = [
            b
            for b in contract.batches
            if b.task_type_id == task_type.id and BatchStatus(b.status) not in PENDING
        ]
        delivered = sum(b.quantity for b in decided)
        if delivered:
            accepted = sum(
                accepted_units(BatchStatus(b.status), b.quantity, b.accepted_quantity)
                for b in decided
            )
            human["acceptance_rate"] = note(
                f"{name}: acceptance_rate",
                max(_share(accepted, delivered), Decimal("0.001")),
                True,
                f"{accepted:,} of {delivered:,} units accepted in {len(decided)} decided batches",
            )
            human["acceptance_n"] = delivered
        else:
            human["acceptance_rate"] = note(
                f"{name}: acceptance_rate", Decimal(1), False, "no decided batch yet"
            )
        batch_ids = [
            b.id or 0
            for b in contract.batches
            if b.task_type_id == task_type.id and b.voided_at is None
        ]
        selection = select_labels(
            task_type.key, batch_ids=batch_ids, store=store, with_llm=False, session=session
        )
        matches = (
            gold_matches(store, selection, "vendor", session=session)
            if selection.vendor
            else GoldMatches(0, 0, 0)
        )
        _accuracy(human, note, matches, "vendor consensus", ASSUMED["vendor_accuracy"])
        human["review_share"] = note(
            f"{name}: review_share",
            ASSUMED["vendor_review_share"],
            False,
            "share of delivered units spot-checked in-house",
        )
        humans.append(human)

    runs, measured_runs = _llm_strategies(
        store, task_type, rates, note, llm_runs, as_of, session=session
    )
    llms = [strategy for strategy, _ in runs]
    strategies = humans + llms
    if not strategies:
        raise InputError(
            f"task type {task_type.key!r} has no committed contract with a price line and no LLM "
            "run; add one of them first"
        )
    if humans and llms:
        strategies += _hybrids(store, task_type, humans, runs, note, session=session)
    volume = contracted or ASSUMED["volume"]
    note(
        "volume",
        volume,
        bool(contracted),
        "contracted units of this task type" if contracted else "no contracted units",
    )
    scenario = Scenario.model_validate(
        {
            "volume": volume,
            "currency": currency,
            "hourly_rate": note(
                "hourly_rate", ASSUMED["hourly_rate"], False, "internal reviewer cost per hour"
            ),
            "review_seconds_per_item": note(
                "review_seconds_per_item",
                ASSUMED["review_seconds_per_item"],
                False,
                "time to review one item in-house",
            ),
            "validation_items": note(
                "validation_items",
                ASSUMED["validation_items"] if llms else 0,
                False,
                "human-labelled items needed to trust LLM labels (Pangakis et al. 2023: 250-1,250)",
            ),
            "strategies": strategies,
        }
    )
    return Measured(scenario, inputs, measured_runs)


def _price_lines(contract_id: int, *, session: Session) -> list[PriceLine]:
    return list(session.exec(select(PriceLine).where(PriceLine.contract_id == contract_id)))


def _runs_measured(
    store: Path, task_type: TaskType, chosen: tuple[int, ...], *, session: Session
) -> list[tuple[LlmRun, LabelSet, MeasuredRun]]:
    """The task type's LLM runs (only ``chosen`` when given, each then its own strategy) with
    their gold matches and whether each is used: by default each model's run with the most gold
    items among those whose cost is known (a run that cannot be costed only when its model has
    no other), the newest among equals."""
    runs = session.exec(
        select(LlmRun, LabelSet)
        .join(LabelSet, col(LlmRun.label_set_id) == col(LabelSet.id))
        .where(LabelSet.task_type_id == task_type.id, col(LabelSet.retired_at).is_(None))
        .order_by(col(LabelSet.id))
    ).all()
    unknown = sorted(set(chosen) - {label_set.id for _, label_set in runs})
    if unknown:
        raise InputError(
            f"no LLM run {', '.join(map(str, unknown))} for task type {task_type.key!r} "
            f"(retired runs are not compared); runs: "
            f"{', '.join(str(ls.id) for _, ls in runs) or 'none'}",
            field="llm run",
        )
    measured = []
    for run, label_set in runs:
        if chosen and label_set.id not in chosen:
            continue
        selection = select_labels(
            task_type.key, llm_set_id=label_set.id, store=store, session=session
        )
        tokens_known = run.input_tokens is not None and run.output_tokens is not None
        priced = tokens_known and price_for(run.model, session=session) is not None
        figures = MeasuredRun(
            label_set_id=label_set.id or 0,
            model=run.model,
            prompt_version=run.prompt_version,
            imported_at=label_set.created_at,
            gold=gold_matches(store, selection, "llm", session=session),
            costable=priced or run.cost is not None,
            used=bool(chosen),
        )
        measured.append((run, label_set, figures))
    if chosen:
        return measured
    best: dict[str, int] = {}  # model -> its position in ``measured``
    for i, (run, _, figures) in enumerate(measured):  # in id order: the newest wins among equals
        if run.model not in best or _rank(figures) >= _rank(measured[best[run.model]][2]):
            best[run.model] = i
    return [
        (run, label_set, replace(figures, used=i in best.values()))
        for i, (run, label_set, figures) in enumerate(measured)
    ]


def _rank(run: MeasuredRun) -> tuple[bool, int]:
    return run.costable, run.gold.items


def llm_run_options(store: Path, task_type_key: str, *, session: Session) -> list[MeasuredRun]:
    """Every LLM run the economics model can measure a task type's models from, in id order,
    with its gold items and whether it is used by default."""
    task_type = get_task_type(task_type_key, session=session)
    return [figures for _, _, figures in _runs_measured(store, task_type, (), session=session)]


def _llm_strategies(
    store: Path,
    task_type: TaskType,
    rates: RateTable,
    note: Note,
    chosen: tuple[int, ...],
    as_of: date,
    *,
    session: Session,
) -> tuple[list[tuple[dict[str, Any], int]], list[MeasuredRun]]:
    """One strategy per model from its run used (``_runs_measured``), with the run's label set
    id; and the runs measured."""
    runs = _runs_measured(store, task_type, chosen, session=session)
    strategies = []
    for run, label_set, figures in runs:
        if not figures.used:
            continue
        name = f"{run.model} (run {label_set.id})" if chosen else run.model
        model = run.model
        items = max(label_set.items, 1)
        strategy: dict[str, Any] = {"name": name, "kind": "llm"}
        price = price_for(model, session=session)
        tokens_known = run.input_tokens is not None and run.output_tokens is not None
        if price is not None and tokens_known:
            rate = rates.rate(price.currency)
            fx = "" if rate == 1 else f", {price.currency} at {rate}"
            for part in ("in", "out"):
                tokens = getattr(run, f"{part}put_tokens")
                strategy[f"{part}put_tokens_per_item"] = note(
                    f"{name}: {part}put_tokens_per_item",
                    _share(tokens, items),
                    True,
                    f"{tokens:,} tokens recorded over {items:,} items",
                )
                strategy[f"price_{part}_per_mtok"] = note(
                    f"{name}: price_{part}_per_mtok",
                    getattr(price, f"price_{part}_per_mtok") * rate,
                    True,
                    f"price table, read on {price.read_on}{fx}{_stale(price.read_on, as_of)}",
                )
        elif run.cost is not None:
            rate = rates.rate(run.currency)
            strategy["cost_per_item"] = note(
                f"{name}: cost_per_item",
                run.cost * rate / items,
                True,
                f"recorded cost {run.cost} {run.currency} over {items:,} items (no price table entry)",
            )
        else:
            raise InputError(
                f"LLM run {label_set.id} of {model!r} has neither recorded token usage with a "
                "price in the price table nor a recorded cost; add its price "
                "(`procure llm-price set`), or retire the run, first",
                field="llm run",
            )
        run_name = f"run {label_set.id} ({label_set.created_at.date()})"
        _accuracy(
            strategy,
            note,
            figures.gold,
            f"its label in {run_name}",
            ASSUMED["llm_accuracy"],
        )
        strategies.append((strategy, label_set.id or 0))
    return strategies, [figures for _, _, figures in runs]


def _stale(read_on: date, as_of: date) -> str:
    """A warning for a price read more than ``STALE_PRICE_DAYS`` before the as-of date."""
    age = (as_of - read_on).days
    return f"; STALE: read {age} days before {as_of}, check it" if is_stale(read_on, as_of) else ""


def _per_correct(strategy: dict[str, Any]) -> Decimal:
    price = Decimal(strategy["unit_price"])
    return price / Decimal(strategy["acceptance_rate"]) / Decimal(strategy["accuracy"])


def _hybrids(
    store: Path,
    task_type: TaskType,
    humans: list[dict[str, Any]],
    runs: list[tuple[dict[str, Any], int]],
    note: Note,
    *,
    session: Session,
) -> list[dict[str, Any]]:
    human = min(humans, key=_per_correct)
    llm, label_set_id = max(runs, key=lambda run: Decimal(run[0]["accuracy"]))
    hybrids: list[dict[str, Any]] = [
        {
            "name": f"{llm['name']} + {human['name']} review {REVIEW_SAMPLE:.0%}",
            "kind": "hybrid",
            "llm": llm["name"],
            "human": human["name"],
            "policy": "review_sample",
            "review_fraction": REVIEW_SAMPLE,
        }
    ]
    relabel: dict[str, Any] = {
        "name": f"{llm['name']} + {human['name']} relabel least confident {RELABEL_SHARE:.0%}",
        "kind": "hybrid",
        "llm": llm["name"],
        "human": human["name"],
        "policy": "relabel_uncertain",
        "review_fraction": RELABEL_SHARE,
    }
    selection = select_labels(task_type.key, llm_set_id=label_set_id, store=store, session=session)
    captured = error_capture(store, selection, float(RELABEL_SHARE), session=session)
    if captured is not None:
        errors, caught = captured
        relabel["error_capture"] = note(
            f"{relabel['name']}: error_capture",
            _share(caught, errors),
            True,
            f"{caught:,} of the LLM's {errors:,} errors against gold are among its "
            f"{RELABEL_SHARE:.0%} least confident items",
        )
    hybrids.append(relabel)
    return hybrids
