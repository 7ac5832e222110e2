"""Settings, built from the environment on demand (never at import time)."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from procure.errors import InputError


class Settings(BaseSettings):
    """Where the workspace lives.

    ``PROCURE_HOME`` is the workspace folder (SQLite file and label store);
    ``PROCURE_DATABASE_URL`` moves the records to another database, such as PostgreSQL.
    """

    model_config = SettingsConfigDict(env_prefix="PROCURE_", extra="ignore")

    home: Path = Path("procure_data")
    database_url: str | None = None

    @property
    def sqlite_path(self) -> Path:
        return self.home / "procure.db"

    @property
    def label_store(self) -> Path:
        return self.home / "labels"

    @property
    def llm_jobs(self) -> Path:
        """Journals of LLM labelling jobs, until their labels are stored."""
        return self.home / "llm_jobs"

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.sqlite_path.resolve()}"

    @property
    def database_label(self) -> str:
        """The database URL without any password, for display."""
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            return make_url(self.resolved_database_url).render_as_string(hide_password=True)
        except ArgumentError:
            return "PROCURE_DATABASE_URL (not a database URL)"


TODAY_VARIABLE = "PROCURE_TODAY"


def today() -> date:
    """The date reports default to: ``PROCURE_TODAY`` (an ISO date) when set, else the system's.

    Every "today" in procure comes from here, so a demo, a test or a reproduction can pin it.
    """
    pinned = os.environ.get(TODAY_VARIABLE)
    if not pinned:
        return date.today()
    try:
        return date.fromisoformat(pinned)
    except ValueError:
        raise InputError(
            f"{TODAY_VARIABLE}={pinned!r} is not a date (expected YYYY-MM-DD)"
        ) from None


USER_VARIABLE = "PROCURE_USER"


def local_user() -> str:
    """Who acts, until login exists: ``PROCURE_USER`` when set, else the system's user name."""
    pinned = os.environ.get(USER_VARIABLE, "").strip()
    if pinned:
        return pinned
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in a container without /etc/passwd entry
        return "local"
