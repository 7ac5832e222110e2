"""The economics model's Monte Carlo (10,000 draws over every strategy of the sample scenario)
against a bare numpy baseline that only draws the same Beta variates and divides once, plus the
whole report (bands, break-evens) and the Economics page's extra work (curve and tornado).

    python bench/bench_economics.py [--draws 10000]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent.parent))
from procure.economics import comparison, uncertainty
from procure.economics import scenario as sc

SCENARIO = Path(__file__).parent.parent / "sample_data" / "economics_scenario.yaml"


def best(function: Callable[[], Any], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def bare_draws(scenario: sc.Scenario, draws: int) -> np.ndarray:
    """The least any Monte Carlo must do: one Beta draw per measured rate, one division."""
    rng = np.random.default_rng(0)
    total = np.zeros(draws)
    for s in scenario.strategies:
        n = getattr(s, "accuracy_n", None)
        if n:
            x = float(s.accuracy or 0) * n
            total += 1.0 / rng.beta(x + 0.5, n - x + 0.5, draws)
    return np.percentile(total, [5, 50, 95])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--draws", type=int, default=10_000)
    draws = parser.parse_args().draws
    scenario = sc.read_scenario(SCENARIO.read_bytes(), SCENARIO.name)
    baseline = best(lambda: bare_draws(scenario, draws))
    carlo = best(lambda: uncertainty.monte_carlo(scenario, draws))
    report = best(lambda: comparison.report(scenario))
    volumes = sorted({int(v) for v in np.geomspace(100, 10 * scenario.volume, 30)})
    page = best(
        lambda: (
            comparison.curve(scenario, volumes),
            uncertainty.tornado(scenario, scenario.strategies[-1].name),
        )
    )
    strategies = len(scenario.strategies)
    print(f"scenario: {strategies} strategies, {draws:,} draws")
    print(f"bare numpy draws (baseline)      {baseline * 1000:8.1f} ms")
    print(f"monte_carlo                      {carlo * 1000:8.1f} ms  {carlo / baseline:5.1f}x")
    print(f"report (bands + break-evens)     {report * 1000:8.1f} ms  {report / baseline:5.1f}x")
    print(f"page extras (curve + tornado)    {page * 1000:8.1f} ms  {page / baseline:5.1f}x")
    print(f"target: {draws:,} draws well under a second -> {'met' if carlo < 0.25 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
