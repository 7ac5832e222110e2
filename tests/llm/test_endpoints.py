"""The model's provider in the price table chooses the endpoint (before: every model went to
OpenAI's unless told otherwise, a Claude model included)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D
from pathlib import Path

import pandas as pd
import pytest
from sqlmodel import Session, select

from procure import llm
from procure.cli import run
from procure.db import session_scope
from procure.errors import InputError
from procure.records.llm_prices import save_price
from procure.records.models import LlmJob, LlmPrice
from procure.records.workspace import Workspace
from tests.llm.server import ChatServer
from tests.llm.test_jobs import items


def _price(provider: str) -> LlmPrice:
    return LlmPrice(
        model="m",
        provider=provider,
        price_in_per_mtok=D(1),
        price_out_per_mtok=D(2),
        read_on=date(2026, 11, 1),
    )


def test_the_provider_chooses_the_endpoint_unless_one_is_given() -> None:
    assert llm.base_url_for("", _price("openai")) == "https://api.openai.com/v1"
    assert llm.base_url_for("", _price("Anthropic ")) == "https://api.anthropic.com/v1"
    openai = llm.hosted_endpoint("https://api.openai.com/v1/")
    assert openai is not None and openai.key_name == "OPENAI_API_KEY"
    assert llm.base_url_for(" http://h:1/v1/ ", _price("anthropic")) == "http://h:1/v1"
    assert llm.hosted_endpoint("http://h:1/v1") is None
    with pytest.raises(InputError, match="provider 'acme', whose endpoint procure does not know"):
        llm.base_url_for("", _price("acme"))
    with pytest.raises(InputError, match="gives model 'm' no provider"):
        llm.base_url_for("", _price(""))


def _add_model(workspace: Workspace, model: str, provider: str) -> None:
    with session_scope(workspace.engine) as db:
        save_price(
            {
                "model": model,
                "provider": provider,
                "price_in_per_mtok": "1",
                "price_out_per_mtok": "2",
                "read_on": date(2026, 11, 1),
            },
            session=db,
        )


def _run(workspace: Workspace, file: Path, model: str, *extra: str) -> list[str]:
    return [
        "--home",
        str(workspace.settings.home),
        "llm",
        "run",
        "--task-type",
        "topic",
        "--model",
        model,
        "--items",
        str(file),
        "--max-retries",
        "0",
        "--timeout",
        "1",
        *extra,
    ]


@pytest.mark.parametrize(
    ("provider", "expected"),
    [
        ("acme", "provider 'acme', whose endpoint procure does not know"),
        ("anthropic", "set ANTHROPIC_API_KEY to your anthropic API key"),
    ],
)
def test_the_cli_refuses_a_model_without_a_known_endpoint_or_its_key(
    workspace: Workspace,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    provider: str,
    expected: str,
) -> None:
    """Before: the request went to OpenAI with the OpenAI key (or asked for that key)."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-for-this-provider")
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    _add_model(workspace, "their-model", provider)
    file = tmp_path / "items.csv"
    pd.DataFrame(items(2), columns=["item_id", "text"]).to_csv(file, index=False)
    code = run(_run(workspace, file, "their-model"))
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and expected in err, err
    with Session(workspace.engine) as db:
        assert db.exec(select(LlmJob)).all() == []


def test_a_given_endpoint_wins_and_the_provider_is_recorded(
    workspace: Workspace, server: ChatServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _add_model(workspace, "claude-local", "anthropic")
    file = tmp_path / "items.csv"
    pd.DataFrame(items(2), columns=["item_id", "text"]).to_csv(file, index=False)
    assert run(_run(workspace, file, "claude-local", "--base-url", server.base_url)) == 0
    with Session(workspace.engine) as db:
        job = db.exec(select(LlmJob)).one()
    assert (job.base_url, job.provider, job.done) == (server.base_url, "anthropic", 2)


def test_a_trailing_slash_does_not_make_a_new_job(
    workspace: Workspace, server: ChatServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before: the same endpoint with a trailing slash ran (and paid for) the items again."""
    _add_model(workspace, "local-model", "")
    file = tmp_path / "items.csv"
    pd.DataFrame(items(2), columns=["item_id", "text"]).to_csv(file, index=False)
    assert run(_run(workspace, file, "local-model", "--base-url", server.base_url)) == 0
    capsys.readouterr()
    again = _run(workspace, file, "local-model", "--base-url", server.base_url + "/")
    assert run(again) == 2
    assert "job 1 labelled these items already" in capsys.readouterr().err
    # A job stored before URLs were normalised (with the slash) is the same job too.
    with session_scope(workspace.engine) as db:
        job = db.exec(select(LlmJob)).one()
        job.base_url = server.base_url + "/"
        db.add(job)
    assert run(_run(workspace, file, "local-model", "--base-url", server.base_url)) == 2
    assert "job 1 labelled these items already" in capsys.readouterr().err
    with Session(workspace.engine) as db:
        assert len(db.exec(select(LlmJob)).all()) == 1


def test_a_hosted_endpoint_given_by_hand_needs_its_key(
    workspace: Workspace,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Before: ``--base-url https://api.openai.com/v1/`` without a key started a job that failed
    on every item."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    _add_model(workspace, "local-model", "")
    file = tmp_path / "items.csv"
    pd.DataFrame(items(2), columns=["item_id", "text"]).to_csv(file, index=False)
    command = _run(workspace, file, "local-model", "--base-url", "https://api.openai.com/v1/")
    assert run(command) == 2
    assert "set OPENAI_API_KEY to your openai API key" in capsys.readouterr().err
    with Session(workspace.engine) as db:
        assert db.exec(select(LlmJob)).all() == []
