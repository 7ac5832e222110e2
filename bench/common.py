"""Timing helpers: whole processes, median wall time and peak memory, ratios to a baseline; a
workspace holding the generated vendor labels (one batch) and an LLM run."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from generate import generate


@dataclass(frozen=True)
class Measure:
    seconds: float
    peak_mb: float


def run_process(args: list[str], repeat: int = 5) -> Measure:
    """Median wall time and the largest peak RSS of ``repeat`` runs of a command."""
    times, peaks = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(process.pid, 0)
        times.append(time.perf_counter() - start)
        peaks.append(usage.ru_maxrss / 1024)
        if status != 0:
            sys.exit(
                f"failed: {' '.join(args)}\n{process.stderr.read().decode() if process.stderr else ''}"
            )
    return Measure(statistics.median(times), max(peaks))


def median_seconds(
    run: Callable[[], object], repeat: int, before: Callable[[], object] | None = None
) -> float:
    """Median wall time of ``repeat`` calls of ``run`` in this process (``before`` untimed)."""
    times = []
    for _ in range(repeat):
        if before is not None:
            before()
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def report(
    name: str,
    measured: Measure,
    baseline: Measure,
    target: float,
    memory_target: float | None = None,
) -> bool:
    ratio = measured.seconds / baseline.seconds
    ok = ratio <= target
    line = f"{name:<58} {measured.seconds:7.2f}s vs {baseline.seconds:6.2f}s  ratio {ratio:5.2f} (target {target}) {'ok' if ok else 'MISSED'}"
    if memory_target is not None:
        memory_ratio = measured.peak_mb / baseline.peak_mb
        ok = ok and memory_ratio <= memory_target
        line += f"\n{'':<58} peak {measured.peak_mb:6.0f} MB vs {baseline.peak_mb:5.0f} MB  ratio {memory_ratio:5.2f} (target {memory_target})"
    print(line, flush=True)
    return ok


DOCUMENT = """
version: 1
vendors: [{name: Bench Vendor, kind: platform}]
task_types:
  - {key: bench, name: Bench, unit: item, label_kind: categorical, labels: [class_0, class_1, class_2, class_3, class_4]}
contracts:
  - vendor: Bench Vendor
    title: Bench
    start_date: 2026-01-05
    end_date: 2026-02-15
    currency: USD
    committed_budget: 1000000
    status: active
    price_lines: [{task_type: bench, unit_price: 0.1, quantity: 100000000}]
    batches: [{ref: B1, task_type: bench, week: 1, delivered_on: 2026-01-10, quantity: 100000000, status: received}]
"""


@contextmanager
def label_workspace(rows: int) -> Iterator[tuple[Path, dict[str, Path]]]:
    """A temporary workspace (``PROCURE_HOME`` points to it) with ``rows`` generated vendor labels
    in one batch and an LLM run on the same items; yields its label store and the files."""
    files = generate(rows, Path(__file__).parent / "out", formats=("parquet",))
    with tempfile.TemporaryDirectory() as scratch:
        os.environ["PROCURE_HOME"] = str(Path(scratch) / "workspace")
        from procure.config import Settings
        from procure.db import session_scope
        from procure.labels.store import LlmRunSpec, import_labels
        from procure.records.transfer import import_document
        from procure.records.workspace import open_workspace

        workspace = open_workspace(Settings())
        store = workspace.settings.label_store
        with session_scope(workspace.engine) as db:
            import_document(DOCUMENT.encode(), "bench.yaml", session=db)
            import_labels(
                store,
                files["vendor.parquet"],
                source="vendor",
                task_type_key="bench",
                batch_id=1,
                session=db,
            )
            import_labels(
                store,
                files["llm.parquet"],
                source="llm",
                task_type_key="bench",
                llm=LlmRunSpec("bench-model"),
                session=db,
            )
        workspace.engine.dispose()
        yield store, files
