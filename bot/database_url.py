"""The file behind a SQLite database URL, read the one way SQLAlchemy reads it.

A URL's path is percent-decoded (``sqlite:////srv/my%20data/cspm.db`` opens
``/srv/my data/cspm.db``): whoever creates or checks the data folder must look at the folder
SQLAlchemy opens, so everything asks `sqlite_file`, which takes SQLAlchemy's own
``make_url(url).database``. `sqlite_url` goes the other way, quoting a path into a URL.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

_TRUE = ("1", "true", "yes", "on")


def sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL opens; None for other databases, in-memory SQLite and URLs
    SQLAlchemy cannot parse."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return None
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database
    if not database or ":memory:" in database:
        return None
    uri = str(parsed.query.get("uri", "")).lower() in _TRUE
    if uri and database.startswith("file:"):
        # SQLite URI filenames (``?uri=true``): the path part of ``file:...?mode=...``
        parts = urlsplit(database)
        memory = parsed.query.get("mode") == "memory" or "mode=memory" in parts.query
        if memory or not parts.path:
            return None
        return Path(unquote(parts.path))
    return Path(database)


def sqlite_url(path: Path) -> str:
    """The SQLite URL that opens `path` (its characters percent-encoded where needed)."""
    return "sqlite:///" + quote(str(path))
