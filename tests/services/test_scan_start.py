"""The CLI, Slack and the scheduler all start scans through `ScanService.start`: the stored
scans carry the same fields (trigger, who asked, the connector, the audit record), whatever
started them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.scheduling.service import SCHEDULER_ACTOR, SchedulingService
from bot.settings import reveal
from storage.models import AuditEvent, Scan
from tests.support.slackbot import OPERATOR, Bot

CLI = str(Path(sys.executable).with_name("cspm-bot"))


def _cli_env(bot: Bot, aws: Any) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CSPM_", "SLACK_"))}
    env.update(
        {
            "CSPM_DATABASE_URL": bot.rt.settings.database_url,
            "CSPM_ENCRYPTION_KEY": reveal(bot.rt.settings.encryption_key),
            "AWS_ENDPOINT_URL": aws.url,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "CSPM_CLOUD_MAX_ATTEMPTS": "2",
        }
    )
    return env


def _newest_scan_id(bot: Bot) -> int:
    return bot.rt.scans.history("web").scans.items[0].scan_id


def test_cli_slack_and_scheduler_start_scans_the_same_way(make_bot: Any, aws: Any) -> None:
    bot: Bot = make_bot(aws_endpoint_url=aws.url)
    key_id, secret = aws.create_user("scanner", admin=True)
    connector = bot.rt.connectors.create(
        "aws", "prod-aws", {"access_key_id": key_id, "secret_access_key": secret}, actor="test"
    )
    project = bot.rt.projects.add("web", "prod-aws", actor="test", scope=["us-east-1"])

    ran = subprocess.run(
        [CLI, "--actor", "cli:alice", "scan", "run", "web"],
        env=_cli_env(bot, aws),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stderr

    bot.driver.command("run web", OPERATOR)
    assert bot.rt.scans.wait(_newest_scan_id(bot), timeout=60) is not None

    service = SchedulingService(bot.rt, None, run_threads=False).start()
    try:
        service.ops.set_scan_schedule("web", "0 6 * * *", None, actor="test")
        fired = service.fire(f"scan:{project.project_id}", service.now())
        assert fired.startswith("started scan #"), fired
        assert bot.rt.scans.wait(_newest_scan_id(bot), timeout=60) is not None
    finally:
        service.stop()

    with bot.rt.db.read() as s:
        scans = s.scalars(select(Scan).order_by(Scan.id)).all()
        audits = {
            e.target_id: e
            for e in s.scalars(select(AuditEvent).where(AuditEvent.action == "scan.run"))
        }
        stored = [(scan.trigger, scan.requested_by) for scan in scans]
        assert stored == [
            ("cli", "cli:alice"),
            ("manual", f"slack:{OPERATOR}"),
            ("schedule", SCHEDULER_ACTOR),
        ]
        for scan in scans:
            audit = audits[str(scan.id)]  # recorded by the one start path, with the scan
            assert (audit.actor, audit.detail) == (scan.requested_by, {"project": "web"})
            assert scan.connector_id == connector.connector_id
            assert scan.status == "completed" and scan.owner and scan.started_at
