"""Generate label files for the benchmarks with a fixed seed, written by DuckDB.

Vendor files: items x 3-5 annotators (some labels missing), 5 classes. An LLM file: one label
per item. Sizes by total vendor label rows (``--rows``), formats CSV, JSON Lines and Parquet.

    python bench/generate.py --rows 1000000 --out bench/out
"""

from __future__ import annotations

import argparse
from pathlib import Path

import duckdb

VENDOR = """
WITH items AS (
    SELECT i, hash(i, $seed) % 5 AS truth, 3 + hash(i, $seed + 1) % 3 AS raters FROM range($items) t(i)
), judgements AS (
    SELECT i, truth, a FROM items, range(5) r(a) WHERE a < raters AND hash(i, a, $seed + 2) % 10 <> 0
)
SELECT 'item' || i AS item_id, 'annotator_' || (hash(i, a, $seed + 3) % 40) || '_' || a AS annotator_id,
       'class_' || CASE WHEN hash(i, a, $seed + 4) % 100 < 75 THEN truth ELSE hash(i, a, $seed + 5) % 5 END AS label
FROM judgements
"""
LLM = """
SELECT 'item' || i AS item_id, 'gpt' AS annotator_id,
       'class_' || CASE WHEN hash(i, $seed + 6) % 100 < 80 THEN hash(i, $seed) % 5 ELSE hash(i, $seed + 7) % 5 END AS label
FROM range($items) t(i)
"""
FORMATS = {"csv": "(FORMAT csv, HEADER)", "jsonl": "(FORMAT json)", "parquet": "(FORMAT parquet)"}


def generate(
    rows: int, out: Path, seed: int = 42, formats: tuple[str, ...] = ("csv", "jsonl", "parquet")
) -> dict[str, Path]:
    """Write vendor and LLM label files; returns their paths by name (skips existing files)."""
    out.mkdir(parents=True, exist_ok=True)
    items = max(1, round(rows / 3.6))  # 3-5 raters, 10% missing: about 3.6 labels per item
    paths = {}
    with duckdb.connect() as con:
        for name, sql in (("vendor", VENDOR), ("llm", LLM)):
            for fmt in formats:
                path = out / f"{name}_{rows}.{fmt}"
                paths[f"{name}.{fmt}"] = path
                if not path.exists():
                    con.execute(
                        f"COPY ({sql}) TO '{path}' {FORMATS[fmt]}", {"items": items, "seed": seed}
                    )
    return paths


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    arguments = parser.parse_args()
    for name, path in generate(arguments.rows, arguments.out).items():
        print(name, path, f"{path.stat().st_size / 1e6:.1f} MB")
