"""The label store: imports are validated, all or nothing, detected when repeated, and an
interrupted import leaves nothing a reader can see."""

from __future__ import annotations

import gzip
import os
import time
from decimal import Decimal as D
from pathlib import Path

import duckdb
import pytest
from sqlmodel import Session, select

from procure.db import session_scope
from procure.errors import AlreadyImportedError, InputError
from procure.labels.store import LlmRunSpec, import_labels, label_sets, sweep
from procure.records.catalog import save_task_type
from procure.records.models import Batch, LabelSet, LlmRun
from procure.records.workspace import Workspace
from tests.conftest import SAMPLE_TODAY


def _store_files(ws: Workspace) -> list[Path]:
    return sorted(p for p in ws.settings.label_store.rglob("*") if p.is_file())


def _first_batch(ws: Workspace, ref: str = "NW-PP-01") -> Batch:
    with Session(ws.engine) as db:
        batch = db.exec(select(Batch).where(Batch.ref == ref)).one()
    return batch


def _import(ws: Workspace, path: Path, **options: object) -> LabelSet:
    with session_scope(ws.engine) as db:
        return import_labels(ws.settings.label_store, path, **options, session=db)  # type: ignore[arg-type]


def test_vendor_labels_are_stored_as_parquet_with_codes(sample: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "batch.csv.gz"
    with gzip.open(path, "wt") as handle:
        handle.write(
            "item_id,annotator_id,label,confidence\n1,a,A,0.9\n1,b,B,\n2,a,tie,0.5\n2,a,tie,0.5\n"
        )
    label_set = _import(
        sample, path, source="vendor", task_type_key="pref_pair", batch_id=_first_batch(sample).id
    )
    assert (label_set.rows, label_set.items, label_set.annotators) == (
        3,
        2,
        2,
    )  # the repeated row counts once
    stored = sample.settings.label_store / label_set.path
    rows = duckdb.execute(
        f"SELECT item_id, annotator_id, label, label_code, confidence FROM '{stored}' ORDER BY ALL"
    ).fetchall()
    assert rows == [("1", "a", "A", 0, 0.9), ("1", "b", "B", 1, None), ("2", "a", "tie", 2, 0.5)]
    assert _store_files(sample) == [stored]


@pytest.mark.parametrize("annotators", [4, 300])
def test_counts_and_repeats_with_few_and_many_annotators(
    sample: Workspace, tmp_path: Path, annotators: int
) -> None:
    """Up to 256 annotators repeats are found per item with bit strings, beyond that by grouping
    (item, annotator) pairs; both give the counts an independent query gives, and a conflict
    between two of an item's annotators is found in a file with repeats."""
    rows = duckdb.execute(
        f"""SELECT 'i' || (i // 3) AS item_id, 'a' || ((i // 3 + i % 3) % {annotators}) AS annotator_id,
               ['A', 'B', 'tie'][1 + (hash(i) % 3)::INTEGER] AS label
            FROM range(3000) AS r(i)"""
    ).fetchall()
    for name, content in (("plain", rows), ("repeated", rows + rows[::50])):
        path = tmp_path / f"{name}_{annotators}.csv"
        path.write_text(
            "item_id,annotator_id,label\n" + "".join(",".join(r) + "\n" for r in content)
        )
        # The repeated file holds the same judgements: only a forced import stores it again.
        label_set = _import(
            sample, path, source="gold", task_type_key="pref_pair", force=name == "repeated"
        )
        expected = duckdb.execute(
            f"SELECT count(DISTINCT (item_id, annotator_id)), count(DISTINCT item_id), "
            f"count(DISTINCT annotator_id) FROM read_csv('{path}')"
        ).fetchone()
        assert (label_set.rows, label_set.items, label_set.annotators) == expected, name
    assert label_set.rows == 3000
    item, annotator, label = rows[7]
    path.write_text(path.read_text() + f"{item},{annotator},{'A' if label != 'A' else 'B'}\n")
    with pytest.raises(InputError, match=f"item '{item}' has different labels from annotator"):
        _import(sample, path, source="gold", task_type_key="pref_pair", force=True)


def test_llm_run_keeps_model_tokens_and_cost(sample: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "llm.jsonl"
    path.write_text(
        '{"item_id": "1", "label": "A", "input_tokens": 120, "output_tokens": 3, "cost": 0.00031}\n'
        '{"item_id": "2", "label": "B", "input_tokens": 100, "output_tokens": 2, "cost": 0.00027}\n'
    )
    label_set = _import(
        sample,
        path,
        source="llm",
        task_type_key="pref_pair",
        llm=LlmRunSpec("gpt-x", "openai", "v1"),
    )
    with Session(sample.engine) as db:
        run = db.exec(select(LlmRun).where(LlmRun.label_set_id == label_set.id)).one()
    assert (run.model, run.provider, run.prompt_version) == ("gpt-x", "openai", "v1")
    assert (run.input_tokens, run.output_tokens) == (220, 5)
    assert run.cost == D("0.00058")  # exactly: summed as decimals, not floats


def test_an_llm_runs_cost_is_summed_exactly(sample: Workspace, tmp_path: Path) -> None:
    """As floats 0.1 + 0.2 is 0.30000000000000004, which SQLite kept and PostgreSQL rounded."""
    path = tmp_path / "llm.csv"
    path.write_text("item_id,label,cost\n1,A,0.1\n2,B,0.2\n")
    label_set = _import(
        sample, path, source="llm", task_type_key="pref_pair", llm=LlmRunSpec("gpt-x")
    )
    with Session(sample.engine) as db:
        run = db.exec(select(LlmRun).where(LlmRun.label_set_id == label_set.id)).one()
    assert str(run.cost).rstrip("0") == "0.3"


def test_bad_files_leave_the_workspace_unchanged(sample: Workspace, tmp_path: Path) -> None:
    batch_id = _first_batch(sample).id
    cases = {
        "outside.csv": (
            "item_id,label\n1,A\n2,C\n3,maybe\n4,C\n",
            "column label: labels outside the task type's set (A, B, tie): 'C' (2 rows, first at line 3); 'maybe' (1 row, first at line 4)",
        ),
        "conflict.csv": (
            "item_id,annotator_id,label\n1,a,A\n1,a,B\n",
            "line 2 and line 3, columns item_id/annotator_id: item '1' has different labels",
        ),
        "ragged.csv": ("item_id,label\n1,A\n2,B,x\n", "ragged.csv, line 3: expected 2 columns"),
        "tokens.csv": (
            "item_id,label,input_tokens\n1,A,ten\n",
            "line 2, column input_tokens: expected a whole number, 0 or more, got 'ten'",
        ),
        "confidence.csv": (
            "item_id,label,confidence\n1,A,0.9\n2,B,NaN\n",
            "line 3, column confidence: expected a number from 0 to 1, got 'NaN'",
        ),
        "cost.jsonl": (
            '{"item_id": "1", "label": "A", "cost": -3.5}\n',
            "line 1, column cost: expected an amount, 0 or more, got '-3.5'",
        ),
    }
    for name, (content, message) in cases.items():
        path = tmp_path / name
        path.write_text(content)
        with pytest.raises(InputError) as raised:
            _import(sample, path, source="vendor", task_type_key="pref_pair", batch_id=batch_id)
        assert message in str(raised.value), name
        with Session(sample.engine) as db:
            assert label_sets(session=db) == []
        assert _store_files(sample) == [], name

    for adapter in (None, "label-studio"):
        with pytest.raises(InputError, match=r"nope\.json: cannot read the file: No such file"):
            _import(
                sample,
                tmp_path / "nope.json",
                source="gold",
                task_type_key="pref_pair",
                adapter=adapter,
                field="choice",
            )


def test_rating_labels_must_be_on_the_scale_or_numbers(sample: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "ratings.csv"
    path.write_text("item_id,label\n1,4\n2,good\n")
    with pytest.raises(
        InputError,
        match=r"outside the task type's set \(1, 2, 3, 4, 5\): 'good' \(1 row, first at line 3\)",
    ):
        _import(sample, path, source="gold", task_type_key="sft_instruction")
    with session_scope(sample.engine) as db:
        save_task_type(
            {"key": "score", "name": "Score", "unit": "item", "label_kind": "rating", "labels": []},
            session=db,
        )
    with pytest.raises(InputError, match="line 3, column label: expected a number, got 'good'"):
        _import(sample, path, source="gold", task_type_key="score")


def test_the_same_file_twice_is_refused_unless_forced(sample: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "gold.csv"
    path.write_text("item_id,label\n1,A\n2,B\n")
    _import(sample, path, source="gold", task_type_key="pref_pair")
    stored = _store_files(sample)
    with pytest.raises(AlreadyImportedError, match="already imported as label set"):
        _import(sample, path, source="gold", task_type_key="pref_pair")
    assert _store_files(sample) == stored  # the refused copy was parsed, then removed
    _import(sample, path, source="gold", task_type_key="pref_pair", force=True)
    with Session(sample.engine) as db:
        assert len(label_sets(session=db)) == 2


def test_targets_are_checked(sample: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "l.csv"
    path.write_text("item_id,label\n1,A\n")
    with pytest.raises(InputError, match="belong to a delivered batch"):
        _import(sample, path, source="vendor", task_type_key="pref_pair")
    with pytest.raises(InputError, match="is not a batch of task type 'pref_pair'"):
        _import(
            sample,
            path,
            source="vendor",
            task_type_key="pref_pair",
            batch_id=_first_batch(sample, "LL-SFT-1").id,
        )
    with pytest.raises(InputError, match="needs the model"):
        _import(sample, path, source="llm", task_type_key="pref_pair", llm=LlmRunSpec(" "))
    with pytest.raises(InputError, match="no task type 'essay'"):
        _import(sample, path, source="gold", task_type_key="essay")


@pytest.mark.real_clock
def test_an_interrupted_import_leaves_nothing_visible_and_is_swept(
    sample: Workspace, tmp_path: Path
) -> None:
    path = tmp_path / "gold.csv"
    path.write_text("item_id,label\n1,A\n")
    with pytest.raises(RuntimeError), session_scope(sample.engine) as db:
        import_labels(
            sample.settings.label_store, path, source="gold", task_type_key="pref_pair", session=db
        )
        raise RuntimeError("the process dies before the record is committed")
    with Session(sample.engine) as db:
        assert label_sets(session=db) == []
    [orphan] = _store_files(sample)
    stale = sample.settings.label_store / ".importing-stale.parquet"
    stale.write_bytes(b"half written")
    with session_scope(sample.engine) as db:
        assert (
            sweep(sample.settings.label_store, session=db) == []
        )  # too young: may be an import in progress
    hours_ago = time.time() - 7200
    for leftover in (orphan, stale):
        os.utime(leftover, (hours_ago, hours_ago))
    again = tmp_path / "gold2.csv"
    again.write_text("item_id,label\n2,B\n")
    label_set = _import(sample, again, source="gold", task_type_key="pref_pair")  # it sweeps first
    assert _store_files(sample) == [sample.settings.label_store / label_set.path]


def test_records_survive_a_sweep(sample: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "gold.csv"
    path.write_text("item_id,label\n1,A\n")
    label_set = _import(sample, path, source="gold", task_type_key="pref_pair")
    stored = sample.settings.label_store / label_set.path
    os.utime(stored, (time.time() - 7200,) * 2)
    with session_scope(sample.engine) as db:
        assert sweep(sample.settings.label_store, session=db) == []
    assert stored.exists()


def test_a_large_import_reports_its_progress(sample: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "large.csv"
    duckdb.execute(
        f"COPY (SELECT 'i' || (i // 3) AS item_id, 'a' || (i % 3) AS annotator_id,"
        f" ['A', 'B', 'tie'][1 + (i * 7919) % 3] AS label FROM range(3000000) AS t(i))"
        f" TO '{path}' (HEADER)"
    )
    reported: list[float] = []
    label_set = _import(
        sample,
        path,
        source="gold",
        task_type_key="pref_pair",
        progress=reported.append,
    )
    assert label_set.rows == 3_000_000
    assert reported, "no progress reported during a 3M-row import"
    assert reported == sorted(reported) and reported[0] > 0 and reported[-1] <= 1


def test_labelled_batches_are_chosen_by_vendor_and_week() -> None:
    from procure.labels import BatchFilter

    batches = [
        Batch(
            id=i,
            week=w,
            contract_id=1,
            task_type_id=1,
            ref=f"B{i}",
            quantity=10,
            delivered_on=SAMPLE_TODAY,
        )
        for i, w in ((1, 1), (2, 2), (3, 2))
    ]
    labelled = BatchFilter(batches, {1: "Acme", 2: "Acme", 3: "Birch"})
    assert (labelled.vendors, labelled.weeks) == (["Acme", "Birch"], [1, 2])
    assert labelled.chosen([], []) is None  # no filter: every batch, labelled or not yet
    assert labelled.chosen(["Acme"], []) == (1, 2)
    assert labelled.chosen(["Acme"], [2]) == (2,)
    assert labelled.chosen(["Birch"], [1]) == ()
