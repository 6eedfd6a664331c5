"""Scan-progress messages when the scan runs on other workers.

The process that posted a progress message keeps it up to date (`ProgressTracker`), driven by
the engine's events. With a broker, the scan's jobs run on scan workers: the Slack worker
that posted the message sees no event. `ProgressPoller` reads the tracked scans' counts from
the database (one read per tracked scan every second) and turns each change into the event
the tracker expects: the same throttled, coalesced updates, and the final one.
"""

from __future__ import annotations

import logging
import threading

from bot.engine.engine import ScanEvent
from bot.services.scans import ScanService
from bot.slack.progress import ProgressTracker

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0


class ProgressPoller:
    """Feeds `tracker` with events read from the database."""

    def __init__(
        self, scans: ScanService, tracker: ProgressTracker, interval: float = POLL_SECONDS
    ) -> None:
        self.scans = scans
        self.tracker = tracker
        self.interval = interval
        self._seen: dict[int, tuple[object, ...]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="cspm-progress-poll", daemon=True)
        self._thread.start()

    def poll(self) -> None:
        """Read each tracked scan once and report what changed."""
        tracked = self.tracker.tracked_scans()
        for scan_id in list(self._seen):
            if scan_id not in tracked:
                del self._seen[scan_id]
        for scan_id in tracked:
            row = self.scans.get(scan_id)
            key = (row.status, row.jobs_ok, row.jobs_failed, row.jobs_total)
            if self._seen.get(scan_id) == key:
                continue
            self._seen[scan_id] = key
            kind = "job_finished" if row.status.is_active else "finished"
            self.tracker.on_event(ScanEvent(scan_id, row.project_id, kind, row.status))

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.poll()
            except Exception:
                log.exception("reading scan progress failed")

    def close(self) -> None:
        """Stop polling."""
        self._stop.set()
        self._thread.join(timeout=5)
