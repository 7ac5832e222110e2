"""`procure agreement`: label files in every format, validation messages, and the report's
figures against hand computation and independent libraries."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pytest

from procure.cli import run
from procure.errors import InputError
from procure.quality.files import file_agreement, label_order
from procure.quality.results import Ties
from tests.conftest import DATA

LABELS = DATA / "labels"


def test_hand_computed_pairs_against_gold() -> None:
    report = file_agreement(LABELS / "pairs.csv", LABELS / "gold.jsonl")
    # items 1-3 are labelled by a and b: (x,x) (y,x) (y,y); item 4 by a only
    assert (report.items, report.annotators, report.ratings) == (4, 2, 7)
    assert report.percent_agreement == pytest.approx(2 / 3)
    # a vs b: p_o = 2/3, p_e = (1*2 + 2*1) / 9 = 4/9, kappa = (2/9) / (5/9)
    assert report.cohen_kappa == pytest.approx(0.4)
    assert report.fleiss_kappa is None  # item 4 has one label
    assert report.ties == Ties(items=4, tied=1, share=0.25)  # item 2: x once, y once
    against = report.against
    assert against is not None and report.against_ties == Ties(4, 0, 0.0)
    # consensus: 1 x, 2 tie (left out), 3 y, 4 x; gold: 1 x, 2 y, 3 y, 9 x
    assert against.items == 2
    assert against.confusion.counts == [[1, 0], [0, 1]]
    # a tie-break order settles item 2: to x (then 1 error) or to y
    broken = file_agreement(LABELS / "pairs.csv", LABELS / "gold.jsonl", tie_break=["x"]).against
    assert broken is not None and broken.items == 3
    assert (broken.confusion.labels, broken.confusion.counts) == (["x", "y"], [[1, 1], [0, 1]])
    assert broken.percent_agreement == pytest.approx(2 / 3)
    assert broken.weighted_kappa is None  # nominal data
    assert broken.cohen_kappa_ci95 is not None and broken.cohen_kappa is not None
    low, high = broken.cohen_kappa_ci95
    assert low < broken.cohen_kappa < high
    to_y = file_agreement(LABELS / "pairs.csv", LABELS / "gold.jsonl", tie_break=["y", "x"])
    assert to_y.against is not None and to_y.against.confusion.counts == [[1, 0], [0, 2]]


def _random_labels(seed: int, items: int = 400) -> list[dict[str, str]]:
    rng = np.random.default_rng(seed)
    labels = ["1", "2", "3", "4", "5"]
    rows = []
    for item in range(items):
        truth = rng.integers(0, 5)
        for annotator in ("ann_a", "ann_b", "ann_c", "ann_d"):
            if rng.random() < 0.25:
                continue  # a missing label
            label = truth if rng.random() < 0.7 else rng.integers(0, 5)
            rows.append({"item_id": f"it{item}", "annotator_id": annotator, "label": labels[label]})
    return rows


def _write_all_formats(rows: list[dict[str, str]], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    jsonl = folder / "labels.jsonl"
    jsonl.write_text("".join(json.dumps(row) + "\n" for row in rows))
    (folder / "labels.json").write_text(json.dumps(rows))
    csv_text = "item_id,annotator_id,label\n" + "".join(
        f"{r['item_id']},{r['annotator_id']},{r['label']}\n" for r in rows
    )
    (folder / "labels.csv").write_text(csv_text)
    (folder / "labels.tsv").write_text(csv_text.replace(",", "\t"))
    with gzip.open(folder / "labels.csv.gz", "wt") as handle:
        handle.write(csv_text)
    shutil.copy(folder / "labels.csv.gz", folder / "no_extension")
    with duckdb.connect() as con:
        con.execute(
            "COPY (SELECT * FROM read_json($p)) TO $out (FORMAT parquet)",
            {"p": str(jsonl), "out": str(folder / "labels.parquet")},
        )
    return sorted(p for p in folder.iterdir())


def test_every_format_gives_the_same_report(tmp_path: Path) -> None:
    files = _write_all_formats(_random_labels(1), tmp_path)
    reports = [file_agreement(path, level="ordinal") for path in files]
    assert len(files) == 7
    for path, report in zip(files, reports, strict=True):
        assert report == reports[0], path.name


def test_report_matches_independent_libraries(tmp_path: Path) -> None:
    krippendorff = pytest.importorskip("krippendorff")
    metrics = pytest.importorskip("sklearn.metrics")
    rows = _random_labels(2)
    [csv_file] = [p for p in _write_all_formats(rows, tmp_path) if p.name == "labels.csv"]
    annotators = ["ann_a", "ann_b", "ann_c", "ann_d"]
    items = sorted({r["item_id"] for r in rows})
    grid = np.full((4, len(items)), np.nan)
    index = {item: i for i, item in enumerate(items)}
    for r in rows:
        grid[annotators.index(r["annotator_id"]), index[r["item_id"]]] = float(r["label"])
    for level in ("nominal", "ordinal", "interval"):
        report = file_agreement(csv_file, level=level)
        expected = krippendorff.alpha(reliability_data=grid, level_of_measurement=level)
        assert report.krippendorff_alpha == pytest.approx(expected, abs=1e-9)
    two = tmp_path / "two.csv"
    two.write_text(
        "item_id,annotator_id,label\n"
        + "".join(
            f"{r['item_id']},{r['annotator_id']},{r['label']}\n"
            for r in rows
            if r["annotator_id"] in ("ann_a", "ann_b")
        )
    )
    both = ~np.isnan(grid[0]) & ~np.isnan(grid[1])
    expected_kappa = metrics.cohen_kappa_score(grid[0][both], grid[1][both])
    assert file_agreement(two).cohen_kappa == pytest.approx(expected_kappa, abs=1e-9)


def _csv(rows: list[dict[str, str]], path: Path) -> Path:
    path.write_text(
        "item_id,annotator_id,label\n"
        + "".join(f"{r['item_id']},{r['annotator_id']},{r['label']}\n" for r in rows)
    )
    return path


def test_repeated_judgements_and_many_annotators_give_the_same_report(tmp_path: Path) -> None:
    """Items grouped straight from the rows (few annotators, none repeated), through judgements
    (an annotator repeats an item), and with more annotators than the bit strings cover, all
    agree; an LLM file with one annotator per item too."""
    rows = _random_labels(5)
    llm = [{**row, "annotator_id": "llm"} for row in rows if row["annotator_id"] == "ann_a"]
    expected = file_agreement(_csv(rows, tmp_path / "plain.csv"), _csv(llm, tmp_path / "llm.csv"))
    repeated = rows + rows[::7]  # the same judgement again counts once
    llm_repeated = llm + llm[::3]
    assert (
        file_agreement(
            _csv(repeated, tmp_path / "repeated.csv"), _csv(llm_repeated, tmp_path / "llm2.csv")
        )
        == expected
    )
    # 400 annotators (each item's 4 are renamed by item): alpha and the consensus do not change
    many = [{**row, "annotator_id": f"{row['annotator_id']}_{row['item_id'][-2:]}"} for row in rows]
    report = file_agreement(_csv(many, tmp_path / "many.csv"), tmp_path / "llm.csv")
    assert report.annotators > 256
    assert report.krippendorff_alpha == pytest.approx(expected.krippendorff_alpha, abs=1e-12)
    assert report.against == expected.against
    conflicting = [*rows, {**rows[10], "label": "9"}]
    with pytest.raises(InputError, match="has different labels from annotator"):
        file_agreement(_csv(conflicting, tmp_path / "conflict.csv"))


def test_against_uses_the_label_order_for_weighted_kappa(tmp_path: Path) -> None:
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(3)
    order = ["low", "mid", "high"]
    first = rng.integers(0, 3, 300)
    second = np.where(rng.random(300) < 0.6, first, rng.integers(0, 3, 300))
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("item_id,label\n" + "".join(f"{i},{order[v]}\n" for i, v in enumerate(first)))
    b.write_text("item_id,label\n" + "".join(f"{i},{order[v]}\n" for i, v in enumerate(second)))
    report = file_agreement(a, b, level="ordinal", labels=order).against
    assert report is not None
    assert report.weighted_kappa == pytest.approx(
        metrics.cohen_kappa_score(first, second, weights="linear"), abs=1e-9
    )
    assert report.cohen_kappa == pytest.approx(metrics.cohen_kappa_score(first, second), abs=1e-9)
    recall = metrics.recall_score(
        second, first, average=None, labels=[0, 1, 2]
    )  # FILE2 is the reference
    assert [report.per_class[name].recall for name in order] == pytest.approx(
        list(recall), abs=1e-9
    )


def test_label_order() -> None:
    assert label_order({"10", "9", "1"}, None) == ["1", "9", "10"]
    assert label_order({"b", "a", "10"}, None) == ["10", "a", "b"]
    with pytest.raises(InputError, match="labels not in the given order: 'z'"):
        label_order({"a", "z"}, ["a", "b"])


BAD_FILES = {
    "ragged.csv": (
        b"item_id,annotator_id,label\n1,a,x\n2,a,y,z\n",
        "ragged.csv, line 3: expected 3 columns as in the header, found 4",
    ),
    "short.tsv": (
        b"item_id\tlabel\n1\tx\n2\n",
        "short.tsv, line 3: expected 2 columns as in the header, found 1",
    ),
    "latin1.csv": (b"item_id,label\n1,x\n2,caf\xe9\n", "latin1.csv, line 3: not UTF-8 text"),
    "empty.csv": (b"", "empty.csv: the file is empty"),
    "header_only.csv": (b"item_id,label\n", "header_only.csv: no label rows after the header"),
    "columns.csv": (b"item,label\n1,x\n", "columns.csv, line 1: missing column 'item_id'"),
    "conflict.csv": (
        b"item_id,annotator_id,label\n1,a,x\n2,a,x\n1,a,y\n",
        "conflict.csv: line 2 and line 4, columns item_id/annotator_id: item '1' has different labels from annotator 'a'",
    ),
    "blank.jsonl": (
        b'{"item_id": "1", "label": "x"}\n{"item_id": "2", "label": ""}\n',
        "blank.jsonl: line 2, column label: expected a value, found an empty one",
    ),
    "broken.jsonl": (
        b'{"item_id": "1", "label": "x"}\n{"item_id": "2" "label": "y"}\n',
        "broken.jsonl, line 2: malformed JSON",
    ),
    "broken.parquet": (b"PAR1 not really", "broken.parquet: not a readable Parquet file"),
    "tokens.csv": (
        b"item_id,label,input_tokens\n1,x,12\n2,y,many\n",
        "tokens.csv: line 3, column input_tokens: expected a whole number, 0 or more, got 'many'",
    ),
    # Numbers that parse but are not measurements: NaN, infinity, out of range.
    **{
        f"{column}_{value}.csv": (
            f"item_id,label,{column}\n1,x,0.5\n2,y,{value}\n".encode(),
            f"{column}_{value}.csv: line 3, column {column}: expected {words}, got '{value}'",
        )
        for column, value, words in [
            ("confidence", "NaN", "a number from 0 to 1"),
            ("confidence", "inf", "a number from 0 to 1"),
            ("confidence", "7.5", "a number from 0 to 1"),
            ("confidence", "-1", "a number from 0 to 1"),
            ("duration_s", "-30", "a number of seconds, 0 or more"),
            ("cost", "inf", "an amount, 0 or more"),
            ("cost", "NaN", "an amount, 0 or more"),
            ("cost", "-3.50", "an amount, 0 or more"),
            ("output_tokens", "-500", "a whole number, 0 or more"),
        ]
    },
}


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_bad_files_get_one_message_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    content, expected = BAD_FILES[name]
    path = tmp_path / name
    path.write_bytes(content)
    assert run(["agreement", str(path), "--json"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"procure: {expected}"), err
    assert "Traceback" not in err


def test_interval_level_needs_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["agreement", str(LABELS / "pairs.csv"), "--level", "interval"]) == 2
    assert "line 2, column label: expected a number, got 'x'" in capsys.readouterr().err


def test_cli_json_is_the_design_contract(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        run(
            [
                "agreement",
                str(LABELS / "pairs.csv"),
                "--against",
                str(LABELS / "gold.jsonl"),
                "--json",
            ]
        )
        == 0
    )
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert err == ""
    assert {
        "items",
        "annotators",
        "ratings",
        "level",
        "percent_agreement",
        "krippendorff_alpha",
        "fleiss_kappa",
        "cohen_kappa",
        "against",
    } <= set(report)
    assert {
        "items",
        "percent_agreement",
        "cohen_kappa",
        "cohen_kappa_ci95",
        "weighted_kappa",
        "confusion",
    } <= set(report["against"])
    assert run(["agreement", str(LABELS / "pairs.csv")]) == 0
    assert "Cohen kappa         0.4000" in capsys.readouterr().out


@pytest.mark.parametrize("labels", [5, 40, 90])
def test_bigint_hugeint_and_text_keys_agree(tmp_path: Path, labels: int) -> None:
    """With 3 annotators (base 4), 5 labels fit BIGINT keys, 40 need HUGEINT, 90 fall back to text
    keys; all give alpha as
    the krippendorff package does."""
    krippendorff = pytest.importorskip("krippendorff")
    rng = np.random.default_rng(labels)
    grid = rng.integers(0, labels, (3, 200)).astype(float)
    grid[1] = np.where(rng.random(200) < 0.6, grid[0], grid[1])
    grid[rng.random((3, 200)) < 0.2] = np.nan
    path = tmp_path / "labels.csv"
    path.write_text(
        "item_id,annotator_id,label\n"
        + "".join(
            f"{i},{a},{int(grid[a, i])}\n"
            for a in range(3)
            for i in range(200)
            if not np.isnan(grid[a, i])
        )
    )
    report = file_agreement(path, labels=[str(v) for v in range(labels)])
    expected = krippendorff.alpha(reliability_data=grid, level_of_measurement="nominal")
    assert report.krippendorff_alpha == pytest.approx(expected, abs=1e-9)


def test_labels_are_read_without_the_spaces_around_them(tmp_path: Path) -> None:
    # In the file and in --labels alike: " b" in a file is the label b that --labels names.
    path = tmp_path / "spaced.csv"
    path.write_text('item_id,annotator_id,label\n1,x," b"\n1,y,b\n2,x,"a\t"\n2,y,a\n')
    report = file_agreement(path, labels=["b", "a"])
    assert report.labels == ["b", "a"] and report.percent_agreement == 1.0
    assert file_agreement(path).labels == ["a", "b"]


def test_a_degenerate_kappa_is_undefined_not_certain() -> None:
    from procure.quality.results import Agreement

    # One source said only "A": kappa is 0 by construction, with a standard error of 0.
    metrics = pytest.importorskip("sklearn.metrics")
    first, second = ["A"] * 5, ["A", "A", "A", "B", "B"]
    assert metrics.cohen_kappa_score(first, second) == 0.0
    agreement = Agreement.of(np.array([[3, 2], [0, 0]]))
    assert (agreement.cohen_kappa, agreement.cohen_kappa_ci95) == (None, None)
    assert agreement.percent_agreement == pytest.approx(0.6)


def test_interval_labels_and_tie_breaks_are_matched_by_value(tmp_path: Path) -> None:
    """At interval level ``1``, ``01`` and ``1.0`` are one label: ``--labels`` and
    ``--tie-break`` name it by any spelling."""
    rated = tmp_path / "rated.csv"
    rated.write_text("item_id,annotator_id,label\n1,a,01\n1,b,2\n2,a,1.0\n2,b,1\n")
    gold = tmp_path / "gold.csv"
    gold.write_text("item_id,label\n1,1\n2,1\n")
    plain = file_agreement(rated, gold, level="interval", labels=["1", "2", "3"])
    assert plain.labels == ["1", "2", "3"] and plain.percent_agreement == pytest.approx(0.5)
    assert plain.against is not None and plain.against.items == 1  # item 1 (1 vs 2) is tied
    for spelling in ("1", "1.0", "01"):
        broken = file_agreement(rated, gold, level="interval", tie_break=[spelling]).against
        assert broken is not None and (broken.items, broken.percent_agreement) == (2, 1.0)
    with pytest.raises(InputError, match="labels not in the given order: '2'"):
        file_agreement(rated, level="interval", labels=["1.0", "3"])
    with pytest.raises(InputError, match="tie-break labels not among the labels: '4'"):
        file_agreement(rated, gold, level="interval", tie_break=["4"])
