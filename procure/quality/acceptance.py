"""Batch acceptance: the contract's rule (error rate and items), a batch's evidence against gold and
reviews, and the recommendation; the gold-matching figures the economics model measures."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from sqlmodel import Session, select

from procure.errors import InputError, NotFoundError
from procure.labels.selection import Selection, select_labels
from procure.labels.store import parquet_columns
from procure.quality.report import latest_reviews, loaded_labels
from procure.quality.results import AcceptanceRuleFigures, BatchEvidence, GoldMatches, interval
from procure.quality.stats.acceptance import recommend
from procure.records.catalog import get_task_type
from procure.records.models import AcceptanceRule, Batch, TaskType
from procure.records.workspace import record_event

# --- figures for the economics model ---------------------------------------------------------

# Every gold item the source labelled; an unsettled tie (NULL) is not a match.
GOLD_MATCHES = """
SELECT count(*), count(*) FILTER (WHERE s.code = g.code), count(*) FILTER (WHERE s.code IS NULL)
FROM {name}_verdicts AS s JOIN gold_consensus AS g USING (item_id)
"""
# The LLM's errors against gold, and how many of them fall among its least confident share.
# Per item: its verdict (a tie, as a judge's two orders that disagree, is an error) and the
# least confidence of its labels.
ERROR_CAPTURE = """
WITH confidence AS (
    SELECT item_id, min(confidence) AS confidence FROM read_parquet($path)
    WHERE confidence IS NOT NULL GROUP BY item_id
), scored AS (
    SELECT v.code IS DISTINCT FROM g.code AS wrong,
           row_number() OVER (ORDER BY c.confidence, c.item_id) AS rank,
           count(*) OVER () AS n
    FROM confidence AS c JOIN llm_verdicts AS v USING (item_id) JOIN gold_consensus AS g USING (item_id)
)
SELECT count(*) FILTER (WHERE wrong), count(*) FILTER (WHERE wrong AND rank <= $share * n)
FROM scored
"""


def gold_matches(
    store: Path, selection: Selection, source: str, *, session: Session
) -> GoldMatches:
    """How often the ``vendor`` or ``llm`` consensus equals gold, on every gold item it
    labelled; an item it left tied counts as not matching."""
    with loaded_labels(store, selection, (source, "gold"), session=session) as (con, present):
        if source not in present or "gold" not in present:
            return GoldMatches(0, 0, 0)
        row = con.execute(GOLD_MATCHES.format(name=source)).fetchone()
    return GoldMatches(*(int(v) for v in row)) if row else GoldMatches(0, 0, 0)


def error_capture(
    store: Path, selection: Selection, share: float, *, session: Session
) -> tuple[int, int] | None:
    """(LLM errors against gold, those among its ``share`` least confident items), or ``None``
    when the run has no confidence column or no gold overlap."""
    if selection.llm is None:
        return None
    path = str(store / selection.llm.path)
    with loaded_labels(store, selection, ("llm", "gold"), session=session) as (con, present):
        if "gold" not in present or "confidence" not in parquet_columns(con, path):
            return None
        row = con.execute(ERROR_CAPTURE, {"path": path, "share": share}).fetchone()
    return (int(row[0]), int(row[1])) if row and row[0] else None


# --- batch acceptance ------------------------------------------------------------------------

# A reviewed item the vendor left tied is an error: the vendor delivered no answer for it.
EVIDENCE = """
SELECT count(*), count(*) FILTER (WHERE v.code IS DISTINCT FROM g.code),
       count(*) FILTER (WHERE v.code IS NULL)
FROM vendor_verdicts AS v JOIN gold_consensus AS g USING (item_id)
"""


def set_rule(
    contract_id: int,
    task_type_key: str,
    *,
    session: Session,
    max_error_rate: Decimal | float | str,
    min_reviewed: int = 30,
) -> AcceptanceRule:
    """The acceptance rule of a contract's task type (one per pair, replaced when set again)."""
    task_type = get_task_type(task_type_key, session=session)
    try:
        rate = Decimal(str(max_error_rate))
    except ArithmeticError:
        raise InputError(
            f"expected a share between 0 and 1, got {max_error_rate!r}", field="max error rate"
        ) from None
    if not rate.is_finite() or not 0 <= rate < 1:
        raise InputError(
            f"expected a share between 0 and 1 (0.05 is 5%), got {max_error_rate}",
            field="max error rate",
        )
    if min_reviewed < 1:
        raise InputError(
            f"expected at least 1 reviewed item, got {min_reviewed}", field="min reviewed"
        )
    rule = session.exec(
        select(AcceptanceRule).where(
            AcceptanceRule.contract_id == contract_id, AcceptanceRule.task_type_id == task_type.id
        )
    ).first() or AcceptanceRule(
        contract_id=contract_id, task_type_id=task_type.id or 0, max_error_rate=rate
    )
    rule.max_error_rate, rule.min_reviewed = rate, min_reviewed
    session.add(rule)
    session.flush()
    record_event(
        "set",
        "acceptance_rule",
        rule.id,
        f"{task_type_key}: {rate} ({min_reviewed} items)",
        session=session,
    )
    return rule


DEFAULT_RULE = (Decimal("0.05"), 30)


def batch_evidence(store: Path, batch_id: int, *, session: Session) -> BatchEvidence:
    """The reviewed items of a batch, its error rate against gold and reviews, the contract's
    rule (5% with 30 items when none is set) and the recommendation."""
    batch = session.get(Batch, batch_id)
    if batch is None:
        raise NotFoundError(f"no batch with id {batch_id}", field="batch")
    task_type = session.get(TaskType, batch.task_type_id)
    assert task_type is not None
    rule = session.exec(
        select(AcceptanceRule).where(
            AcceptanceRule.contract_id == batch.contract_id,
            AcceptanceRule.task_type_id == task_type.id,
        )
    ).first()
    max_rate, min_reviewed = (rule.max_error_rate, rule.min_reviewed) if rule else DEFAULT_RULE
    selection = (  # a voided batch's labels are compared with nothing
        None
        if batch.voided_at is not None
        else select_labels(
            task_type.key, batch_ids=[batch_id], store=store, with_llm=False, session=session
        )
    )
    labelled = selection is not None and bool(selection.vendor)
    reviewed = errors = tied = 0
    if (
        selection is not None
        and labelled
        and (selection.gold or latest_reviews(task_type, session=session))
    ):
        with loaded_labels(store, selection, ("vendor", "gold"), session=session) as (con, present):
            if "gold" in present:
                row = con.execute(EVIDENCE).fetchone()
                reviewed, errors, tied = (int(v or 0) for v in (row or (0, 0, 0)))
    advice = recommend(
        errors,
        reviewed,
        max_error_rate=float(max_rate),
        min_reviewed=min_reviewed,
        quantity=batch.quantity,
    )
    return BatchEvidence(
        batch_id=batch.id or 0,
        ref=batch.ref,
        quantity=batch.quantity,
        status=str(batch.status),
        labelled=labelled,
        rule=AcceptanceRuleFigures(
            max_error_rate=float(max_rate), min_reviewed=min_reviewed, default=rule is None
        ),
        reviewed=advice.reviewed,
        errors=advice.errors,
        tied=tied,
        error_rate=advice.error_rate,
        error_rate_ci95=interval(advice.interval),
        recommendation=advice.verdict.value,
        suggested_accepted_quantity=advice.suggested_accepted_quantity,
        reason=advice.reason
        + (
            f"; {tied:,} of the {reviewed:,} reviewed items "
            + ("is a tie" if tied == 1 else "are ties")
            + " the vendor's annotators left unsettled, counted as errors"
            if tied
            else ""
        ),
    )
