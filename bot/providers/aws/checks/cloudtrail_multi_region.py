"""At least one multi-region CloudTrail trail is logging (CIS AWS 3.1)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.aws.checks._trails import region_trails

PERMISSIONS = ("cloudtrail:DescribeTrails", "cloudtrail:GetTrailStatus")
"""The IAM actions the check calls."""

META = CheckMeta(
    id="aws.cloudtrail.multi_region",
    provider="aws",
    title="A multi-region CloudTrail trail is logging",
    severity=Severity.HIGH,
    frameworks={"cis-aws-3.0": ("3.1",)},
    remediation=(
        "Create a CloudTrail trail that applies to all regions and turn logging on "
        "(CloudTrail → Trails → Create trail)."
    ),
    scope="global",
    semantics=(
        "The strict reading: one account-wide result that passes only when a multi-region "
        "trail is logging. The per-region reading (a region's own trail also covers it) is "
        "aws.cloudtrail.region_logging."
    ),
)


@dataclass(frozen=True)
class Trail:
    """A trail as the collector found it."""

    name: str
    multi_region: bool
    logging: bool


def collect(session: Any) -> list[Trail]:
    """Every trail visible from the default region (shadow trails included); logging status
    is read from each multi-region trail's home region."""
    return [
        Trail(name=t.name, multi_region=t.multi_region, logging=t.multi_region and t.logging)
        for t in region_trails(session, session.default_region)
    ]


def judge(trails: Iterable[Trail], account_id: str) -> list[CheckResult]:
    """One account-wide result: pass when some multi-region trail is logging."""
    trails = list(trails)
    good = [t.name for t in trails if t.multi_region and t.logging]
    idle = [t.name for t in trails if t.multi_region and not t.logging]
    if good:
        detail = f"Multi-region trail logging: {', '.join(sorted(good))}."
    elif idle:
        detail = f"Multi-region trail not logging: {', '.join(sorted(idle))}."
    else:
        detail = "No multi-region trail exists."
    return [CheckResult(resource=account_id, passed=bool(good), region="global", detail=detail)]


def run(session: Any, unit: str) -> list[CheckResult]:
    """Collect the trails and judge them."""
    return judge(collect(session), session.account_id)
