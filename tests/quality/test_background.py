"""Background results kept as files named by the data version."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from procure.config import Settings
from procure.quality import background
from procure.records.workspace import open_workspace


@pytest.mark.real_clock
def test_a_result_goes_from_nothing_to_running_to_stored(tmp_path: Path) -> None:
    path = background.result_path(tmp_path, 3, "dawid_skene", ["pref_pair", None])
    assert path.name.startswith("dawid_skene-v3-")
    assert background.result_path(tmp_path, 4, "dawid_skene", ["pref_pair", None]) != path
    assert background.read_result(path) is None
    assert background.claim(path)
    assert background.read_result(path) == background.RUNNING
    assert not background.claim(path)  # one computation at a time
    workspace = open_workspace(Settings(home=tmp_path / "ws"))
    background.compute_dawid_skene(
        workspace.engine, workspace.settings.label_store, "nope", None, path
    )
    workspace.engine.dispose()
    stored = background.read_result(path)
    assert isinstance(stored, dict) and "no task type 'nope'" in stored["error"]
    assert not path.with_suffix(".running").exists()


@pytest.mark.real_clock
def test_an_abandoned_marker_is_ignored(tmp_path: Path) -> None:
    path = background.result_path(tmp_path, 1, "dawid_skene", ["t", [1, 2]])
    assert background.claim(path)
    old = time.time() - background.STALE_AFTER - 1
    os.utime(path.with_suffix(".running"), (old, old))
    assert background.read_result(path) is None
    assert background.claim(path)
    assert background.read_result(path) == background.RUNNING
