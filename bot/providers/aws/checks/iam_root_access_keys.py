"""The root user has no access keys (CIS AWS 1.4)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.aws.checks._common import account_summary, root_arn

PERMISSIONS = ("iam:GetAccountSummary",)
"""The IAM actions the check calls."""

META = CheckMeta(
    id="aws.iam.root_access_keys",
    provider="aws",
    title="Root user has no access keys",
    severity=Severity.CRITICAL,
    frameworks={"cis-aws-3.0": ("1.4",)},
    remediation="Delete the root user's access keys; use IAM users or roles instead.",
    scope="global",
)


def judge(summary: Mapping[str, int], resource: str) -> list[CheckResult]:
    """Pass when `AccountAccessKeysPresent` is 0."""
    present = summary.get("AccountAccessKeysPresent", 0) != 0
    detail = "The root user has access keys." if present else "The root user has no access keys."
    return [CheckResult(resource=resource, passed=not present, region="global", detail=detail)]


def run(session: Any, unit: str) -> list[CheckResult]:
    """Collect the account summary and judge it."""
    return judge(account_summary(session), root_arn(session))
