"""The root user has MFA enabled (CIS AWS 1.5)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.aws.checks._common import account_summary, root_arn

PERMISSIONS = ("iam:GetAccountSummary",)
"""The IAM actions the check calls."""

META = CheckMeta(
    id="aws.iam.root_mfa",
    provider="aws",
    title="Root user has MFA enabled",
    severity=Severity.CRITICAL,
    frameworks={"cis-aws-3.0": ("1.5",)},
    remediation="Sign in as the root user and assign an MFA device (IAM → Security credentials).",
    scope="global",
)


def judge(summary: Mapping[str, int], resource: str) -> list[CheckResult]:
    """Pass when `AccountMFAEnabled` is 1."""
    enabled = summary.get("AccountMFAEnabled", 0) == 1
    detail = "Root MFA is enabled." if enabled else "The root user has no MFA device."
    return [CheckResult(resource=resource, passed=enabled, region="global", detail=detail)]


def run(session: Any, unit: str) -> list[CheckResult]:
    """Collect the account summary and judge it."""
    return judge(account_summary(session), root_arn(session))
