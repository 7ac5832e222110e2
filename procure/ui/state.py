"""Workspace access for pages: one engine per database URL, a session per unit of work."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Protocol, TypeVar

import streamlit as st
from sqlmodel import Session

from procure.config import Settings, today
from procure.db import session_scope
from procure.errors import ProcureError
from procure.records import Workspace, open_workspace
from procure.ui.widgets import escape

AS_OF_KEY = "as_of"
T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


@st.cache_resource(max_entries=4, show_spinner=False)
def _workspace(home: str, database_url: str | None) -> Workspace:
    # One engine (a connection pool) shared by all sessions; never mutated after creation.
    return open_workspace(Settings(home=home, database_url=database_url), create=True)


@functools.lru_cache(maxsize=8)
def _settings(environment: tuple[tuple[str, str], ...]) -> Settings:
    return Settings()


def workspace() -> Workspace:
    # Settings come from the PROCURE_* environment; parsed once per distinct environment, since a
    # page asks for the workspace several times a run.
    environment = tuple(
        sorted((k.upper(), v) for k, v in os.environ.items() if k.upper().startswith("PROCURE_"))
    )
    settings = _settings(environment)
    return _workspace(str(settings.home), settings.database_url)


@contextmanager
def session(*, read_only: bool = True) -> Iterator[Session]:
    """A unit of work on the workspace; pages read (sharing SQLite with writers), ``commit``
    writes (waiting for SQLite's write lock first)."""
    with session_scope(workspace().engine, read_only=read_only) as db_session:
        yield db_session


def as_of() -> date:
    """The report date chosen in the sidebar (today by default)."""
    value = st.session_state.get(AS_OF_KEY)
    return value if isinstance(value, date) else today()


@contextmanager
def reported_errors() -> Iterator[None]:
    """Show a ``ProcureError`` as ``st.error`` (its transaction is already rolled back)."""
    try:
        yield
    except ProcureError as exc:
        st.error(escape(str(exc)), icon=":material/error:")


class SessionAction(Protocol[T_co]):
    """A domain call with everything bound but the session (``functools.partial`` of one)."""

    def __call__(self, *, session: Session) -> T_co: ...


def commit(action: SessionAction[T], message: str | Callable[[T], str]) -> None:
    """Run ``action(session=...)`` in its own transaction; once committed, rerun the page showing
    ``message``.

    A ``ProcureError`` rolls the transaction back and is shown with ``st.error``. (The rerun
    must come after the commit: ``st.rerun`` raises, and inside the transaction it would undo it.)
    """
    try:
        with session(read_only=False) as db_session:
            result = action(session=db_session)
    except ProcureError as exc:
        st.error(escape(str(exc)), icon=":material/error:")
        return
    st.session_state["_flash"] = message(result) if callable(message) else message
    st.rerun()


def show_flash() -> None:
    message = st.session_state.pop("_flash", None)
    if message:
        st.success(escape(message), icon=":material/check_circle:")
