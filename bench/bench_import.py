"""`procure labels import` of a label file (parse, validate, store, commit) against DuckDB's own
import of the same file into a file; whole processes, wall time and peak memory.

    python bench/bench_import.py --rows 1000000
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import python, report, run_process
from generate import generate

BASELINE = "import duckdb; duckdb.connect().execute(\"COPY (SELECT * FROM '{source}') TO '{target}' (FORMAT parquet)\")"
TARGET = 1.5
MEMORY_TARGET = 1.5


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--formats", default="csv,jsonl,parquet")
    parser.add_argument("--repeat", type=int, default=3)
    arguments = parser.parse_args()
    files = generate(arguments.rows, Path(__file__).parent / "out")
    procure = shutil.which("procure") or str(Path(sys.executable).parent / "procure")
    ok = True
    with tempfile.TemporaryDirectory() as scratch:
        home = Path(scratch) / "workspace"
        subprocess.run([procure, "--home", str(home), "init"], check=True, capture_output=True)
        subprocess.run(
            [
                procure,
                "--home",
                str(home),
                "task-type",
                "add",
                "bench",
                "--name",
                "Bench",
                "--unit",
                "item",
                "--label-kind",
                "categorical",
                "--labels",
                ",".join(f"class_{i}" for i in range(5)),
            ],
            check=True,
            capture_output=True,
        )
        for fmt in arguments.formats.split(","):
            source = files[f"vendor.{fmt}"]
            target = Path(scratch) / "duckdb.parquet"
            baseline = run_process(
                python(BASELINE.format(source=source, target=target)), arguments.repeat
            )
            measured = run_process(
                [
                    procure,
                    "--home",
                    str(home),
                    "labels",
                    "import",
                    str(source),
                    "--task-type",
                    "bench",
                    "--gold",
                    "--force",
                ],
                arguments.repeat,
            )
            ok &= report(
                f"import {arguments.rows:,} labels, {fmt}",
                measured,
                baseline,
                TARGET,
                MEMORY_TARGET,
            )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
