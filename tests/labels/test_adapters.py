"""Label Studio and Labelbox exports, converted in DuckDB and imported like any label file."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from sqlmodel import Session, select

from procure.db import session_scope
from procure.errors import AlreadyImportedError, InputError
from procure.labels.adapters import convert, fields
from procure.labels.store import import_labels
from procure.records.catalog import save_task_type
from procure.records.models import TaskType
from procure.records.workspace import Workspace
from tests.conftest import DATA

EXPORTS = DATA / "exports"


@pytest.mark.parametrize(
    ("name", "adapter", "expected_fields", "rows"),
    [
        (
            "label_studio.json",
            "label-studio",
            ["quality", "sentiment"],
            # the cancelled annotation of task 12 is skipped; annotators by email, else id
            [
                ("11", "7", "neutral", "vaccines are great"),
                ("11", "ann@example.com", "positive", "vaccines are great"),
                ("12", "7", "negative", "not sure"),
            ],
        ),
        (
            "labelbox.ndjson",
            "labelbox",
            ["sentiment", "topics"],
            [
                ("ck02", "a@x.com", "negative", "not sure"),
                ("tweet-1", "a@x.com", "positive", "vaccines are great"),
                ("tweet-1", "b@x.com", "neutral", "vaccines are great"),
            ],
        ),
    ],
)
def test_exports_become_long_format(
    tmp_path: Path, name: str, adapter: str, expected_fields: list[str], rows: list[tuple[str, ...]]
) -> None:
    assert fields(EXPORTS / name, adapter) == expected_fields
    target = tmp_path / "labels.parquet"
    assert convert(EXPORTS / name, adapter, "sentiment", target) == 3
    assert (
        duckdb.execute("SELECT * FROM read_parquet(?) ORDER BY ALL", [str(target)]).fetchall()
        == rows
    )


def test_bad_exports_and_fields(tmp_path: Path) -> None:
    with pytest.raises(
        InputError, match="no label field 'stance' in the export; it has: quality, sentiment"
    ):
        convert(EXPORTS / "label_studio.json", "label-studio", "stance", tmp_path / "x.parquet")
    broken = tmp_path / "broken.json"
    broken.write_text('[{"id": 1, "annotations": [')
    with pytest.raises(
        InputError, match=r"broken\.json: malformed export; expected a Label Studio JSON export"
    ):
        fields(broken, "label-studio")


def test_import_an_export(sample: Workspace) -> None:
    with session_scope(sample.engine) as db:
        save_task_type(
            {
                "key": "stance",
                "name": "Stance",
                "unit": "tweet",
                "label_kind": "categorical",
                "labels": ["negative", "neutral", "positive"],
            },
            session=db,
        )
    store = sample.settings.label_store
    with session_scope(sample.engine) as db:
        label_set = import_labels(
            store,
            EXPORTS / "label_studio.json",
            source="gold",
            task_type_key="stance",
            adapter="label-studio",
            field="sentiment",
            session=db,
        )
    assert (label_set.rows, label_set.items, label_set.annotators, label_set.filename) == (
        3,
        2,
        2,
        "label_studio.json",
    )
    with pytest.raises(AlreadyImportedError), session_scope(sample.engine) as db:
        import_labels(
            store,
            EXPORTS / "label_studio.json",
            source="gold",
            task_type_key="stance",
            adapter="label-studio",
            field="sentiment",
            session=db,
        )
    with Session(sample.engine) as db:
        assert db.exec(select(TaskType).where(TaskType.key == "stance")).one().labels == [
            "negative",
            "neutral",
            "positive",
        ]
