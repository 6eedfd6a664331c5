"""Helpers for the scheduling tests: a scripted job runner, rows, and a service factory."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.domain import (
    CancelToken,
    CheckResult,
    CloudCallError,
    CloudError,
    ErrorCategory,
)
from bot.engine.jobs import ErrorRecord, FindingRecord, ScanTarget, UnitOutcome
from bot.providers import to_secret_dict
from bot.providers.aws.credentials import AwsCredentials
from bot.runtime import Runtime
from storage.models import Connector, ErrorEntry, Project, Scan

ERRORS = {
    "temporary": CloudError(
        ErrorCategory.TEMPORARY, "Throttling", "Rate exceeded", "Retry the scan later."
    ),
    "auth": CloudError(
        ErrorCategory.INVALID_CREDENTIALS,
        "InvalidClientTokenId",
        "The security token included in the request is invalid.",
        "Replace the connector's credentials.",
    ),
    "permission": CloudError(
        ErrorCategory.PERMISSION_DENIED,
        "AccessDenied",
        "not authorized to perform ec2:DescribeRegions",
        "Grant ec2:DescribeRegions to the scanner.",
    ),
    "unknown": CloudError(
        ErrorCategory.UNKNOWN, "InternalError", "Something odd", "Contact support."
    ),
    "denied-regions": CloudError(
        ErrorCategory.PERMISSION_DENIED,
        "AccessDenied",
        "not authorized to perform ec2:DescribeRegions",
        "Grant the missing permissions to the scanner.",
        missing_permissions=("ec2:DescribeRegions",),
    ),
    "denied-storage": CloudError(
        ErrorCategory.PERMISSION_DENIED,
        "AccessDenied",
        "not authorized to list buckets or read their policies",
        "Grant the missing permissions to the scanner.",
        missing_permissions=("s3:ListAllMyBuckets", "s3:GetBucketPolicy"),
    ),
}


@dataclass
class _Session:
    failing: dict[str, CloudError]
    findings: list[FindingRecord] = field(default_factory=list)

    def run_unit(self, unit: str, cancel: CancelToken) -> UnitOutcome:
        outcome = UnitOutcome()
        if unit in self.failing:
            outcome.errors.append(ErrorRecord(self.failing[unit], "check.x"))
        elif unit == "us-east-1":
            outcome.findings.extend(self.findings)
        return outcome

    def close(self) -> None:
        pass


def finding(check: str, resource: str, severity: str = "high", passed: bool = False) -> Any:
    """A finding the scripted runner reports (in the scan's first unit, us-east-1)."""
    return FindingRecord(check, severity, CheckResult(resource, passed, "us-east-1"))


@dataclass
class ScriptedRunner:
    """A JobRunner whose next scans follow a script: "ok", "partial-<err>" or an error name.

    "<err>" (e.g. "temporary") fails the planning (every job fails); "partial-<err>" runs two
    units of which the second fails with that error; "both-<err1>+<err2>" fails the first
    unit with err1 and the second with err2. An empty script means "ok".
    """

    script: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    failing: dict[int, dict[str, CloudError]] = field(default_factory=dict)  # by scan id
    reported: dict[int, list[FindingRecord]] = field(default_factory=dict)  # by scan id
    findings: list[FindingRecord] = field(default_factory=list)
    """What the next scans' first unit reports (see `finding`)."""

    def then(self, *steps: str) -> ScriptedRunner:
        with self.lock:
            self.script.extend(steps)
        return self

    def plan(self, target: ScanTarget, cancel: CancelToken) -> list[str]:
        with self.lock:
            step = self.script.pop(0) if self.script else "ok"
            if step == "ok":
                self.reported[target.scan_id] = list(self.findings)
            elif step.startswith("both-"):
                first, second = step[5:].split("+")
                self.failing[target.scan_id] = {
                    "us-east-1": ERRORS[first],
                    "eu-west-1": ERRORS[second],
                }
            elif step.startswith("partial-"):
                self.failing[target.scan_id] = {"eu-west-1": ERRORS[step[8:]]}
        if step == "ok" or step.startswith(("partial-", "both-")):
            return ["us-east-1", "eu-west-1"]
        raise CloudCallError(ERRORS[step])

    def open(self, target: ScanTarget, cancel: CancelToken) -> _Session:
        with self.lock:
            return _Session(
                self.failing.get(target.scan_id, {}), self.reported.get(target.scan_id, [])
            )


def add_connector(rt: Runtime, name: str = "prod-aws", created_at: datetime | None = None) -> int:
    """A live AWS connector row with encrypted (fake) credentials."""
    creds = AwsCredentials("AKIA" + "EXAMPLEEXAMPLE01", "secret/" + name)
    with rt.db.unit_of_work() as s:
        c = Connector(
            name=name,
            provider="aws",
            fingerprint="AKIA…LE01",
            account_id="123456789012",
            secret_ciphertext=rt.box.encrypt(to_secret_dict(creds)),
            created_by="test",
            created_at=created_at or datetime.now(UTC) - timedelta(days=30),
        )
        s.add(c)
        s.flush()
        return c.id


def add_project(
    rt: Runtime,
    name: str,
    connector_id: int,
    alert_channel: str | None = None,
    owner: str | None = None,
) -> int:
    """A project row."""
    with rt.db.unit_of_work() as s:
        p = Project(
            name=name,
            connector_id=connector_id,
            created_by="test",
            alert_channel=alert_channel,
            owner=owner,
        )
        s.add(p)
        s.flush()
        return p.id


def add_scan(
    rt: Runtime,
    project_id: int,
    status: str,
    finished_at: datetime,
    categories: Sequence[str] = (),
    trigger: str = "schedule",
) -> int:
    """A finished scan row with one error entry per category (no engine involved)."""
    with rt.db.unit_of_work() as s:
        project = s.get(Project, project_id)
        assert project is not None
        scan = Scan(
            project_id=project_id,
            connector_id=project.connector_id,
            status=status,
            status_message=f"{status} scan",
            trigger=trigger,
            requested_by="test",
            created_at=finished_at - timedelta(minutes=5),
            started_at=finished_at - timedelta(minutes=5),
            finished_at=finished_at,
        )
        s.add(scan)
        s.flush()
        for category in categories:
            s.add(
                ErrorEntry(
                    scan_id=scan.id,
                    unit="us-east-1",
                    category=category,
                    code="Code",
                    message="message",
                    remediation="do something",
                    created_at=finished_at,
                )
            )
        project.last_scan_id = scan.id
        return scan.id


def run_scan(rt: Runtime, project: str | int, trigger: str = "manual") -> int:
    """Queue and run one scan synchronously through the real engine; returns its id."""
    info = rt.scans.start(project, trigger=trigger, actor="test")
    rt.scans.wait(info.scan_id)
    return info.scan_id


def wait_until(predicate: Any, timeout: float = 10.0) -> Any:
    """Poll `predicate` until it returns something truthy."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


def paced_client(slack: Any, clock: Any) -> Any:
    """The bot's Web API client pointed at the Slack stand-in, waiting out 429s on `clock`."""
    from bot.scheduling.delivery import PacedRateLimitHandler
    from bot.slack.client import make_web_client
    from tests.conftest import make_settings

    settings = make_settings("sqlite://", slack_api_url=slack.api_url)
    return make_web_client(settings, slack.token, rate_limit=PacedRateLimitHandler(2, clock.sleep))
