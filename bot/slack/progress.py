"""Live scan-progress messages and immediate failure alerts, driven by scan engine events.

`ProgressTracker.track(scan_id, channel, ts)` ties a posted message to a scan. The engine
calls `on_event` from its threads (it must be quick: it only marks the message dirty). One
worker thread sends the updates with chat.update, at most one per message per
`min_interval` seconds: events that arrive meanwhile are coalesced into the next update, and
the final state is always sent. When a scan ends Partially Completed or Failed, `on_finished`
runs on the same worker (the failure alert to the project's channel).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.engine.engine import ScanEvent

log = logging.getLogger(__name__)

Payload = dict[str, Any]
MIN_INTERVAL = 1.0
"""Seconds between two updates of one message (Slack allows about one per second)."""


@dataclass
class _Tracked:
    scan_id: int
    channel: str
    ts: str
    last_sent: float = 0.0
    dirty: bool = False
    final: bool = False


@dataclass
class _State:
    messages: list[_Tracked] = field(default_factory=list)
    finished: list[ScanEvent] = field(default_factory=list)
    closed: bool = False


class ProgressTracker:
    """Throttled, coalesced chat.update of scan-progress messages."""

    def __init__(
        self,
        client: WebClient,
        render: Callable[[int], Payload],
        on_finished: Callable[[ScanEvent], None] | None = None,
        min_interval: float = MIN_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.render = render
        self.on_finished = on_finished
        self.min_interval = min_interval
        self._clock = clock
        self._state = _State()
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._loop, name="cspm-progress", daemon=True)
        self._thread.start()

    # --- producers -------------------------------------------------------------------------
    def track(self, scan_id: int, channel: str, ts: str) -> None:
        """Keep the message (`channel`, `ts`) up to date with scan `scan_id`.

        The message was just posted with the current state, so the next update waits a full
        interval; it is marked dirty in case the scan moved meanwhile.
        """
        with self._cond:
            self._state.messages.append(
                _Tracked(scan_id, channel, ts, last_sent=self._clock(), dirty=True)
            )
            self._cond.notify()

    def on_event(self, event: ScanEvent) -> None:
        """Engine listener: mark the scan's messages dirty (never blocks on Slack)."""
        with self._cond:
            if self._state.closed:
                return
            for m in self._state.messages:
                if m.scan_id == event.scan_id:
                    m.dirty = True
                    m.final = m.final or event.kind == "finished"
            if event.kind == "finished" and event.status.has_errors:
                self._state.finished.append(event)
            self._cond.notify()

    def tracked_scans(self) -> list[int]:
        """The scans whose messages are still being kept up to date."""
        with self._cond:
            return sorted({m.scan_id for m in self._state.messages})

    def tracked(self) -> int:
        """How many messages are still being kept up to date."""
        with self._cond:
            return len(self._state.messages)

    def close(self) -> None:
        """Stop the worker (pending updates are dropped)."""
        with self._cond:
            self._state.closed = True
            self._cond.notify()
        self._thread.join(timeout=5)

    # --- the worker --------------------------------------------------------------------------
    def _take_work(self) -> tuple[list[_Tracked], list[ScanEvent]] | None:
        """Wait for due updates or finished scans; None once closed."""
        with self._cond:
            while True:
                state = self._state
                if state.closed:
                    return None
                now = self._clock()
                due = [
                    m for m in state.messages if m.dirty and now - m.last_sent >= self.min_interval
                ]
                finished, state.finished = state.finished, []
                if due or finished:
                    for m in due:
                        m.dirty = False
                        m.last_sent = now
                    return due, finished
                waits = [self.min_interval - (now - m.last_sent) for m in state.messages if m.dirty]
                self._cond.wait(timeout=max(0.01, min(waits)) if waits else None)

    def _loop(self) -> None:
        while True:
            work = self._take_work()
            if work is None:
                return
            due, finished = work
            rendered: dict[int, Payload | None] = {}
            for m in due:
                if m.scan_id not in rendered:
                    rendered[m.scan_id] = self._render(m.scan_id)
                self._send(m, rendered[m.scan_id])
                with self._cond:
                    m.last_sent = self._clock()  # the interval runs from when Slack got it
            with self._cond:
                self._state.messages = [m for m in self._state.messages if m.dirty or not m.final]
            for event in finished:
                if self.on_finished is not None:
                    try:
                        self.on_finished(event)
                    except Exception:
                        log.exception("failure alert for scan %s failed", event.scan_id)

    def _render(self, scan_id: int) -> Payload | None:
        try:
            return self.render(scan_id)
        except Exception:
            log.exception("cannot render the progress of scan %s", scan_id)
            return None

    def _send(self, m: _Tracked, payload: Payload | None) -> None:
        if payload is None:
            return
        try:
            self.client.chat_update(
                channel=m.channel, ts=m.ts, text=payload["text"], blocks=payload["blocks"]
            )
        except SlackApiError as exc:
            log.warning(
                "cannot update the progress of scan %s (%s)", m.scan_id, exc.response.get("error")
            )
        except Exception:
            log.exception("cannot update the progress of scan %s", m.scan_id)
