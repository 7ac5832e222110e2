"""kill -9 at points of each write path, with real processes: the workspace opens afterwards,
reports what it reported before the write (or after it, never half), holds no leftovers, and
accepts the same command again."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlmodel import Session, select

from procure.config import Settings
from procure.records import open_workspace
from procure.records.models import Contract, LabelSet
from tests.conftest import PROCURE_CLI

CLI = PROCURE_CLI


def _start(home: Path, *args: str) -> subprocess.Popen[str]:
    environment = {**os.environ, "PROCURE_HOME": str(home), "PROCURE_TODAY": "2026-11-19"}
    return subprocess.Popen(
        [*CLI, *args], env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _kill_when(
    process: subprocess.Popen[str], ready: Callable[[], bool], timeout: float = 60
) -> bool:
    """kill -9 the process once ``ready()`` is true; False when it finished first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        if ready():
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
            return True
        time.sleep(0.005)
    raise AssertionError("the moment to kill never came")


def _leftovers(home: Path) -> list[Path]:
    return [p for p in (home / "labels").rglob(".importing-*")]


@pytest.mark.parametrize("moment", ["parsing", "staged"])
def test_a_label_import_killed_leaves_nothing_and_runs_again(tmp_path: Path, moment: str) -> None:
    home = tmp_path / "ws"
    assert (
        subprocess.run(
            [*CLI, "--home", str(home), "init", "--with-sample", "--today", "2026-11-19"],
            capture_output=True,
        ).returncode
        == 0
    )
    path = tmp_path / "labels.csv"
    with path.open("w") as out:
        out.write("item_id,annotator_id,label\n")
        out.writelines(f"i{n // 3},a{n % 3},{['A', 'B', 'tie'][n % 3]}\n" for n in range(1_500_000))
    settings = Settings(home=home)
    workspace = open_workspace(settings)
    with Session(workspace.engine) as db:
        before = len(db.exec(select(LabelSet)).all())
    process = _start(home, "labels", "import", str(path), "--task-type", "pref_pair", "--gold")
    store = home / "labels"
    condition = {
        "parsing": lambda: any(store.glob(".importing-*.lock")),
        "staged": lambda: any(store.glob(".importing-*-staged.parquet")),
    }[moment]
    if not _kill_when(process, condition):
        pytest.skip("the import finished before the moment came")  # pragma: no cover
    assert _leftovers(home)  # the killed writer could not clean up
    reopened = open_workspace(settings)  # opening sweeps what no live writer holds
    assert _leftovers(home) == []
    with Session(reopened.engine) as db:
        assert len(db.exec(select(LabelSet)).all()) == before
    again = subprocess.run(
        [
            *CLI,
            "--home",
            str(home),
            "labels",
            "import",
            str(path),
            "--task-type",
            "pref_pair",
            "--gold",
        ],
        capture_output=True,
        text=True,
    )
    assert again.returncode == 0, again.stderr
    with Session(reopened.engine) as db:
        assert len(db.exec(select(LabelSet)).all()) == before + 1
    for engine in (workspace.engine, reopened.engine):
        engine.dispose()


@pytest.mark.real_clock  # compares file times with the clock
def test_a_live_imports_files_are_not_swept(tmp_path: Path) -> None:
    """How "nothing can be using them" is decided: the writer's flock on its lock file, which
    the operating system releases when the writer dies, however it dies."""
    from procure.workfiles import WriteLock, sweep

    with WriteLock(tmp_path) as lock:
        staged = lock.temporary("staged.parquet")
        staged.write_bytes(b"in progress")
        assert sweep(tmp_path, now=time.time() + 10 * 3600) == []
        assert staged.exists()
    assert list(tmp_path.iterdir()) == []  # a writer that ends cleans up itself
    old = tmp_path / ".importing-0123abcd.parquet"  # before locks existed: an hour's grace
    old.write_bytes(b"x")
    assert sweep(tmp_path) == []
    assert sweep(tmp_path, now=time.time() + 7200) == [old]


def test_init_with_the_sample_killed_during_the_load_loads_it_when_run_again(
    tmp_path: Path,
) -> None:
    """Before: the killed load left an empty workspace, and running it again said "up to date"
    and loaded nothing."""
    home = tmp_path / "ws"
    process = _start(home, "init", "--with-sample", "--today", "2026-11-19")
    killed = _kill_when(process, lambda: any((home / "labels").rglob("*.parquet")))
    assert killed, "the sample load finished before it could be killed"
    workspace = open_workspace(Settings(home=home))
    with Session(workspace.engine) as db:
        assert db.exec(select(Contract)).all() == []  # nothing half loaded
    again = subprocess.run(
        [*CLI, "--home", str(home), "init", "--with-sample", "--today", "2026-11-19"],
        capture_output=True,
        text=True,
    )
    assert again.returncode == 0 and "sample workspace loaded" in again.stdout, again.stderr
    with Session(workspace.engine) as db:
        assert len(db.exec(select(Contract)).all()) == 5
        assert len(db.exec(select(LabelSet)).all()) > 0
    workspace.engine.dispose()
