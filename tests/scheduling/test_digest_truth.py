"""Digests that tell the truth, through the scheduling service, the real engine and the Slack
stand-in: still failing apart from recovered, headline of what fails now, trends, links between
the digest and the alert threads, and the fired digest's outcome in UTC."""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from bot.playground.blockkit import assert_valid_message
from bot.playground.slack_emulator import SlackStandIn
from bot.runtime import Runtime
from bot.scheduling.clock import ManualClock
from bot.scheduling.config import SchedulingConfig
from bot.scheduling.cron import Cadence, DigestSchedule
from bot.scheduling.service import SchedulingService
from tests.scheduling._support import ScriptedRunner, add_connector, add_project, run_scan

Factory = Callable[..., SchedulingService]
ALERTS, DIGEST = "CALERTS", "CDIGEST"
BERLIN = ZoneInfo("Europe/Berlin")


def test_digest_splits_still_failing_from_recovered_and_links_the_alert_threads(
    rt: Runtime,
    service_factory: Factory,
    slack: SlackStandIn,
    runner: ScriptedRunner,
    clock: ManualClock,
) -> None:
    conn = add_connector(rt)
    web = add_project(rt, "web", conn, alert_channel=ALERTS)
    add_project(rt, "etl", conn, alert_channel=ALERTS)
    add_project(rt, "fine", conn)
    service = service_factory(rt, config=SchedulingConfig(retry_max_attempts=0))
    runner.then("auth", "partial-permission", "ok", "ok")
    run_scan(rt, "web")  # fails: still failing at the end of the period
    run_scan(rt, "etl")  # fails, then recovers
    run_scan(rt, "etl")
    run_scan(rt, "fine")
    service.drain()
    [incident] = [i for i in service.followups.incidents() if i["project_id"] == web]
    assert incident["permalink"].startswith("https://standin.slack.com/archives/CALERTS/p")

    view, _ = service.ops.subscribe_digest(
        DIGEST, DigestSchedule(Cadence.DAILY, 9, 0, "Europe/Berlin"), True, actor="test"
    )
    clock.advance(120)
    scheduled = clock.now().astimezone(BERLIN)  # APScheduler passes the trigger's local time
    outcome = service.fire(f"digest:{view.subscription.id}", scheduled)
    utc = clock.now()
    assert outcome.endswith(f"→ {utc:%Y-%m-%d %H:%M} UTC)"), outcome  # not the Berlin time
    service.tick()
    [digest] = [c for c in slack.calls_to("chat.postMessage") if c.body["channel"] == DIGEST]
    assert_valid_message(digest.body)
    text = digest.text()
    assert "*Failing now*\n1" in text  # web only: etl recovered
    still = text[text.index("Still failing") : text.index("Recovered during the period")]
    recovered = text[text.index("Recovered during the period") :]
    assert "*web*" in still and "Failing since" in still and "*etl*" not in still
    assert f"<{incident['permalink']}|alert thread>" in still
    assert "*etl* — recovered" in recovered and "*web*" not in recovered
    assert "_14 days_" in text and "`▁▁▁▁▁▁▁▁▁▁▁▁▁█`" in text
    assert digest.body["text"].startswith("CSPM digest: 1 project(s) still failing, 1 recovered")

    # web fails again: its alert now links to the digest that listed it
    [delivery] = service.digests.deliveries(view.subscription.id)
    runner.then("auth")
    run_scan(rt, "web")
    service.drain()
    update = slack.last("chat.update")
    assert update.body["ts"] == incident["ts"]
    assert "|listed in the digest>" in str(update.body["blocks"])
    assert "standin.slack.com/archives/CDIGEST/p" in str(update.body["blocks"])
    assert delivery["status"] == "sent"
