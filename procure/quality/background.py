"""Derived figures computed in the background and kept as files in the workspace, named by the
data version they were computed from, so any write to the workspace makes them stale. A marker
file says a computation is under way; one older than ``STALE_AFTER`` is taken as abandoned."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from procure.db import session_scope
from procure.labels.selection import select_labels
from procure.quality.reliability import dawid_skene_report
from procure.results import to_json

RUNNING = "running"
STALE_AFTER = 600.0  # seconds


def result_path(home: Path, version: int, name: str, key: Any) -> Path:
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    return home / "derived" / f"{name}-v{version}-{digest}.json"


def _marker(path: Path) -> Path:
    return path.with_suffix(".running")


def read_result(path: Path) -> dict[str, Any] | str | None:
    """The stored result (``{"result": ...}`` or ``{"error": ...}``), ``RUNNING``, or ``None``."""
    if path.exists():
        loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return loaded
    marker = _marker(path)
    if marker.exists() and time.time() - marker.stat().st_mtime < STALE_AFTER:
        return RUNNING
    return None


def claim(path: Path) -> bool:
    """Mark a computation as under way; ``False`` when one already is."""
    if read_result(path) is not None:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    _marker(path).write_text(str(os.getpid()), encoding="utf-8")
    return True


def _store(path: Path, payload: dict[str, Any]) -> None:
    scratch = path.with_suffix(".tmp")
    scratch.write_text(json.dumps(payload, default=str), encoding="utf-8")
    os.replace(scratch, path)  # readers see the whole result or none
    _marker(path).unlink(missing_ok=True)


def compute_dawid_skene(
    engine: Engine, store: Path, task_key: str, batch_ids: list[int] | None, path: Path
) -> None:
    """Fit Dawid-Skene for a selection and store the report (or the error) at ``path``."""
    try:
        with session_scope(engine) as session:
            selection = select_labels(
                task_key, batch_ids=batch_ids, store=store, with_llm=False, session=session
            )
            payload: dict[str, Any] = {
                "result": to_json(dawid_skene_report(store, selection, session=session))
            }
    except Exception as exc:
        payload = {"error": str(exc)}
    _store(path, payload)
