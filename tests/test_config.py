"""The foundations' settings: the one "today" and the workspace settings from the environment."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine

from procure.config import TODAY_VARIABLE, today
from procure.errors import InputError


def test_today_is_the_pinned_date_else_the_system_date(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TODAY_VARIABLE, "2027-03-01")
    assert today() == date(2027, 3, 1)
    monkeypatch.delenv(TODAY_VARIABLE)
    with time_machine.travel(datetime(2031, 7, 4, 12, tzinfo=UTC), tick=False):
        assert today() == date(2031, 7, 4)
    monkeypatch.setenv(TODAY_VARIABLE, "2027-02-30")
    with pytest.raises(InputError, match=r"PROCURE_TODAY='2027-02-30' is not a date"):
        today()
