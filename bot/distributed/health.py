"""What ``/healthz`` says about the broker and the Celery workers, cached briefly."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from celery import Celery

log = logging.getLogger(__name__)

PING_TIMEOUT = 1.0
"""Seconds the workers have to answer a ping."""
CACHE_SECONDS = 10.0
"""How long one answer is reused: probes every few seconds never add load on the broker."""


def broker_reachable(app: Celery, timeout: float = 2.0) -> bool:
    """True if the broker accepts a connection within about `timeout` seconds."""
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=timeout)
            conn.default_channel  # noqa: B018 - opens a channel: the broker really answers
        return True
    except Exception as exc:
        log.warning("health check: the broker does not answer (%s)", type(exc).__name__)
        return False


class BrokerHealth:
    """The broker's reachability and the workers that answered a ping, by queue."""

    def __init__(
        self, app: Celery, cache_seconds: float = CACHE_SECONDS, timeout: float = PING_TIMEOUT
    ) -> None:
        self.app = app
        self.cache_seconds = cache_seconds
        self.timeout = timeout
        self._lock = threading.Lock()
        self._at = -1e9
        self._report: dict[str, Any] = {}

    def report(self) -> dict[str, Any]:
        """``{"broker": "ok" | "unreachable", "workers": {"seen": N, "slack": n, "scans": n}}``."""
        with self._lock:
            if time.monotonic() - self._at >= self.cache_seconds:
                self._report = self._measure()
                self._at = time.monotonic()
            return dict(self._report)

    def _measure(self) -> dict[str, Any]:
        if not broker_reachable(self.app):
            return {"broker": "unreachable", "workers": {"seen": 0}}
        try:
            replies = self.app.control.ping(timeout=self.timeout) or []
        except Exception as exc:
            log.warning("health check: pinging the workers failed (%s)", type(exc).__name__)
            replies = []
        names = sorted(name for reply in replies for name in reply)
        workers: dict[str, Any] = {"seen": len(names)}
        for name in names:
            queue = name.split("-", 1)[0]
            workers[queue] = int(workers.get(queue, 0)) + 1
        return {"broker": "ok", "workers": workers}
