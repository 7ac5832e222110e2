"""Timing helpers: whole processes, median wall time and peak memory, ratios to a baseline."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass


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
