"""Reviews (a reviewer's verdict counts as gold) and the queue of items where the vendor and the
LLM disagree, most confident first; the page's report and queue from one load of the labels."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session

from procure.errors import InputError
from procure.labels.selection import Selection
from procure.labels.store import parquet_columns
from procure.quality.report import Loaded, codec_of, loaded_labels, quality_report
from procure.quality.results import QualityPage, QueueItem
from procure.records.catalog import get_task_type
from procure.records.models import Review
from procure.records.workspace import record_event

# --- reviews and the disagreement queue ------------------------------------------------------

# The vendor's votes are its count vector (the key in vendor_items), decoded by the caller.
QUEUE = """
WITH candidates AS (
    SELECT v.item_id, v.code AS vendor_code, l.code AS llm_code, {confidence} AS confidence
    FROM vendor_consensus AS v JOIN llm_consensus AS l USING (item_id) {confidence_join}
    WHERE v.code <> l.code AND v.item_id NOT IN (SELECT item_id FROM reviews)
    ORDER BY confidence DESC NULLS LAST, v.item_id
    LIMIT $limit
)
SELECT c.item_id, c.vendor_code, c.llm_code, votes.key, c.confidence, {text} AS text
FROM candidates AS c
JOIN vendor_items AS votes USING (item_id) {text_join}
ORDER BY c.confidence DESC NULLS LAST, c.item_id
"""
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
) -> list[QueueItem]:
    """Items where the vendor consensus and the LLM differ and nobody has reviewed yet, the LLM's
    most confident disagreements first (when its file has a confidence column)."""
    if not selection.vendor or selection.llm is None:
        return []
    if loaded is None:
        with loaded_labels(store, selection, session=session) as fresh:
            return disagreement_queue(store, selection, limit, fresh, session=session)
    order = list(selection.task_type.labels)
    con, _ = loaded
    llm_path = str(store / selection.llm.path)
    text_paths = [str(store / s.path) for s, _ in selection.vendor] + [llm_path]
    has_confidence = "confidence" in parquet_columns(con, llm_path)
    text_paths = [path for path in text_paths if "text" in parquet_columns(con, path)]
    sql = QUEUE.format(  # files without the optional columns give NULLs
        confidence="c.confidence" if has_confidence else "NULL::DOUBLE",
        confidence_join=CONFIDENCE_JOIN if has_confidence else "",
        text="texts.text" if text_paths else "NULL::VARCHAR",
        text_join=TEXT_JOIN if text_paths else "",
    )
    params: dict[str, object] = {"limit": limit}
    if has_confidence:
        params["llm_path"] = llm_path
    if text_paths:
        params["text_paths"] = text_paths
    rows = con.execute(sql, params).fetchall()
    codec = codec_of(con, "vendor", len(order))
    return [
        QueueItem(
            item_id=item,
            vendor_consensus=order[vendor],
            llm_label=order[llm],
            vendor_votes=", ".join(
                f"{order[code]} x{n}" for code, n in enumerate(codec.decode(key)) if n
            ),
            llm_confidence=confidence,
            text=text,
        )
        for item, vendor, llm, key, confidence, text in rows
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
