"""Krippendorff's alpha on 1M items x 3-5 annotators against a plain numpy coincidence-matrix
computation of the same item x category counts (best of 5 in-process runs each).

    python bench/bench_alpha.py --items 1000000
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent.parent))
from procure.quality.stats.agreement import krippendorff_alpha

TARGET = 1.5


def counts_table(items: int, k: int = 5, seed: int = 42) -> np.ndarray:
    rng = np.random.default_rng(seed)
    raters = rng.integers(3, 6, items)
    truth = rng.integers(0, k, items)
    counts = np.zeros((items, k), dtype=np.int64)
    for r in range(5):
        rated = (raters > r) & (rng.random(items) > 0.1)
        label = np.where(rng.random(items) < 0.75, truth, rng.integers(0, k, items))
        np.add.at(counts, (np.flatnonzero(rated), label[rated]), 1)
    return counts


def numpy_alpha(counts: np.ndarray) -> float:
    """The baseline: coincidences item by item with numpy, then nominal alpha."""
    m = counts.sum(axis=1)
    keep = m >= 2
    c, mm = counts[keep].astype(np.float64), m[keep].astype(np.float64)
    o = np.einsum("ic,ik,i->ck", c, c, 1 / (mm - 1)) - np.diag((c / (mm - 1)[:, None]).sum(axis=0))
    n_c = o.sum(axis=1)
    n = n_c.sum()
    return float(1 - (n - 1) * (o.sum() - np.trace(o)) / (n**2 - (n_c**2).sum()))


def best(function: Callable[[], float], repeat: int = 5) -> tuple[float, float]:
    times, value = [], 0.0
    for _ in range(repeat):
        start = time.perf_counter()
        value = function()
        times.append(time.perf_counter() - start)
    return min(times), value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=1_000_000)
    counts = counts_table(parser.parse_args().items)
    baseline, expected = best(lambda: numpy_alpha(counts))
    measured, alpha = best(lambda: krippendorff_alpha(counts) or 0.0)
    assert abs(alpha - expected) < 1e-9, (alpha, expected)
    ratio = measured / baseline
    print(
        f"{'Krippendorff alpha, ' + format(len(counts), ',') + ' items':<58} {measured:7.3f}s vs {baseline:6.3f}s  ratio {ratio:5.2f} (target {TARGET}) {'ok' if ratio <= TARGET else 'MISSED'}"
    )
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
