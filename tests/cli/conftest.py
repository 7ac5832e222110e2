"""The command-line tests' workspace: the sample, loaded by `procure init --with-sample`."""

from __future__ import annotations

from pathlib import Path

import pytest

from procure.cli import run
from tests.conftest import SAMPLE_TODAY


@pytest.fixture
def home(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    home = str(tmp_path / "ws")
    assert run(["--home", home, "init", "--with-sample", "--today", SAMPLE_TODAY.isoformat()]) == 0
    capsys.readouterr()
    return home
