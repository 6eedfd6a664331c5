"""Fixtures for the Slack tests: the Web API stand-in and the real bot wired to it.

`bot` is the production Bolt app (`bot.slackapp.create_app`) behind the production WSGI app
(`bot.serve.create_wsgi_app`), with a runtime from `runtime_factory`, its WebClient pointed at
the `SlackStandIn`, and executors the test can wait on. Requests go in signed, through
``POST /slack/events``. Import the fixtures in a conftest with
``from tests.support.slackbot import *  # noqa: F403``.

`seed_*` helpers add fixture rows for screens that need no cloud (history, error logs):
connectors with placeholder secrets, projects through the service, and finished scans with
their jobs, error entries and findings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_bolt import App

from bot.domain import CloudError, ErrorCategory, JobStatus, Provider, ScanStatus
from bot.playground.aws import refused_url
from bot.playground.slack_emulator import SlackStandIn
from bot.runtime import Runtime
from bot.serve import create_wsgi_app
from bot.slack.app import context_of
from bot.slack.client import make_web_client
from bot.slack.context import SlackContext
from bot.slackapp import create_app
from storage.models import Connector, ErrorEntry, Finding, Job, Project, Scan
from tests.conftest import make_settings
from tests.support.slackdriver import SIGNING_SECRET, SlackDriver, TrackingExecutor

ADMIN = "U0ADMIN01"
OPERATOR = "U0OPER001"
READER = "U0READER1"
GROUP = "S0OPSGRP1"
GROUP_MEMBER = "U0GRPMEM1"
SUPPORT_CHANNEL = "C0SUPPORT"
CHANNEL = "C0GENERAL"
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@dataclass
class Bot:
    """The bot under test and everything around it."""

    rt: Runtime
    app: App
    ctx: SlackContext
    slack: SlackStandIn
    driver: SlackDriver
    wsgi: Callable[..., Any]

    def settle(self) -> None:
        """Wait for every listener and background task."""
        self.driver.settle()


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    """The Slack Web API stand-in; the test fails if the bot sent any invalid payload."""
    standin = SlackStandIn()
    standin.start()
    standin.usergroups[GROUP] = [GROUP_MEMBER]
    try:
        yield standin
        standin.assert_clean()
    finally:
        standin.close()


@pytest.fixture
def make_bot(
    slack: SlackStandIn, sqlite_url: str, runtime_factory: Any
) -> Iterator[Callable[..., Bot]]:
    """Build the bot with settings overrides (operators, admins, team id, AWS endpoint...)."""
    built: list[Bot] = []

    def factory(**overrides: Any) -> Bot:
        values: dict[str, Any] = {
            "slack_bot_token": slack.token,
            "slack_signing_secret": SIGNING_SECRET,
            "slack_api_url": slack.api_url,
            "operators": [OPERATOR, GROUP],
            "admins": [ADMIN],
            "support_channel": SUPPORT_CHANNEL,
            # scans of seeded (placeholder) connectors must never leave the machine
            "aws_endpoint_url": refused_url(),
        }
        values.update(overrides)
        interval = float(values.pop("progress_interval", 0.2))
        rt = runtime_factory(make_settings(sqlite_url, **values))
        background = TrackingExecutor(name="work")  # runs every work function: tests wait on it
        app = create_app(
            rt, make_web_client(rt.settings), background=background, progress_interval=interval
        )
        wsgi = create_wsgi_app(rt, app)
        driver = SlackDriver(wsgi, slack, background=background)
        bot = Bot(rt, app, context_of(app), slack, driver, wsgi)
        built.append(bot)
        return bot

    yield factory
    for bot in built:
        bot.driver.settle()
        bot.ctx.close()
        # Let scans started by the test end first: closing the engine under a running scan
        # leaves its thread waiting for the closed recorder, and the interpreter then hangs
        # at exit joining it (see the report to the lead).
        bot.rt.engine.shutdown(wait_for_scans=True)


@pytest.fixture
def bot(make_bot: Callable[..., Bot]) -> Bot:
    """The bot with default settings."""
    return make_bot()


# --- seeding ---------------------------------------------------------------------------------


def seed_connector(
    rt: Runtime, name: str = "prod-aws", provider: Provider = Provider.AWS, **kw: Any
) -> int:
    """A live connector with placeholder (never validated against a cloud) secrets."""
    with rt.db.unit_of_work() as s:
        c = Connector(
            name=name,
            provider=provider.value,
            account_id=kw.get("account_id", "123456789012"),
            account_label="arn:aws:iam::123456789012:user/scanner",
            scopes=[],
            fingerprint=kw.get("fingerprint", "AKIA…TEST"),
            secret_ciphertext=rt.box.encrypt({"access_key_id": "x", "secret_access_key": "y"}),
            created_by="slack:" + ADMIN,
            last_validated_at=T0,
            last_validation_ok=kw.get("ok", True),
        )
        error: CloudError | None = kw.get("error")
        if error is not None:
            c.last_validation_category = error.category.value
            c.last_validation_code = error.code
            c.last_validation_message = error.message
            c.last_validation_remediation = error.remediation
            c.last_validation_missing = list(error.missing_permissions)
        s.add(c)
        s.flush()
        return c.id


def seed_project(rt: Runtime, name: str, connector: str = "prod-aws", **kw: Any) -> int:
    """A project through the service."""
    return rt.projects.add(name, connector, actor="test", scope=["us-east-1"], **kw).project_id


@dataclass
class JobSpec:
    """One job of a seeded scan; `error` is (category, code, message) for failed jobs."""

    unit: str
    status: JobStatus = JobStatus.SUCCEEDED
    error: tuple[ErrorCategory, str, str] | None = None


def seed_scan(
    rt: Runtime,
    project: str,
    status: ScanStatus,
    jobs: Sequence[JobSpec] = (),
    *,
    trigger: str = "manual",
    by: str = "slack:" + OPERATOR,
    at: datetime = T0,
    findings: int = 0,
) -> int:
    """A scan in `status` with its jobs, error entries and (failing) findings."""
    with rt.db.unit_of_work() as s:
        p = s.query(Project).filter_by(name=project).one()
        failed = [j for j in jobs if j.status is JobStatus.FAILED]
        scan = Scan(
            project_id=p.id,
            connector_id=p.connector_id,
            status=status.value,
            status_message=f"{len(failed)} of {len(jobs)} jobs failed" if failed else "ok",
            trigger=trigger,
            requested_by=by,
            created_at=at,
            started_at=at,
            finished_at=None if status.is_active else at + timedelta(minutes=2),
            jobs_total=len(jobs),
            jobs_ok=sum(1 for j in jobs if j.status is JobStatus.SUCCEEDED),
            jobs_failed=len(failed),
        )
        s.add(scan)
        s.flush()
        for spec in jobs:
            job = Job(scan_id=scan.id, unit=spec.unit, status=spec.status.value, message="")
            s.add(job)
            s.flush()
            if spec.error is not None:
                category, code, text = spec.error
                job.message = f"{category.label}: {text}"
                s.add(
                    ErrorEntry(
                        scan_id=scan.id,
                        job_id=job.id,
                        unit=spec.unit,
                        category=category.value,
                        code=code,
                        message=text,
                        detail=f"{code}: {text} (request id 1234)",
                        remediation="Do the thing the category asks.",
                        created_at=at,
                    )
                )
        for i in range(findings):
            s.add(
                Finding(
                    scan_id=scan.id,
                    check_id="aws.iam.root_mfa",
                    resource=f"arn:aws:iam::123456789012:root-{i}",
                    region="",
                    severity="critical",
                    passed=False,
                    detail="",
                )
            )
        p.last_scan_id = scan.id
        p.last_status = status.value
        return scan.id


AUTH_ERROR = (
    ErrorCategory.INVALID_CREDENTIALS,
    "InvalidClientTokenId",
    "The security token included in the request is invalid.",
)
THROTTLED = (ErrorCategory.TEMPORARY, "Throttling", "Rate exceeded.")

__all__ = [
    "ADMIN",
    "AUTH_ERROR",
    "CHANNEL",
    "GROUP",
    "GROUP_MEMBER",
    "OPERATOR",
    "READER",
    "SUPPORT_CHANNEL",
    "THROTTLED",
    "Bot",
    "JobSpec",
    "bot",
    "make_bot",
    "seed_connector",
    "seed_project",
    "seed_scan",
    "slack",
]
