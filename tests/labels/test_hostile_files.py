"""Label files that look valid but are not: ids and labels whose type changes from line to line,
labels that only look like the task type's, the same judgements imported again in another row
order or format, and two processes importing one file at once. Each is one message naming the
line and column, and the workspace is left exactly as it was."""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
from sqlmodel import Session, select

from procure.db import session_scope
from procure.errors import AlreadyImportedError, InputError
from procure.labels.store import import_labels
from procure.records.models import LabelSet
from procure.records.workspace import Workspace
from tests.conftest import procure_at_once, workspace_state


def _import(ws: Workspace, path: Path, **options: object) -> LabelSet:
    options = {"source": "gold", "task_type_key": "pref_pair", **options}
    with session_scope(ws.engine) as db:
        return import_labels(ws.settings.label_store, path, **options, session=db)  # type: ignore[arg-type]


def _jsonl(path: Path, rows: Sequence[Mapping[str, object]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (
            [{"item_id": 1, "label": "A"}, {"item_id": "x2", "label": "B"}],
            'line 2, column item_id: expected a whole number as at line 1, found a string ("x2")',
        ),
        (
            [{"item_id": "1", "label": "A"}, {"item_id": {"k": 3}, "label": "B"}],
            'line 2, column item_id: expected a string or a whole number, found an object ({"k":3})',
        ),
        (
            [{"item_id": "1", "label": "A"}, {"item_id": "2", "label": 1}],
            "line 2, column label: expected a string as at line 1, found a whole number (1)",
        ),
        (
            [{"item_id": 1, "label": "A"}, {"item_id": 2.5, "label": "B"}],
            "line 2, column item_id: expected a string or a whole number, found a number with "
            "a fraction (2.5)",
        ),
        (
            [
                {"item_id": "1", "annotator_id": "a", "label": "A"},
                {"item_id": "2", "annotator_id": ["a"], "label": "B"},
            ],
            'line 2, column annotator_id: expected a string or a whole number, found a list (["a"])',
        ),
    ],
)
def test_ids_and_labels_keep_one_type(
    sample: Workspace, tmp_path: Path, rows: list[dict[str, object]], expected: str
) -> None:
    """Before, a number in one line and a string in the next were stored as ``1`` and ``"x2"``
    (JSON quoting leaked into the ids) and the valid label "A" was reported as '"A"'."""
    path = _jsonl(tmp_path / "mixed.jsonl", rows)
    before = workspace_state(sample)
    with pytest.raises(InputError) as refused:
        _import(sample, path)
    assert (
        str(refused.value)
        == f"mixed.jsonl: {expected}; give every {expected.split('column ')[1].split(':')[0]} with one type"
    )
    assert workspace_state(sample) == before


def test_whole_number_ids_are_text_like_a_csv_file(sample: Workspace, tmp_path: Path) -> None:
    """Ids written as JSON numbers join with the same ids in a CSV file."""
    path = _jsonl(
        tmp_path / "numbers.jsonl", [{"item_id": 7, "label": "A"}, {"item_id": 8, "label": "tie"}]
    )
    stored = _import(sample, path)
    csv = tmp_path / "numbers.csv"
    csv.write_text("item_id,label\n8,tie\n7,A\n")
    with pytest.raises(AlreadyImportedError, match=f"label set {stored.id}"):
        _import(sample, csv)


def test_labels_are_compared_as_nfc_and_look_alikes_are_spelled_out(
    sample: Workspace, tmp_path: Path
) -> None:
    from procure.records.catalog import save_task_type
    from procure.records.models import TaskTypeBase

    with session_scope(sample.engine) as db:
        save_task_type(
            TaskTypeBase.model_validate(
                {
                    "key": "lang",
                    "name": "Language",
                    "unit": "item",
                    "label_kind": "categorical",
                    "labels": ["caf\u00e9", "tea"],
                }
            ),
            session=db,
        )
    decomposed = tmp_path / "nfd.csv"
    decomposed.write_text("item_id,label\n1,cafe\u0301\n2,tea\n", encoding="utf-8")
    assert _import(sample, decomposed, task_type_key="lang").rows == 2  # e + U+0301 is é

    lookalike = tmp_path / "fullwidth.csv"
    lookalike.write_text("item_id,label\n1,\uff34ea\n", encoding="utf-8")
    before = workspace_state(sample)
    with pytest.raises(InputError) as refused:
        _import(sample, lookalike, task_type_key="lang")
    assert (
        "'\uff34ea' (1 row, first at line 2) looks like 'tea' but is U+FF34 U+0065 U+0061, "
        "not U+0074 U+0065 U+0061"
    ) in str(refused.value)
    assert workspace_state(sample) == before


def test_the_same_judgements_in_another_order_or_format_are_a_re_import(
    sample: Workspace, tmp_path: Path
) -> None:
    """Before, shuffling the rows made a new label set (and moved the human-ceiling figure)."""
    rng = random.Random(13)
    rows = [
        {"item_id": f"i{n}", "annotator_id": f"a{k}", "label": rng.choice(["A", "B", "tie"])}
        for n in range(200)
        for k in range(3)
    ]
    first = tmp_path / "labels.csv"
    first.write_text(
        "item_id,annotator_id,label\n"
        + "".join(f"{r['item_id']},{r['annotator_id']},{r['label']}\n" for r in rows)
    )
    stored = _import(sample, first)
    shuffled = rows + rows[:5]  # and a repeated judgement, which is the same judgement
    rng.shuffle(shuffled)
    again = _jsonl(tmp_path / "again.jsonl", [dict(reversed(list(r.items()))) for r in shuffled])
    before = workspace_state(sample)
    with pytest.raises(AlreadyImportedError, match=f"already imported as label set {stored.id}"):
        _import(sample, again)
    assert workspace_state(sample) == before
    changed = _jsonl(tmp_path / "changed.jsonl", [*rows[:-1], {**rows[-1], "label": "X"}])
    with pytest.raises(InputError, match="outside the task type's set"):
        _import(sample, changed)
    other = [*rows[:-1], {**rows[-1], "label": "A" if rows[-1]["label"] != "A" else "B"}]
    assert _import(sample, _jsonl(tmp_path / "other.jsonl", other)).id != stored.id
    forced = _import(sample, again, force=True)
    assert (forced.content_key, forced.repeat) == (stored.content_key, 1)


@pytest.mark.parametrize("settings", ["sqlite", "postgresql"], indirect=True)
def test_two_processes_importing_one_file_store_it_once(sample: Workspace, tmp_path: Path) -> None:
    """A database-level guarantee (the content key is unique), not a check-then-insert: four
    processes started together store one label set; the others say it is already imported."""
    path = tmp_path / "labels.csv"
    path.write_text(
        "item_id,annotator_id,label\n"
        + "".join(f"i{n},a{n % 4},{['A', 'B', 'tie'][n % 3]}\n" for n in range(20_000))
    )
    command = ["labels", "import", str(path), "--task-type", "pref_pair", "--gold"]
    results = procure_at_once(sample.settings, [command] * 4)
    assert sorted(code for code, _ in results) == [0, 2, 2, 2], results
    assert all("already imported" in err for code, err in results if code == 2), results
    assert all("Traceback" not in err for _, err in results)
    with Session(sample.engine) as db:
        stored = db.exec(select(LabelSet).where(LabelSet.filename == "labels.csv")).all()
    assert len(stored) == 1
    files = [p for p in sample.settings.label_store.rglob("*.parquet") if p.name.startswith(".")]
    assert files == []  # no temporary file left behind by the processes that lost


@pytest.mark.parametrize("cut", [8, 1000, 30_000])
def test_a_gzip_file_cut_short_is_refused(tmp_path: Path, cut: int) -> None:
    """DuckDB may read a truncated gzip up to the cut and report it complete; procure checks the
    stream's end marker (before: `procure agreement` reported the cut file as complete)."""
    import gzip

    from procure.quality import file_agreement

    rows = "item_id,annotator_id,label\n" + "".join(
        f"i{n // 3},a{n % 3},{'AB'[n % 2]}\n" for n in range(60_000)
    )
    whole = gzip.compress(rows.encode())
    path = tmp_path / "labels.csv.gz"
    path.write_bytes(whole[:-cut])
    with pytest.raises(InputError, match=r"labels\.csv\.gz: the gzip file is cut short"):
        file_agreement(path)
    two_members = gzip.compress(rows.encode()[:40]) + gzip.compress(rows.encode()[40:])
    path.write_bytes(two_members)  # concatenated gzip files are one valid file
    assert file_agreement(path).ratings == 60_000


def test_a_line_beyond_the_size_limit_names_the_limit(tmp_path: Path) -> None:
    """Before: "CSV Error on Line: 2", no column, no limit named."""
    from procure.quality import file_agreement

    path = tmp_path / "big.csv"
    path.write_text("item_id,label,text\n1,A,short\n2,B," + "x" * 10_000_000 + "\n")
    with pytest.raises(InputError) as refused:
        file_agreement(path)
    assert str(refused.value).startswith(
        "big.csv, line 3: a line of 10.0 MB; expected lines of at most 2 MB"
    )


def test_an_object_id_after_the_rows_duckdb_samples_is_refused(
    sample: Workspace, tmp_path: Path
) -> None:
    """DuckDB infers JSON types from the first 20,480 rows; an object id further on would be
    stored as its JSON text."""
    rows: list[dict[str, object]] = [{"item_id": f"i{n}", "label": "A"} for n in range(30_000)]
    path = _jsonl(tmp_path / "late.jsonl", [*rows, {"item_id": {"k": 3}, "label": "B"}])
    before = workspace_state(sample)
    with pytest.raises(InputError) as refused:
        _import(sample, path)
    assert str(refused.value) == (
        "late.jsonl: line 30001, column item_id: expected a string or a whole number, found an "
        'object ({"k":3}); give every item_id with one type'
    )
    assert workspace_state(sample) == before
