"""Database failures a person can act on, told in words instead of a driver traceback.

`explain(exc, url)` turns the driver errors of a database that cannot be used right now (a
read-only file or file system, a full disk, a lock held by another process, a server that is
down or read-only) into a `DatabaseUnavailableError` whose message names the database
(password hidden) and what to do. Anything else is left alone: it is a bug to report.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from sqlalchemy import make_url
from sqlalchemy.exc import DBAPIError

from bot.database_url import sqlite_file
from bot.errors import DatabaseUnavailableError

LOW_SPACE_BYTES = 1 << 20
"""Below this much free space, a SQLite write error is reported as a full disk."""

_PG_READ_ONLY = "25006"  # read_only_sql_transaction
_PG_DISK_FULL = "53100"  # disk_full
_PG_GONE_CLASSES = ("08", "57P")  # connection exceptions; operator intervention (shutdown)


def _where(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL is reported as given, minus any password part
        return url.split("@")[-1]


def _free_bytes(path: Path) -> int | None:
    for candidate in (path.parent, *path.parents):
        if candidate.exists():
            try:
                return int(shutil.disk_usage(candidate).free)
            except OSError:
                return None
    return None


def _sqlite_message(text: str, path: Path, where: str) -> str | None:
    folder = path.parent
    if "readonly" in text or "read-only" in text:
        return (
            f"The database {path} is read-only: cspm-bot must be able to write the file and "
            f"its folder {folder} (SQLite keeps its -wal and -shm files there). Check the "
            "file system is mounted read-write and the owner and mode of both. "
            "Nothing was changed."
        )
    if "unable to open database file" in text:
        if folder.exists() and not os.access(folder, os.W_OK):
            return (
                f"The database {path} cannot be opened for writing: its folder {folder} is "
                "read-only (SQLite keeps its -wal and -shm files there). Mount it read-write "
                "or fix its owner and mode. Nothing was changed."
            )
        return (
            f"The database {path} cannot be opened: check that its folder {folder} exists "
            "and that cspm-bot may read and write both."
        )
    if "disk is full" in text or "disk i/o error" in text:
        free = _free_bytes(path)
        if "disk is full" in text or (free is not None and free < LOW_SPACE_BYTES):
            shown = f" ({free:,} bytes free)" if free is not None else ""
            return (
                f"The disk under the database {path} is full{shown}: free some space, then "
                "try again. What was being written was rolled back; the database is intact."
            )
        return (
            f"The disk under the database {path} reported an I/O error: check the disk and "
            "its free space, then try again."
        )
    if "database is locked" in text:
        return (
            f"The database {where} is locked by another process or connection and stayed "
            "locked for longer than cspm-bot waits (15 s): try again in a moment."
        )
    return None


def _postgres_message(exc: DBAPIError, where: str) -> str | None:
    code = str(getattr(exc.orig, "sqlstate", "") or "")
    text = str(exc.orig).lower()
    if code == _PG_READ_ONLY:
        return (
            f"The database {where} is read-only (the server or the database is set to "
            "read-only transactions, or this is a standby): point CSPM_DATABASE_URL at a "
            "writable primary. Nothing was changed."
        )
    if code == _PG_DISK_FULL or "no space left on device" in text:
        return (
            f"The database server {where} has no disk space left: free some space on it, "
            "then try again. What was being written was rolled back."
        )
    if "authentication failed" in text:
        return (
            f"The database server {where} refused the user and password in "
            "CSPM_DATABASE_URL: check them."
        )
    if "does not exist" in text and "database" in text and code in ("", "3D000"):
        return (
            f"The database named in CSPM_DATABASE_URL does not exist on {where}: create it "
            "(CREATE DATABASE), then start again."
        )
    if (
        code.startswith(_PG_GONE_CLASSES)
        or exc.connection_invalidated
        or "connection" in text
        or "the database system is" in text
    ):
        return (
            f"The database server {where} cannot be reached right now (it may be down or "
            "restarting): try again in a moment."
        )
    return None


def explain(exc: BaseException, url: str) -> DatabaseUnavailableError | None:
    """The error to show for `exc` raised by the database at `url`, or None if it is not a
    database that cannot be used right now (then `exc` is a bug, to be raised as it is)."""
    if not isinstance(exc, DBAPIError):
        return None
    where = _where(url)
    path = sqlite_file(url)
    if url.startswith("sqlite"):
        text = str(exc.orig).lower()
        message = _sqlite_message(text, path or Path(":memory:"), where)
        transient = "database is locked" in text
    else:
        message = _postgres_message(exc, where)
        transient = message is not None and _postgres_gone(exc)
    return DatabaseUnavailableError(message, transient=transient) if message else None


def _postgres_gone(exc: DBAPIError) -> bool:
    """A server that is down, restarting or unreachable (not one refusing what it was asked)."""
    code = str(getattr(exc.orig, "sqlstate", "") or "")
    text = str(exc.orig).lower()
    if code in (_PG_READ_ONLY, _PG_DISK_FULL) or "authentication failed" in text:
        return False
    if "does not exist" in text and "database" in text:
        return False
    return (
        code.startswith(_PG_GONE_CLASSES)
        or exc.connection_invalidated
        or "connection" in text
        or "the database system is" in text
    )
