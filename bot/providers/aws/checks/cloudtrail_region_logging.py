"""Every region is covered by a logging CloudTrail trail (CIS AWS 3.1, judged per region)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.aws.checks._common import region_of
from bot.providers.aws.checks._trails import PERMISSIONS as _PERMISSIONS
from bot.providers.aws.checks._trails import TrailInfo, region_trails

PERMISSIONS = _PERMISSIONS
"""The IAM actions the check calls."""

META = CheckMeta(
    id="aws.cloudtrail.region_logging",
    provider="aws",
    title="Every region is covered by a logging CloudTrail trail",
    severity=Severity.HIGH,
    frameworks={"cis-aws-3.0": ("3.1",)},
    remediation=(
        "Create a CloudTrail trail that applies to all regions and turn logging on, or turn "
        "logging on for the region's own trail."
    ),
    scope="regional",
    semantics=(
        "Judged per region: a region passes when a logging multi-region trail or a logging "
        "trail of its own covers it. The strict reading (one multi-region trail logging for the "
        "whole account) is aws.cloudtrail.multi_region."
    ),
)


def judge(trails: Iterable[TrailInfo], account_id: str, region: str) -> list[CheckResult]:
    """One result per region: pass when some trail applying to it is logging."""
    trails = list(trails)
    multi = sorted(t.name for t in trails if t.multi_region and t.logging)
    own = sorted(t.name for t in trails if not t.multi_region and t.logging)
    if multi:
        detail = f"Covered by multi-region trail {', '.join(multi)}."
    elif own:
        detail = f"Covered by the region's own trail {', '.join(own)}."
    elif trails:
        detail = f"No trail is logging ({', '.join(sorted(t.name for t in trails))} stopped)."
    else:
        detail = "No trail covers the region."
    return [CheckResult(account_id, bool(multi or own), region, detail)]


def run(session: Any, unit: str) -> list[CheckResult]:
    """Collect the trails that apply to the region and judge them."""
    region = region_of(unit) or session.default_region
    return judge(region_trails(session, region), session.account_id, region)
