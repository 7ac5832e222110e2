"""The same label files give the same figures, byte for byte: whatever Python's hash seed, the
row order or the file format. Labels equal as numbers but spelled differently (``1``, ``01``,
``1.0``) once took their order from the hash seed: kappa 0.25 under one seed, 1.0 under another."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import duckdb
import numpy as np
import pytest

from procure.quality import file_agreement
from tests.conftest import PROCURE_CLI

# Two annotators who agree as numbers and differ in spelling; a third file to compare with.
SPELLINGS = (
    "item_id,annotator_id,label\n"
    "1,a,1\n1,b,01\n2,a,1.0\n2,b,1\n3,a,2\n3,b,2.0\n4,a,01\n4,b,1.0\n5,a,2\n5,b,1\n"
)
AGAINST = "item_id,label\n1,1\n2,01\n3,2\n4,1.0\n5,2\n"


def procure(*args: str, seed: str) -> bytes:
    done = subprocess.run(
        [*PROCURE_CLI, *args],
        env={**os.environ, "PYTHONHASHSEED": seed},
        capture_output=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval"])
def test_agreement_is_the_same_under_every_hash_seed(tmp_path: Path, level: str) -> None:
    labels, against = tmp_path / "labels.csv", tmp_path / "against.csv"
    labels.write_text(SPELLINGS)
    against.write_text(AGAINST)
    command = ("agreement", str(labels), "--against", str(against), "--level", level, "--json")
    outputs = {procure(*command, seed=seed) for seed in ("0", "1", "2", "4", "random")}
    assert len(outputs) == 1
    report = json.loads(outputs.pop())
    if level == "interval":  # one value per number, named by its first spelling
        assert report["labels"] == ["01", "2"]
    else:  # numbers by value, then by spelling
        assert report["labels"] == ["01", "1", "1.0", "2", "2.0"]


def test_at_interval_level_equal_numbers_agree_everywhere(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text(SPELLINGS)
    nominal = file_agreement(path)
    interval = file_agreement(path, level="interval")
    # nominal: no item agrees in spelling (1/01, 1.0/1, 2/2.0, 01/1.0, 2/1)
    assert nominal.percent_agreement == 0.0
    # interval: items 1-4 agree as numbers, item 5 (2 vs 1) does not
    assert interval.percent_agreement == pytest.approx(4 / 5)
    assert interval.cohen_kappa is not None and interval.krippendorff_alpha is not None
    # alpha by hand (Krippendorff 2011): 10 pairable values, 1 x7 and 2 x3; o_12 = o_21 = 1;
    # D_o = 2 / 10; D_e = 2 x 7 x 3 / (10 x 9); alpha = 1 - D_o / D_e
    assert interval.krippendorff_alpha == pytest.approx(1 - (2 / 10) / (42 / 90))


def _rows(seed: int) -> list[tuple[str, str, str]]:
    rng = np.random.default_rng(seed)
    spellings = {0: ["0", "00"], 1: ["1", "01", "1.0"], 2: ["2", "2.00"]}
    rows = []
    for item in range(300):
        truth = int(rng.integers(0, 3))
        for annotator in ("a", "b", "c"):
            value = truth if rng.random() < 0.7 else int(rng.integers(0, 3))
            choices = spellings[value]
            rows.append((str(item), annotator, choices[int(rng.integers(0, len(choices)))]))
    return rows


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval"])
def test_row_order_and_file_format_change_nothing(tmp_path: Path, level: str) -> None:
    rows = _rows(3)
    shuffled = [rows[i] for i in np.random.default_rng(4).permutation(len(rows))]
    csv_path, jsonl_path, parquet_path = (
        tmp_path / f"labels.{e}" for e in ("csv", "jsonl", "parquet")
    )
    csv_path.write_text("item_id,annotator_id,label\n" + "".join(",".join(r) + "\n" for r in rows))
    jsonl_path.write_text(
        "".join(
            json.dumps({"item_id": i, "annotator_id": a, "label": label}) + "\n"
            for i, a, label in shuffled
        )
    )
    duckdb.execute(
        f"COPY (SELECT * FROM read_csv($p, all_varchar = true) ORDER BY random()) "
        f"TO '{parquet_path}' (FORMAT parquet)",
        {"p": str(csv_path)},
    )
    reports = [
        file_agreement(path, csv_path, level=level) for path in (csv_path, jsonl_path, parquet_path)
    ]
    assert reports[0] == reports[1] == reports[2]
    assert reports[0].ties.tied > 0  # ties are counted the same way whatever the order
