"""Start-up of the stateless commands against ``python -c "import duckdb, numpy, typer"``, the
imports they cannot do without; runs interleaved, median of the runs, in one process's view.

    python bench/bench_cli_start.py
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from common import Measure, python, report, run_process

ROOT = Path(__file__).parent.parent
TARGET = 1.3
PROCURE = python("from procure.cli import main; main()")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=11)
    arguments = parser.parse_args()
    # An installed procure has its bytecode; these machines set PYTHONDONTWRITEBYTECODE, which
    # would otherwise make every run compile procure's sources again.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "procure")], check=True)
    with tempfile.TemporaryDirectory() as scratch:
        tiny = Path(scratch) / "tiny.csv"
        tiny.write_text("item_id,annotator_id,label\n1,a,x\n1,b,x\n2,a,y\n2,b,x\n")
        commands = {
            "procure --help": [*PROCURE, "--help"],
            "procure agreement on a four-line file": [*PROCURE, "agreement", str(tiny)],
        }
        baseline_command = python("import duckdb, numpy, typer")
        # The floor of any command that reads a label file: the same imports, then DuckDB reads
        # the four lines (no procure at all). Printed for reference, not a target.
        floor = python(
            "import duckdb, numpy, typer; "
            f"duckdb.sql(\"SELECT * FROM read_csv('{tiny}')\").fetchall()"
        )
        commands["(floor) DuckDB reads the same file, no procure"] = floor
        ok = True
        for name, command in commands.items():
            measured, baseline = [], []
            for _ in range(arguments.repeat):  # interleaved, so both see the same machine load
                baseline.append(run_process(baseline_command, repeat=1))
                measured.append(run_process(command, repeat=1))
            met = report(f"start-up: {name}", _median(measured), _median(baseline), TARGET)
            ok &= met or command is floor
    return 0 if ok else 1


def _median(measures: list[Measure]) -> Measure:
    ordered = sorted(measures, key=lambda m: m.seconds)
    return ordered[len(ordered) // 2]


if __name__ == "__main__":
    sys.exit(main())
