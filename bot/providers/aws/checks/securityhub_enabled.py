"""AWS Security Hub is enabled in every region (CIS AWS 4.16)."""

from __future__ import annotations

from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.aws.checks._common import error_code, region_of

PERMISSIONS = ("securityhub:DescribeHub",)
"""The IAM actions the check calls."""

META = CheckMeta(
    id="aws.securityhub.enabled",
    provider="aws",
    title="Security Hub is enabled in every region",
    severity=Severity.MEDIUM,
    frameworks={"cis-aws-3.0": ("4.16",)},
    remediation="Security Hub → Go to Security Hub → Enable Security Hub (in every region).",
    scope="regional",
    semantics='Judged per region from DescribeHub; "not subscribed" fails.',
)


def collect(session: Any, region: str) -> str | None:
    """The hub ARN, or None when the account is not subscribed in the region."""
    try:
        got = session.client("securityhub", region).describe_hub()
    except Exception as exc:
        if error_code(exc) in ("InvalidAccessException", "ResourceNotFoundException"):
            return None
        raise
    return str(got.get("HubArn") or "")


def judge(hub_arn: str | None, account_id: str, region: str) -> list[CheckResult]:
    """One result per region."""
    detail = "Security Hub is enabled." if hub_arn is not None else "Security Hub is not enabled."
    return [CheckResult(account_id, hub_arn is not None, region, detail)]


def run(session: Any, unit: str) -> list[CheckResult]:
    """Describe the region's hub and judge it."""
    region = region_of(unit) or session.default_region
    return judge(collect(session, region), session.account_id, region)
