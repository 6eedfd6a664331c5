"""The clock the scheduling code reads, injectable so tests control time."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Now = Callable[[], datetime]
"""Returns the current time, timezone-aware."""
Sleep = Callable[[float], None]
"""Waits a number of seconds."""


def system_now() -> datetime:
    """The real time in UTC."""
    return datetime.now(UTC)


def system_sleep(seconds: float) -> None:
    """Really wait."""
    if seconds > 0:
        time.sleep(seconds)


class ManualClock:
    """A clock that only moves when told to; its `sleep` advances it instead of waiting.

    Thread-safe, so several delivery threads may "sleep" on it at once.
    """

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start")
        self._now = start
        self._lock = threading.Lock()
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        """The current fake time."""
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        """Record the sleep and move the clock forward by it."""
        with self._lock:
            self.sleeps.append(seconds)
            if seconds > 0:
                self._now += timedelta(seconds=seconds)

    def advance(self, seconds: float) -> None:
        """Move the clock forward without recording a sleep."""
        with self._lock:
            self._now += timedelta(seconds=seconds)

    def set(self, when: datetime) -> None:
        """Jump to a time (forward or back)."""
        with self._lock:
            self._now = when
