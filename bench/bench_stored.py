"""Agreement statistics from stored labels (the whole quality report of a task type: vendor
consensus against the LLM with kappa and its CI, AC1 and per-class figures, the annotators' own
agreement, each annotator against the LLM, the weekly trend) against one DuckDB query of the
confusion matrix of the stored coded labels paired by item; same process, same run.

    python bench/bench_stored.py --rows 10000000
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).parent))
from common import label_workspace, median_seconds

BASELINE = """
SELECT v.label_code, l.label_code, count(*)
FROM read_parquet($vendor) AS v JOIN read_parquet($llm) AS l USING (item_id) GROUP BY ALL
"""
TARGET = 2.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    arguments = parser.parse_args()
    with label_workspace(arguments.rows) as (store, _):
        from sqlmodel import Session

        from procure.config import Settings
        from procure.quality import quality_report, select_labels
        from procure.records.workspace import open_workspace

        workspace = open_workspace(Settings())
        with Session(workspace.engine) as db:
            selection = select_labels("bench", store=workspace.settings.label_store, session=db)
            assert selection.llm is not None
            files = {
                "vendor": str(store / selection.vendor[0][0].path),
                "llm": str(store / selection.llm.path),
            }

            def baseline() -> object:
                with duckdb.connect() as con:
                    return con.execute(BASELINE, files).fetchall()

            measured = median_seconds(
                lambda: quality_report(store, selection, session=db), arguments.repeat
            )
            base = median_seconds(baseline, arguments.repeat)
            # The default LLM run: which run labels the most selected items (one more pass).
            pick = median_seconds(
                lambda: select_labels("bench", store=store, session=db), arguments.repeat
            )
        workspace.engine.dispose()
    print(
        f"{'choosing the default LLM run (coverage of the selected items)':<58} {pick:7.2f}s vs {base:6.2f}s  ratio {pick / base:5.2f}"
    )
    ratio = measured / base
    print(
        f"{'quality report from stored labels, ' + format(arguments.rows, ',') + ' labels':<58} {measured:7.2f}s vs {base:6.2f}s  ratio {ratio:5.2f} (target {TARGET}) {'ok' if ratio <= TARGET else 'MISSED'}"
    )
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
