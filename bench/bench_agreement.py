"""`procure agreement A --against B` against a plain Python + DuckDB script that reads both files
and computes the consensus confusion matrix; whole processes, same run, same files.

    python bench/bench_agreement.py --rows 10000000
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import python, report, run_process
from generate import generate

BASELINE = """
import duckdb, sys
query = '''
WITH a AS (SELECT item_id, label, count(*) AS n FROM '{a}' GROUP BY ALL),
ca AS (SELECT item_id, arg_max(label, n) AS label FROM a GROUP BY item_id),
b AS (SELECT item_id, label, count(*) AS n FROM '{b}' GROUP BY ALL),
cb AS (SELECT item_id, arg_max(label, n) AS label FROM b GROUP BY item_id)
SELECT ca.label, cb.label, count(*) FROM ca JOIN cb USING (item_id) GROUP BY ALL
'''
print(duckdb.connect().execute(query).fetchall())
"""
TARGET = 1.5


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--formats", default="parquet,csv")
    parser.add_argument("--repeat", type=int, default=5)
    arguments = parser.parse_args()
    files = generate(arguments.rows, Path(__file__).parent / "out")
    procure = shutil.which("procure") or str(Path(sys.executable).parent / "procure")
    ok = True
    for fmt in arguments.formats.split(","):
        a, b = files[f"vendor.{fmt}"], files[f"llm.{fmt}"]
        baseline = run_process(python(BASELINE.format(a=a, b=b)), arguments.repeat)
        measured = run_process(
            [procure, "agreement", str(a), "--against", str(b), "--json"], arguments.repeat
        )
        ok &= report(
            f"agreement --against, {arguments.rows:,} labels, {fmt}", measured, baseline, TARGET
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
