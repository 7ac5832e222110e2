"""The workspace's own files: private to their owner, and the temporary files of a write in
progress, each group locked by its writer so leftovers are removed exactly when nobody can be
using them.

A write (a label import) takes ``WriteLock``: it creates ``.importing-<id>.lock`` and holds an
exclusive ``flock`` on it while it works; its temporary files are named ``.importing-<id>-*``.
The operating system releases a ``flock`` when its process ends, however it ends (kill -9
included), so ``sweep`` (run when a workspace is opened and before each import) removes a
group whose lock it can take: its writer is gone. A group without a lock file is older than
locks, and removed once it is an hour old.
"""

from __future__ import annotations

import fcntl
import os
import time
import uuid
from pathlib import Path
from types import TracebackType

PRIVATE_FOLDER, PRIVATE_FILE = 0o700, 0o600  # a workspace is its owner's alone
TEMPORARY_PREFIX = ".importing-"
UNLOCKED_AGE_SECONDS = 3600


def make_private_folder(path: Path) -> None:
    """Create ``path`` (and its parents) readable by its owner only; an existing folder is kept
    as its owner set it."""
    if not path.exists():
        path.mkdir(mode=PRIVATE_FOLDER, parents=True, exist_ok=True)


class WriteLock:
    """A write in progress in ``folder``: ``temporary(name)`` paths belong to it until it ends."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.id = uuid.uuid4().hex
        self.descriptor: int | None = None

    @property
    def lock_path(self) -> Path:
        return self.folder / f"{TEMPORARY_PREFIX}{self.id}.lock"

    def temporary(self, name: str) -> Path:
        return self.folder / f"{TEMPORARY_PREFIX}{self.id}-{name}"

    def __enter__(self) -> WriteLock:
        make_private_folder(self.folder)
        self.descriptor = os.open(self.lock_path, os.O_CREAT | os.O_RDWR, PRIVATE_FILE)
        fcntl.flock(self.descriptor, fcntl.LOCK_EX)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        for path in self.folder.glob(f"{TEMPORARY_PREFIX}{self.id}-*"):
            path.unlink(missing_ok=True)
        self.lock_path.unlink(missing_ok=True)
        if self.descriptor is not None:
            os.close(self.descriptor)  # releases the lock


def sweep(folder: Path, *, now: float | None = None) -> list[Path]:
    """Remove the temporary files of writes that ended without cleaning up (see the module)."""
    if not folder.exists():
        return []
    now = time.time() if now is None else now
    removed: list[Path] = []
    groups: dict[str, list[Path]] = {}
    for path in folder.glob(f"{TEMPORARY_PREFIX}*"):
        key = path.name.removeprefix(TEMPORARY_PREFIX).split("-")[0].split(".")[0]
        groups.setdefault(key, []).append(path)
    for key, paths in groups.items():
        lock = folder / f"{TEMPORARY_PREFIX}{key}.lock"
        if lock.exists():
            if not _writer_gone(lock):
                continue
        elif all(now - p.stat().st_mtime <= UNLOCKED_AGE_SECONDS for p in paths if p.exists()):
            continue
        for path in sorted(paths, key=lambda p: p == lock):  # the lock file last
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def _writer_gone(lock: Path) -> bool:
    try:
        descriptor = os.open(lock, os.O_RDWR)
    except FileNotFoundError:
        return False  # its writer just finished
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(descriptor)  # our own lock, if we took it, goes with it
    return True
