"""The one place database engines and sessions are made, and the schema is migrated."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Integer,
    SmallInteger,
    create_engine,
    event,
)
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlmodel import Session

from procure.config import Settings
from procure.errors import InputError, WorkspaceBusyError
from procure.workfiles import PRIVATE_FILE, make_private_folder

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
# The newest migration; a test checks it against the migration scripts. Comparing with this
# constant, rather than parsing every script, keeps each command's start fast.
HEAD_REVISION = "0008"
# How long a writer waits for SQLite's write lock (another process's import or decision) before
# it is told the workspace is busy.
SQLITE_LOCK_WAIT_SECONDS = 60


def make_engine(settings: Settings) -> Engine:
    """Create the engine for the workspace's record store (SQLite file or PostgreSQL).

    A new SQLite workspace is private: its folder 0700 and its database 0600 (SQLite gives its
    -wal and -shm files the database's permissions).
    """
    url = settings.resolved_database_url
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        make_private_folder(settings.home)
        if not settings.sqlite_path.exists() and settings.database_url is None:
            os.close(os.open(settings.sqlite_path, os.O_CREAT | os.O_WRONLY, PRIVATE_FILE))
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_LOCK_WAIT_SECONDS},
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    try:
        return create_engine(url, pool_pre_ping=True)
    except (ArgumentError, ValueError) as exc:
        raise InputError(
            f"PROCURE_DATABASE_URL is not a database URL ({exc}); expected "
            "postgresql://USER@HOST:PORT/DATABASE or sqlite:///PATH"
        ) from None
    except ImportError as exc:  # a dialect whose driver is not installed
        raise InputError(
            f"PROCURE_DATABASE_URL names a database procure cannot use: {exc}"
        ) from None


# --- the limits of the columns --------------------------------------------------------------------

MONEY_DIGITS = 14  # NUMERIC(24, 10): digits before the point


def column_problem(column: Column[Any], value: object) -> str | None:
    """What is wrong with ``value`` for ``column`` on either database, or ``None``: checked
    before every write, so SQLite and PostgreSQL accept and refuse the same values, with the
    same message (PostgreSQL enforces these limits, SQLite none)."""
    from procure.money import MoneyType

    kind = column.type
    if isinstance(value, str):
        length = getattr(kind, "length", None)
        if "\x00" in value:
            return "contains a NUL character (U+0000), which no text can hold here"
        if length is not None and len(value) > length:
            return f"expected at most {length:,} characters, got {len(value):,}"
    elif isinstance(value, int) and not isinstance(value, bool) and isinstance(kind, Integer):
        # PostgreSQL's ranges; SQLite would store anything.
        bits = 63 if isinstance(kind, BigInteger) else 15 if isinstance(kind, SmallInteger) else 31
        if not -(2**bits) <= value < 2**bits:
            return f"expected a whole number below {2**bits:,}, got {value:,}"
    elif (
        isinstance(value, Decimal)
        and isinstance(kind, MoneyType)
        and (not value.is_finite() or abs(value) >= Decimal(10) ** MONEY_DIGITS)
    ):
        return f"expected an amount below 10^{MONEY_DIGITS}, got {value}"
    return None


@event.listens_for(Session, "before_flush")
def _check_limits(session: Session, _context: object, _instances: object) -> None:
    for record in (*session.new, *session.dirty):
        table = getattr(type(record), "__table__", None)
        if table is None:
            continue
        for column in table.columns:
            problem = column_problem(column, getattr(record, column.key, None))
            if problem:
                what = table.name.replace("_", " ")
                raise InputError(f"{what} {column.name.replace('_', ' ')}: {problem}")


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    # The driver's own transaction handling commits before DDL, so a migration that failed half
    # way would leave its tables behind; procure begins every transaction itself instead
    # (SQLAlchemy's recipe for pysqlite), which makes DDL transactional like the rest.
    dbapi_connection.isolation_level = None  # type: ignore[attr-defined]
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    # A unit of work takes the write lock when it begins (IMMEDIATE): one that read first and
    # wrote later would be refused at once, without waiting, whenever another process wrote in
    # between (SQLite cannot move a WAL reader's snapshot forward). Readers say so and share.
    reading = connection.get_execution_options().get(READ_ONLY, False)
    connection.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")


READ_ONLY = "procure_read_only"


@contextmanager
def session_scope(engine: Engine, *, read_only: bool = False) -> Iterator[Session]:
    """One unit of work: commit on success, roll back everything on any error. A ``read_only``
    one does not wait for, or hold up, writers on SQLite."""
    bind = engine.execution_options(**{READ_ONLY: True}) if read_only else engine
    session = Session(bind, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except OperationalError as exc:
        session.rollback()
        if is_locked(exc):
            raise WorkspaceBusyError(
                "the workspace is busy: another procure command held its write lock for more "
                f"than {SQLITE_LOCK_WAIT_SECONDS} s; nothing was changed, run this again when "
                "it is done"
            ) from None
        raise
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def is_locked(exc: OperationalError) -> bool:
    return "database is locked" in str(exc.orig) or "database is busy" in str(exc.orig)


def _alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` (default: the newest)."""
    from alembic import command

    command.upgrade(_alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    command.downgrade(_alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    """The schema's migration, or ``None`` for an empty database."""
    from sqlalchemy import inspect, text

    with engine.execution_options(**{READ_ONLY: True}).connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def is_current(engine: Engine) -> bool:
    """True when the database schema is at the newest migration."""
    return current_revision(engine) == HEAD_REVISION


def check_schema(engine: Engine, label: str) -> str | None:
    """The schema's migration, after making sure this procure can use the database: it can be
    reached, and its schema is not newer than this procure's (a team member upgraded)."""
    try:
        revision = current_revision(engine)
    except OperationalError as exc:
        raise InputError(f"cannot open the records database {label}: {reason(exc)}") from None
    if revision is not None and _newer(revision):
        raise InputError(
            f"the records database {label} is at schema {revision}, newer than this procure "
            f"(which knows up to {HEAD_REVISION}); upgrade procure to the version your team "
            "uses, then run the command again (nothing was changed)"
        )
    return revision


def _newer(revision: str) -> bool:
    return bool(re.fullmatch(r"\d{4}", revision)) and int(revision) > int(HEAD_REVISION)


def reason(exc: OperationalError) -> str:
    """The driver's first line, without the SQL or the traceback, and what to check."""
    first = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else type(exc).__name__
    hint = (
        "check that the server runs and accepts connections"
        if "connect" in first.lower() or "refused" in first.lower()
        else "check PROCURE_DATABASE_URL and that the database exists"
    )
    return f"{first.removeprefix('connection failed: ')}; {hint}"


def script_heads(engine: Engine) -> list[str]:
    """The newest revisions according to the migration scripts themselves."""
    from alembic.script import ScriptDirectory

    return list(ScriptDirectory.from_config(_alembic_config(engine)).get_heads())
