"""One validation of every value against its column before any write: the inputs PostgreSQL
refused with a DataError traceback (and SQLite stored) are refused on both, with one message."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from procure.cli import run
from procure.config import Settings
from procure.records import open_workspace
from tests.conftest import DATA, workspace_state

LONG = "x" * 300


def _document(tmp_path: Path, vendor: str) -> str:
    document = yaml.safe_load((DATA / "contract.yaml").read_text())
    document["vendors"][0]["name"] = vendor
    document["contracts"][0]["vendor"] = vendor
    path = tmp_path / "contract.json"
    path.write_text(json.dumps(document, default=str))
    return str(path)


def _labels(tmp_path: Path, item: str = "1") -> str:
    path = tmp_path / "labels.csv"
    path.write_text(f"item_id,label\n{item},A\n2,B\n")
    return str(path)


CASES: dict[str, tuple[Callable[[Path], list[str]], str]] = {
    "a 300-character label set name": (
        lambda tmp: [
            "labels",
            "import",
            _labels(tmp),
            "--task-type",
            "pref_pair",
            "--gold",
            "--name",
            LONG,
        ],
        "label set name: expected at most 200 characters, got 300",
    ),
    "a 300-character LLM model": (
        lambda tmp: [
            "labels",
            "import",
            _labels(tmp),
            "--task-type",
            "pref_pair",
            "--llm-model",
            LONG,
            "--name",
            "short",
        ],
        "llm run model: expected at most 200 characters, got 300",
    ),
    "a 500-character review item id": (
        lambda tmp: ["review", "add", "i" * 500, "A", "--task-type", "pref_pair"],
        "review item id: expected at most",
    ),
    "a rate of 1e20": (
        lambda tmp: ["fx", "set", "EUR", "1e20"],
        "expected an amount below 10^14, got 1E+20",
    ),
    "a token price of 1e20": (
        lambda tmp: ["llm-price", "set", "big", "--in", "1e20", "--out", "1"],
        "price_in_per_mtok: expected a finite amount below 10^14, got 1E+20",
    ),
    "a NUL character in a vendor name": (
        lambda tmp: ["contract", "import", _document(tmp, "Acme\u0000Data")],
        "vendors[0].name: contains a NUL character (U+0000)",
    ),
    "a 3,000,000,000-unit batch": (
        lambda tmp: [
            "batch",
            "add",
            "1",
            "--task-type",
            "pref_pair",
            "--week",
            "1",
            "--quantity",
            "3000000000",
            "--delivered-on",
            "2026-10-10",
        ],
        "3,000,000,000",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_same_hostile_inputs_are_refused_on_both_databases(
    settings: Settings,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    case: str,
) -> None:
    if settings.database_url:
        monkeypatch.setenv("PROCURE_DATABASE_URL", settings.database_url)
    home = ["--home", str(settings.home)]
    monkeypatch.setenv("PROCURE_TODAY", "2026-11-19")
    assert run([*home, "init"]) == 0
    assert run([*home, "contract", "import", str(DATA / "contract.yaml")]) == 0
    capsys.readouterr()
    workspace = open_workspace(settings)
    before = workspace_state(workspace)
    command, expected = CASES[case]
    code = run([*home, *command(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    assert expected in err and "Traceback" not in err and len(err.splitlines()) == 1, err
    assert workspace_state(workspace) == before
    workspace.engine.dispose()
