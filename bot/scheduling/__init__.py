"""Scheduled scans, failure digests, on-call alerts and automatic retries.

Entry points:

- `start_scheduling(rt, client) -> SchedulingService` for the serve command, `stop()` at exit;
- `bot.scheduling.cli.add_cli(subparsers)` for ``cspm-bot digest …`` / ``schedule …``;
- `handlers.digest.handle_digest_command(rt, text, channel_id, user_id)` for ``/cspm digest``.

The package itself imports nothing heavy, so ``cspm-bot --help`` (which builds the parser
with `add_cli`) stays fast: the names below load on first use. Every module that touches the
scheduling tables imports `storage.models_scheduling`, which registers them on
`storage.models.Base` (Alembic's env.py imports it too).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.scheduling.service import SchedulingService, start_scheduling

__all__ = ["SchedulingService", "register_tables", "start_scheduling"]


def register_tables() -> None:
    """Register the scheduling tables on `storage.models.Base` (e.g. before `drop_all`)."""
    import storage.models_scheduling  # noqa: F401


def __getattr__(name: str) -> Any:
    if name in ("SchedulingService", "start_scheduling"):
        from bot.scheduling import service

        return getattr(service, name)
    raise AttributeError(f"module 'bot.scheduling' has no attribute {name!r}")
