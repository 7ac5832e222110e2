"""Annotator reliability without gold: Dawid-Skene on the vendor's labels, checked against gold
where there is some."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
from sqlmodel import Session

from procure.labels.selection import Selection
from procure.quality.report import load_all
from procure.quality.results import AnnotatorReliability, DawidSkeneReport, GoldCheck

# --- Dawid-Skene -----------------------------------------------------------------------------

CODED_VENDOR = """
SELECT dense_rank() OVER (ORDER BY item_id) - 1 AS item, dense_rank() OVER (ORDER BY annotator_id) - 1 AS annotator,
       code, item_id, annotator_id
FROM vendor ORDER BY item, annotator
"""
# On every gold item; where the majority is an unsettled tie (NULL) it does not match gold.
DS_AGAINST_GOLD = """
SELECT count(*), count(*) FILTER (WHERE e.code = g.code), count(*) FILTER (WHERE v.code = g.code),
       count(*) FILTER (WHERE v.code IS NULL)
FROM estimates AS e JOIN gold_consensus AS g USING (item_id) JOIN vendor_verdicts AS v USING (item_id)
"""


def dawid_skene_report(
    store: Path, selection: Selection, *, session: Session
) -> DawidSkeneReport | None:
    """Dawid-Skene over the vendor's annotators: each one's estimated accuracy and confusion
    matrix, and, where gold exists, how often the estimated labels and the majority agree with it."""
    from procure.quality.stats.dawid_skene import dawid_skene

    if not selection.vendor:
        return None
    order = list(selection.task_type.labels)
    with duckdb.connect() as con:
        present = load_all(con, store, selection, len(order), session=session)
        coded = con.execute(CODED_VENDOR).fetchnumpy()
        fit = dawid_skene(
            coded["item"].astype(np.int64),
            coded["annotator"].astype(np.int64),
            coded["code"].astype(np.int64),
            len(order),
        )
        item_ids = np.unique(coded["item_id"])  # dense_rank order is sorted order
        annotators = np.unique(coded["annotator_id"])
        against_gold = None
        if "gold" in present:
            con.execute(
                "CREATE TEMP TABLE estimates AS SELECT unnest($items) AS item_id, unnest($codes) AS code",
                {"items": item_ids.tolist(), "codes": fit.labels.tolist()},
            )
            n, estimated, majority, tied = con.execute(DS_AGAINST_GOLD).fetchone() or (0, 0, 0, 0)
            against_gold = GoldCheck(
                items=n,
                dawid_skene=estimated / n if n else None,
                majority=majority / n if n else None,
                majority_tied=tied,
            )
    return DawidSkeneReport(
        iterations=fit.iterations,
        converged=fit.converged,
        priors=dict(zip(order, fit.priors.tolist(), strict=True)),
        annotators=[
            AnnotatorReliability(
                annotator=str(who),
                estimated_accuracy=float(accuracy),
                confusion=confusion.tolist(),
            )
            for who, accuracy, confusion in zip(
                annotators, fit.annotator_accuracy, fit.confusion, strict=True
            )
        ],
        against_gold=against_gold,
    )
