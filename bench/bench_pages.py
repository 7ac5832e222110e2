"""Server-side script run of the Labels & quality page on a workspace with N vendor labels and an
LLM run, against a trivial page, both under Streamlit's AppTest in the same process: uncached
(caches cleared before every run) and cached (after a first run); and, for reference, the
page's widgets and elements alone with no data (quality_skeleton.py). As in a server, whose runtime
keeps one script cache, each page's script is compiled once (AppTest would compile it every run).

    python bench/bench_pages.py --rows 10000000
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent))
from common import label_workspace, median_seconds

ROOT = Path(__file__).parent.parent
TARGET_UNCACHED, TARGET_CACHED = 3.0, 1.5


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    arguments = parser.parse_args()
    with label_workspace(arguments.rows):
        import streamlit as st
        from streamlit.runtime.scriptrunner.script_cache import ScriptCache
        from streamlit.testing.v1 import AppTest, local_script_runner

        shared = ScriptCache()
        local_script_runner.ScriptCache = lambda: shared  # type: ignore[attr-defined,assignment]
        page = AppTest.from_file(str(ROOT / "pages" / "quality.py"), default_timeout=600)
        trivial = AppTest.from_string(
            "import streamlit as st\nst.title('A trivial page')\nst.write('hello')"
        )
        start = time.perf_counter()
        page.run()
        first = time.perf_counter() - start
        assert not page.exception, page.exception
        skeleton = AppTest.from_file(str(Path(__file__).parent / "quality_skeleton.py"))
        trivial.run()  # every page timed after its first load
        skeleton.run()
        baseline = median_seconds(trivial.run, arguments.repeat)
        floor = median_seconds(skeleton.run, arguments.repeat)
        uncached = median_seconds(page.run, arguments.repeat, before=st.cache_data.clear)
        cached = median_seconds(page.run, arguments.repeat)
    ok = True
    for name, measured, target in (
        ("uncached", uncached, TARGET_UNCACHED),
        ("cached", cached, TARGET_CACHED),
    ):
        ratio = measured / baseline
        ok &= ratio <= target
        print(
            f"{'Labels & quality page, ' + format(arguments.rows, ',') + ' labels, ' + name:<58} {measured:7.3f}s vs {baseline:6.3f}s  ratio {ratio:6.1f} (target {target}) {'ok' if ratio <= target else 'MISSED'}"
        )
    print(
        f"(first run, including computing the figures: {first:.2f}s; the page's widgets and "
        f"elements alone, no data: {floor:.3f}s, {floor / baseline:.1f}x the trivial page)"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
