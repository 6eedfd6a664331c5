"""Engine, sessions and the unit of work.

Repositories never commit: the caller's `unit_of_work()` owns the transaction. SQLite is
tuned for a small server (WAL, foreign keys, busy timeout); PostgreSQL runs the same code.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from bot.database_url import sqlite_file
from bot.private_files import create_private_file
from storage.failures import explain

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 15_000
WRITE_OPTION = "cspm_write"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the sqlite3 module, emit BEGIN (SQLAlchemy's documented recipe).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    # Writers take the write lock at BEGIN so they queue on busy_timeout instead of failing
    # to upgrade a read transaction (SQLITE_BUSY, which busy_timeout does not retry).
    # Readers begin deferred and never block each other (WAL).
    write = conn.get_execution_options().get(WRITE_OPTION, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL, as SQLAlchemy opens it (percent-decoded), or None for other
    databases and in-memory SQLite."""
    return sqlite_file(url)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; for SQLite, create the file (0600, in a 0700 folder when the folder
    is new; SQLite gives its -wal and -shm files the same mode) and set the pragmas."""
    if url.startswith("sqlite"):
        path = sqlite_path(url)
        if path is not None:
            create_private_file(path)
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 15})
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


class Database:
    """One engine and its session factory."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self._sessions = sessionmaker(
            self.engine.execution_options(**{WRITE_OPTION: True}), expire_on_commit=False
        )
        self._read_sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._write_turn: AbstractContextManager[object] = (
            threading.RLock() if url.startswith("sqlite") else nullcontext()
        )

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """A session whose transaction commits on success and rolls back on any error.

        On SQLite the threads of this `Database` take turns for it here: SQLite has one
        writer, and threads that instead wait on its busy handler sleep in growing steps, so
        many writers of one process would spend more time asleep than writing.
        """
        with self._write_turn:
            session = self._sessions()
            try:
                yield session
                session.commit()
            except BaseException as exc:
                self._rollback(session)
                self._raise_explained(exc)
                raise
            finally:
                session.close()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reads only (rolled back at the end)."""
        session = self._read_sessions()
        try:
            yield session
        except DBAPIError as exc:
            self._raise_explained(exc)
            raise
        finally:
            self._rollback(session)
            session.close()

    def upgrade(self) -> None:
        """Apply every Alembic migration (idempotent)."""
        from storage.migrate import upgrade

        try:
            upgrade(self.engine)
        except DBAPIError as exc:
            self._raise_explained(exc)
            raise

    def _raise_explained(self, exc: BaseException) -> None:
        """Raise a `DatabaseUnavailableError` in place of a driver error a person can act on
        (read-only, disk full, locked, unreachable); return for anything else."""
        explained = explain(exc, self.url)
        if explained is not None:
            log.debug("database unavailable: %s (%s)", explained.message, type(exc).__name__)
            raise explained from exc

    @staticmethod
    def _rollback(session: Session) -> None:
        try:
            session.rollback()
        except DBAPIError as exc:  # a dead connection: the original error is the one to tell
            log.debug("rollback failed: %s", exc.__class__.__name__)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
