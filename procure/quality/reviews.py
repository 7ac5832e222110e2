"""Reviews (a reviewer's verdict counts as gold) and the queue of items to review (the vendor's
consensus is a tie, or differs from the LLM), most confident first; the page's report and queue
from one load of the labels."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sqlmodel import Session

from procure.errors import InputError
from procure.labels.selection import Selection
from procure.labels.store import parquet_columns
from procure.quality.report import (
    Loaded,
    codec_of,
    gold_reviews,
    loaded_labels,
    quality_report,
    task_type_reviews,
)
from procure.quality.results import (
    QualityPage,
    QueueItem,
    ReviewQueue,
    ReviewRecord,
    ReviewSummary,
)
from procure.quality.stats import agreement as ag
from procure.records.catalog import get_task_type
from procure.records.models import Review
from procure.records.workspace import record_event
from procure.results import to_json

# --- reviews and the disagreement queue ------------------------------------------------------

# Items to review: the vendor's consensus is a tie, or it differs from the LLM's label, and
# the item has no gold label (from a gold file or a review). The vendor's votes are its count
# vector (the key in vendor_items), decoded by the caller.
CANDIDATES = """
SELECT i.item_id, k.code AS vendor_code, {llm_code} AS llm_code, k.tied,
       {confidence} AS confidence, count(*) OVER () AS total
FROM vendor_items AS i JOIN vendor_keys AS k USING (key) {llm_join} {confidence_join}
WHERE (k.tied OR {llm_code} <> k.code) {not_gold}
"""
QUEUE = """
WITH candidates AS ({candidates} ORDER BY confidence DESC NULLS LAST, i.item_id LIMIT $limit)
SELECT c.item_id, c.vendor_code, c.llm_code, c.tied, votes.key, c.confidence, {text} AS text,
       c.total
FROM candidates AS c
JOIN vendor_items AS votes USING (item_id) {text_join}
ORDER BY c.confidence DESC NULLS LAST, c.item_id
"""
TOTAL = "SELECT count(*) FROM ({candidates})"  # when the queue shows no rows (limit 0)
LLM_JOIN = "LEFT JOIN llm_consensus AS l USING (item_id)"
NOT_GOLD = "AND i.item_id NOT IN (SELECT item_id FROM gold_consensus)"
CONFIDENCE_JOIN = """
LEFT JOIN (SELECT item_id, max(confidence) AS confidence FROM read_parquet($llm_path) GROUP BY item_id)
    AS c USING (item_id)
"""
TEXT_JOIN = """
LEFT JOIN (SELECT item_id, any_value(text) AS text FROM read_parquet($text_paths, union_by_name = true)
           WHERE item_id IN (SELECT item_id FROM candidates) GROUP BY item_id) AS texts USING (item_id)
"""


def add_review(
    task_type_key: str,
    item_id: str,
    label: str,
    *,
    session: Session,
    reviewer: str = "",
    note: str = "",
) -> Review:
    """Record the correct label of an item; it counts as gold in every figure from now on."""
    task_type = get_task_type(task_type_key, session=session)
    label = label.strip()  # as labels in files are read
    if not item_id.strip():
        raise InputError("expected the id of the reviewed item", field="item")
    if label not in task_type.labels:
        raise InputError(
            f"{label!r} is not a label of {task_type_key!r}; expected one of {', '.join(task_type.labels)}",
            field="label",
        )
    review = Review(
        task_type_id=task_type.id or 0,
        item_id=item_id.strip(),
        label=label,
        reviewer=reviewer.strip(),
        note=note,
    )
    session.add(review)
    session.flush()
    record_event("review", "item", item_id, f"{task_type_key}: {label}", session=session)
    return review


def disagreement_queue(
    store: Path,
    selection: Selection,
    limit: int = 50,
    loaded: Loaded | None = None,
    *,
    session: Session,
) -> ReviewQueue:
    """Items to review: the vendor's consensus is a tie, or it differs from the LLM's label;
    items with a gold label or a review are left out. The LLM's most confident disagreements
    come first (when its file has a confidence column), then by item id."""
    if not selection.vendor:
        return ReviewQueue([], 0)
    if loaded is None:
        with loaded_labels(store, selection, session=session) as fresh:
            return disagreement_queue(store, selection, limit, fresh, session=session)
    order = list(selection.task_type.labels)
    con, present = loaded
    llm_path = str(store / selection.llm.path) if "llm" in present and selection.llm else None
    text_paths = [str(store / s.path) for s, _ in selection.vendor] + [llm_path or ""]
    has_confidence = llm_path is not None and "confidence" in parquet_columns(con, llm_path)
    text_paths = [p for p in text_paths if p and "text" in parquet_columns(con, p)]
    candidates = CANDIDATES.format(  # files without the optional columns give NULLs
        llm_code="l.code" if llm_path else "NULL::INTEGER",
        llm_join=LLM_JOIN if llm_path else "",
        confidence="c.confidence" if has_confidence else "NULL::DOUBLE",
        confidence_join=CONFIDENCE_JOIN if has_confidence else "",
        not_gold=NOT_GOLD if "gold" in present else "",
    )
    params: dict[str, object] = {"llm_path": llm_path} if has_confidence else {}
    sql = QUEUE.format(
        candidates=candidates,
        text="texts.text" if text_paths else "NULL::VARCHAR",
        text_join=TEXT_JOIN if text_paths else "",
    )
    rows = con.execute(
        sql, params | {"limit": limit} | ({"text_paths": text_paths} if text_paths else {})
    ).fetchall()
    if not rows:
        total_row = con.execute(TOTAL.format(candidates=candidates), params).fetchone()
        return ReviewQueue([], int(total_row[0]) if total_row else 0)
    codec = codec_of(con, "vendor", len(order))
    items = [
        QueueItem(
            item_id=item,
            reason="tie" if tied else "disagreement",
            vendor_consensus=None if vendor is None else order[vendor],
            llm_label=None if llm is None else order[llm],
            vendor_votes=", ".join(
                f"{order[code]} x{n}" for code, n in enumerate(codec.decode(key)) if n
            ),
            llm_confidence=confidence,
            text=text,
        )
        for item, vendor, llm, tied, key, confidence, text, _ in rows
    ]
    return ReviewQueue(items, int(rows[0][-1]))


def review_summary(task_type_key: str, *, session: Session) -> ReviewSummary:
    """Every review of a task type, oldest first, and how far named reviewers agree where
    several reviewed one item. Each reviewer's newest verdict on an item is theirs; the item's
    gold label is its newest review with a label the task type still has (adjudication by the
    last word, documented in the README). Unnamed reviews take no part in the agreement: who
    gave them is unknown."""
    task_type = get_task_type(task_type_key, session=session)
    rows = task_type_reviews(task_type, session=session)
    gold = gold_reviews(task_type, rows)
    code = {label: i for i, label in enumerate(task_type.labels)}
    verdicts: dict[str, dict[str, int]] = defaultdict(dict)
    for review in rows:
        if review.reviewer and review.label in code:
            verdicts[review.item_id][review.reviewer] = code[review.label]
    several = [
        list(by_reviewer.values()) for by_reviewer in verdicts.values() if len(by_reviewer) > 1
    ]
    counts = np.zeros((len(several), max(len(code), 1)), dtype=np.int64)
    for i, codes in enumerate(several):
        np.add.at(counts[i], codes, 1)
    return ReviewSummary(
        reviews=[
            ReviewRecord(
                item_id=r.item_id,
                label=r.label,
                reviewer=r.reviewer,
                note=r.note,
                reviewed_at=r.created_at,
                counts=gold.get(r.item_id) is r,
            )
            for r in rows
        ],
        items=len({r.item_id for r in rows}),
        reviewers=len({r.reviewer for r in rows if r.reviewer}),
        items_with_several_reviewers=len(several),
        reviewer_agreement=ag.percent_agreement(counts) if several else None,
    )


# What a blind review shows of an item: nothing the vendor or the LLM answered.
BLIND_FIELDS = ("item_id", "reason", "text")


def blind_json(queue: ReviewQueue) -> dict[str, object]:
    """The queue as JSON without the answers."""
    return {
        "items": [{k: to_json(getattr(item, k)) for k in BLIND_FIELDS} for item in queue.items],
        "total": queue.total,
    }


def queue_rows(queue: Sequence[QueueItem], *, blind: bool) -> list[dict[str, object]]:
    """The review queue; ``blind`` hides what the vendor and the LLM answered."""
    rows: list[dict[str, object]] = []
    for q in queue:
        row: dict[str, object] = {"item": q.item_id, "why": q.reason}
        if not blind:
            row |= {
                "vendor consensus": q.vendor_consensus or "(tie)",
                "vendor votes": q.vendor_votes,
                # labelled (it has a confidence) but no verdict: its labels tie, e.g. a judge
                # whose two orders disagree
                "LLM label": q.llm_label or ("(tie)" if q.llm_confidence is not None else None),
                "LLM confidence": q.llm_confidence,
            }
        rows.append(row | {"text": q.text})
    return rows


def review_rows(summary: ReviewSummary) -> list[dict[str, object]]:
    """The reviews as the page's table and the CSV export show them (times in UTC)."""
    return [
        {
            "item": r.item_id,
            "label": r.label,
            "reviewer": r.reviewer,
            "note": r.note,
            "reviewed": r.reviewed_at.isoformat(sep=" ", timespec="seconds"),
            "counts as gold": r.counts,
        }
        for r in summary.reviews
    ]


def quality_page(
    store: Path, selection: Selection, queue_limit: int = 100, *, session: Session
) -> QualityPage:
    """The report and the disagreement queue from one load of the labels (what the page shows)."""
    with loaded_labels(store, selection, session=session) as loaded:
        return QualityPage(
            report=quality_report(store, selection, loaded, session=session),
            queue=disagreement_queue(store, selection, queue_limit, loaded, session=session),
        )
