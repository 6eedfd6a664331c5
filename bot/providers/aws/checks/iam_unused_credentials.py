"""Credentials unused for 45 days or more are disabled (CIS AWS 1.12)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.aws.checks._common import (
    CREDENTIAL_REPORT_PERMISSIONS,
    credential_report,
    report_time,
)

MAX_IDLE_DAYS = 45

PERMISSIONS = CREDENTIAL_REPORT_PERMISSIONS
"""The IAM actions the check calls."""

META = CheckMeta(
    id="aws.iam.unused_credentials",
    provider="aws",
    title=f"Credentials unused for {MAX_IDLE_DAYS} days are disabled",
    severity=Severity.MEDIUM,
    frameworks={"cis-aws-3.0": ("1.12",)},
    remediation=(
        "Remove the console password and deactivate the access keys that have not been used "
        f"for {MAX_IDLE_DAYS} days (IAM → Users → user → Security credentials)."
    ),
    scope="global",
    semantics=(
        "Read from the credential report. A console password or an active access key fails "
        f"when its last use is more than {MAX_IDLE_DAYS} days ago or, never used, when it was "
        f"set or rotated more than {MAX_IDLE_DAYS} days ago."
    ),
)

clock: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731  (replaceable in tests)


def _idle(last_used: str | None, since: str | None, now: datetime) -> int | None:
    """Days since last use (or since creation when never used); None when unknown."""
    moment = report_time(last_used) or report_time(since)
    return None if moment is None else (now - moment).days


def judge(rows: Iterable[Mapping[str, str]], now: datetime) -> list[CheckResult]:
    """One result per user that has a password or an active key."""
    results = []
    for row in rows:
        if row.get("user") == "<root_account>":
            continue
        stale: list[str] = []
        held = False
        if row.get("password_enabled") == "true":
            held = True
            days = _idle(row.get("password_last_used"), row.get("password_last_changed"), now)
            if days is not None and days > MAX_IDLE_DAYS:
                stale.append(f"console password idle {days} days")
        for n in ("1", "2"):
            if row.get(f"access_key_{n}_active") != "true":
                continue
            held = True
            days = _idle(
                row.get(f"access_key_{n}_last_used_date"),
                row.get(f"access_key_{n}_last_rotated"),
                now,
            )
            if days is not None and days > MAX_IDLE_DAYS:
                stale.append(f"access key {n} idle {days} days")
        if not held:
            continue
        detail = (
            "; ".join(stale).capitalize() + f" (limit {MAX_IDLE_DAYS})."
            if stale
            else f"Every credential was used within {MAX_IDLE_DAYS} days."
        )
        results.append(CheckResult(str(row.get("arn")), not stale, "global", detail))
    return results


def run(session: Any, unit: str) -> list[CheckResult]:
    """Read the credential report and judge it."""
    return judge(credential_report(session), clock())
