"""`procure preferences FILE` against `procure agreement FILE` on the same preference file
(DESIGN.md: at most 2x); whole processes, same run. The full file has every optional column:
shown_first, margin, lengths, rewards, the systems and three pairs per prompt (so cyclic triads
are enumerated for every prompt); the plain one only labels, positions and lengths.

    python bench/bench_preferences.py --rows 1000000
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).parent))
from common import report, run_process

# Four annotators per pair; labels, positions and margins drawn from hashes (deterministic).
PAIRS = """
SELECT 'p' || pair AS item_id, 'a' || annotator AS annotator_id,
       CASE WHEN hash(pair, annotator, 1) % 10 = 0 THEN 'tie'
            WHEN hash(pair, annotator, 2) % 3 = 0 THEN 'B' ELSE 'A' END AS label,
       CASE WHEN hash(pair, annotator, 3) % 2 = 0 THEN 'A' ELSE 'B' END AS shown_first,
       ['slight', 'clear', 'strong'][CAST(hash(pair, annotator, 4) % 3 AS BIGINT) + 1] AS margin,
       100 + hash(pair, 5) % 2000 AS len_a, 100 + hash(pair, 6) % 2000 AS len_b,
       (hash(pair, 7) % 1000) / 100.0 AS reward_a, (hash(pair, 8) % 1000) / 100.0 AS reward_b,
       'm' || (pair % 3) AS model_a, 'm' || ((pair + 1) % 3) AS model_b,
       'q' || (pair // 3) AS prompt_id
FROM range($pairs) AS p(pair), range(4) AS a(annotator)
"""
PLAIN = "item_id, annotator_id, label, shown_first, len_a, len_b"
TARGET = 2.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--formats", default="csv,parquet")
    parser.add_argument("--shapes", default="full,plain")
    parser.add_argument("--repeat", type=int, default=5)
    arguments = parser.parse_args()
    out = Path(__file__).parent / "out"
    out.mkdir(parents=True, exist_ok=True)
    procure = shutil.which("procure") or str(Path(sys.executable).parent / "procure")
    ok = True
    for shape in arguments.shapes.split(","):
        for fmt in arguments.formats.split(","):
            path = out / f"preferences_{shape}_{arguments.rows}.{fmt}"
            if not path.exists():
                options = "(FORMAT parquet)" if fmt == "parquet" else "(HEADER)"
                columns = "*" if shape == "full" else PLAIN
                with duckdb.connect() as con:
                    con.execute(
                        f"COPY (SELECT {columns} FROM ({PAIRS})) TO '{path}' {options}",
                        {"pairs": arguments.rows // 4},
                    )
            baseline = run_process([procure, "agreement", str(path), "--json"], arguments.repeat)
            measured = run_process([procure, "preferences", str(path), "--json"], arguments.repeat)
            ok &= report(
                f"preferences vs agreement, {arguments.rows:,} judgements, {shape}, {fmt}",
                measured,
                baseline,
                TARGET,
            )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
