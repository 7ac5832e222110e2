"""Cold start of the app to a healthy server (``/_stcore/health`` answers 200) against a trivial
Streamlit app's, both `streamlit run` processes started fresh, median of the runs.

    python bench/bench_start.py
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).parent.parent
TARGET = 2.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def time_to_healthy(script: Path, home: Path) -> float:
    port = _free_port()
    start = time.perf_counter()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(script),
            "--server.headless=true",
            "--server.address=127.0.0.1",
            f"--server.port={port}",
            "--browser.gatherUsageStats=false",
        ],
        cwd=ROOT,
        env={**os.environ, "PROCURE_HOME": str(home)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while time.perf_counter() - start < 60:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/_stcore/health", timeout=1
                ) as answer:
                    if answer.status == 200:
                        return time.perf_counter() - start
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.01)
        sys.exit(f"{script.name} did not become healthy within 60 s")
    finally:
        server.terminate()
        server.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        trivial = Path(scratch) / "trivial.py"
        trivial.write_text("import streamlit as st\nst.title('A trivial app')\n")
        home = Path(scratch) / "workspace"
        times: dict[str, list[float]] = {"app": [], "trivial": []}
        for _ in range(arguments.repeat):  # interleaved, so both see the same machine load
            times["trivial"].append(time_to_healthy(trivial, home))
            times["app"].append(time_to_healthy(ROOT / "app.py", home))
    measured, baseline = (statistics.median(times[name]) for name in ("app", "trivial"))
    ratio = measured / baseline
    print(
        f"{'cold start to a healthy server':<58} {measured:7.2f}s vs {baseline:6.2f}s  ratio {ratio:5.2f} (target {TARGET}) {'ok' if ratio <= TARGET else 'MISSED'}"
    )
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
