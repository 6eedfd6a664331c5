"""CloudTrail trails have log file validation enabled (CIS AWS 3.2)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.aws.checks._common import region_of
from bot.providers.aws.checks._trails import PERMISSIONS as _PERMISSIONS
from bot.providers.aws.checks._trails import TrailInfo, home_trails

PERMISSIONS = _PERMISSIONS
"""The IAM actions the check calls."""

META = CheckMeta(
    id="aws.cloudtrail.log_validation",
    provider="aws",
    title="CloudTrail log file validation is enabled",
    severity=Severity.MEDIUM,
    frameworks={"cis-aws-3.0": ("3.2",)},
    remediation="CloudTrail → trail → Edit → Additional settings → Log file validation: on.",
    scope="regional",
    semantics="Each trail is judged in its home region.",
)


def judge(trails: Iterable[TrailInfo]) -> list[CheckResult]:
    """One result per trail: pass when log file validation is on."""
    return [
        CheckResult(
            t.arn,
            t.log_validation,
            t.home_region,
            "Log file validation is " + ("on." if t.log_validation else "off."),
        )
        for t in trails
    ]


def run(session: Any, unit: str) -> list[CheckResult]:
    """Judge the trails homed in the region."""
    return judge(home_trails(session, region_of(unit) or session.default_region))
