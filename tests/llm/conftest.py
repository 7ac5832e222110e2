"""Fixtures of the LLM tests: a local Chat Completions server and a workspace with a task type
and the model's price."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal as D
from pathlib import Path

import pytest
from sqlmodel import Session

from procure.config import Settings
from procure.db import session_scope
from procure.records.catalog import save_task_type
from procure.records.llm_prices import save_price
from procure.records.workspace import Workspace, open_workspace
from tests.llm.server import ChatServer, chat_server

PRICE_IN, PRICE_OUT = D("0.15"), D("0.60")


@pytest.fixture
def server() -> Iterator[ChatServer]:
    with chat_server() as state:
        yield state


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    ws = open_workspace(Settings(home=tmp_path / "ws"))
    with session_scope(ws.engine) as db:
        llm_catalog(db)
    yield ws
    ws.engine.dispose()


def llm_catalog(db: Session) -> None:
    """The task type "topic" (labels A, B, C) and the price of the model "tiny"."""
    save_task_type(
        {
            "key": "topic",
            "name": "Topic",
            "unit": "post",
            "label_kind": "categorical",
            "labels": ["A", "B", "C"],
        },
        session=db,
    )
    save_price(
        {
            "model": "tiny",
            "price_in_per_mtok": PRICE_IN,
            "price_out_per_mtok": PRICE_OUT,
            "read_on": date(2026, 11, 1),
        },
        session=db,
    )
