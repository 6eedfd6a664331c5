"""The root user is not used for everyday tasks (CIS AWS 1.7)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.aws.checks._common import (
    CREDENTIAL_REPORT_PERMISSIONS,
    credential_report,
    report_time,
    root_arn,
)

WINDOW_DAYS = 90

PERMISSIONS = CREDENTIAL_REPORT_PERMISSIONS
"""The IAM actions the check calls."""

META = CheckMeta(
    id="aws.iam.root_recent_use",
    provider="aws",
    title=f"The root user was not used in the last {WINDOW_DAYS} days",
    severity=Severity.HIGH,
    frameworks={"cis-aws-3.0": ("1.7",)},
    remediation=(
        "Do administrative work as IAM Identity Center users or roles; keep the root user for "
        "the few tasks that need it, and find out why it was used."
    ),
    scope="global",
    semantics=(
        "Read from the credential report's <root_account> row: fails when the root password or "
        f"a root access key was used within {WINDOW_DAYS} days; no result when the report has "
        "no root row."
    ),
)

clock: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731  (replaceable in tests)

USES = (
    ("password_last_used", "password"),
    ("access_key_1_last_used_date", "access key 1"),
    ("access_key_2_last_used_date", "access key 2"),
)


def judge(rows: Iterable[Mapping[str, str]], now: datetime, resource: str) -> list[CheckResult]:
    """One result from the root row (none without it)."""
    for row in rows:
        if row.get("user") != "<root_account>":
            continue
        recent = []
        for column, label in USES:
            used = report_time(row.get(column))
            if used is not None and (now - used).days <= WINDOW_DAYS:
                recent.append(f"{label} {used:%Y-%m-%d}")
        detail = (
            "Root used: " + ", ".join(recent) + "."
            if recent
            else f"No root sign-in or key use in the last {WINDOW_DAYS} days."
        )
        return [CheckResult(resource, not recent, "global", detail)]
    return []


def run(session: Any, unit: str) -> list[CheckResult]:
    """Read the credential report and judge the root row."""
    return judge(credential_report(session), clock(), root_arn(session))
