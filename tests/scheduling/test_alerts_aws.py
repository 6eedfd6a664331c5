"""End to end against AWS on loopback (moto + fault proxy) and the Slack stand-in: a throttled
scan is alerted and retried, recovers, and a revoked key opens a support-flagged incident."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.playground.slack_emulator import SlackStandIn
from bot.runtime import Runtime
from bot.scheduling.clock import ManualClock
from bot.scheduling.config import SchedulingConfig
from bot.scheduling.service import SchedulingService
from storage.models_scheduling import ScanFollowup
from tests.conftest import make_settings
from tests.scheduling._support import wait_until

CHANNEL = "CAWSALERT"


def test_throttled_then_recovered_then_revoked(
    database_url: str,
    runtime_factory: Any,
    aws: Any,
    aws_proxy: Any,
    service_factory: Callable[..., SchedulingService],
    slack: SlackStandIn,
    clock: ManualClock,
) -> None:
    rt: Runtime = runtime_factory(make_settings(database_url, aws_endpoint_url=aws_proxy.url))
    key_id, secret = aws.create_user("scanner", admin=True)
    rt.connectors.create(
        "aws", "prod-aws", {"access_key_id": key_id, "secret_access_key": secret}, actor="t"
    )
    project = rt.projects.add(
        "web", "prod-aws", actor="t", scope=["us-east-1"], alert_channel=CHANNEL
    )
    service = service_factory(rt, config=SchedulingConfig(alert_mention="S0ONCALL"))

    def settle(scan_id: int) -> None:
        def done() -> bool:
            service.drain()
            with rt.db.read() as s:
                return s.get(ScanFollowup, scan_id) is not None

        wait_until(done, timeout=30)

    aws_proxy.throttle()
    first = rt.scans.start("web", trigger="manual", actor="t")
    rt.scans.wait(first.scan_id)
    settle(first.scan_id)
    [incident] = service.followups.incidents(project.project_id)
    ts = incident["ts"]
    alert = slack.message(CHANNEL, ts)
    assert "Temporary cloud error" in str(alert["blocks"])
    assert "Automatic retry 1 of 3" in str(alert["blocks"])

    aws_proxy.clear()
    job = f"retry:{project.project_id}"
    when = service.next_run_times()[job]
    clock.set(when)
    outcome = service.fire(job, when)
    retry_id = int(outcome.rsplit("#", 1)[1])
    settle(retry_id)
    assert rt.scans.get(retry_id).status.value == "completed"
    assert "recovered" in slack.message(CHANNEL, ts)["text"]

    aws.client("iam").delete_access_key(UserName="scanner", AccessKeyId=key_id)
    revoked = rt.scans.start("web", trigger="manual", actor="t")
    rt.scans.wait(revoked.scan_id)
    settle(revoked.scan_id)
    newest = service.followups.incidents(project.project_id)[0]
    assert newest["is_open"] and newest["support_flagged"] and newest["ts"] != ts
    text = str(slack.message(CHANNEL, newest["ts"])["blocks"])
    assert "Authentication failed" in text and "connector.replace" in text
    assert "Support case" in text and "support.open" in text
    assert job not in service.next_run_times() or service.next_run_times()[job] == when
