"""Scan progress messages: throttled to one chat.update per interval per message, events
coalesced, the final state always sent, failure alerts handed over once."""

from __future__ import annotations

import itertools
import time
from typing import Any

from slack_sdk import WebClient

from bot.domain import ScanStatus
from bot.engine.engine import ScanEvent
from bot.playground.slack_emulator import SlackStandIn
from bot.slack.progress import MIN_INTERVAL, ProgressTracker


def _render(state: dict[str, Any]) -> Any:
    def render(scan_id: int) -> dict[str, Any]:
        text = f"scan {scan_id}: {state['done']} done"
        return {
            "text": text,
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
        }

    return render


def test_updates_are_throttled_coalesced_and_end_with_the_final_state(
    slack: SlackStandIn,
) -> None:
    assert MIN_INTERVAL == 1.0  # production: at most about one update per second per message
    client = WebClient(token=slack.token, base_url=slack.api_url)
    state = {"done": 0}
    finished: list[ScanEvent] = []
    tracker = ProgressTracker(client, _render(state), finished.append, min_interval=0.25)
    try:
        posted = client.chat_postMessage(channel="C1", text="scan 7: 0 done")
        tracker.track(7, posted["channel"], posted["ts"])
        start = time.monotonic()
        for i in range(40):  # 40 job events in ~0.8 s
            state["done"] = i + 1
            tracker.on_event(ScanEvent(7, 1, "job_finished", ScanStatus.RUNNING))
            tracker.on_event(ScanEvent(99, 1, "job_finished", ScanStatus.RUNNING))  # untracked
            time.sleep(0.02)
        tracker.on_event(ScanEvent(7, 1, "finished", ScanStatus.FAILED))
        slack.wait_for("chat.update", lambda c: "40 done" in c.text(), timeout=5)
        elapsed = time.monotonic() - start
        deadline = time.monotonic() + 2
        while tracker.tracked() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert tracker.tracked() == 0  # done with the message once final
    finally:
        tracker.close()
    updates = slack.calls_to("chat.update")
    assert all(u.body["ts"] == posted["ts"] for u in updates)
    assert len(updates) <= elapsed / 0.25 + 2
    gaps = [b.at - a.at for a, b in itertools.pairwise(updates)]
    assert all(g >= 0.2 for g in gaps), gaps
    assert "40 done" in updates[-1].text()
    assert [e.kind for e in finished] == ["finished"]  # the failure alert, once


def test_a_failing_update_does_not_stop_the_worker(slack: SlackStandIn) -> None:
    client = WebClient(token=slack.token, base_url=slack.api_url)
    state = {"done": 1}
    tracker = ProgressTracker(client, _render(state), min_interval=0.05)
    try:
        tracker.track(1, "C1", "1.000")  # no such message: chat.update fails
        posted = client.chat_postMessage(channel="C1", text="scan 2")
        tracker.track(2, posted["channel"], posted["ts"])
        tracker.on_event(ScanEvent(1, 1, "finished", ScanStatus.COMPLETED))
        tracker.on_event(ScanEvent(2, 1, "finished", ScanStatus.COMPLETED))
        slack.wait_for("chat.update", lambda c: c.body["ts"] == posted["ts"], timeout=5)
    finally:
        tracker.close()
