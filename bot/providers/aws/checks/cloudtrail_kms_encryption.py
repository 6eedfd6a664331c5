"""CloudTrail logs are encrypted at rest with a KMS key (CIS AWS 3.5)."""

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
    id="aws.cloudtrail.kms_encryption",
    provider="aws",
    title="CloudTrail logs are encrypted with a KMS key",
    severity=Severity.MEDIUM,
    frameworks={"cis-aws-3.0": ("3.5",)},
    remediation=(
        "CloudTrail → trail → Edit → Log file SSE-KMS encryption: enabled, with a customer "
        "managed KMS key whose policy lets CloudTrail encrypt."
    ),
    scope="regional",
    semantics="Each trail is judged in its home region.",
)


def judge(trails: Iterable[TrailInfo]) -> list[CheckResult]:
    """One result per trail: pass when a KMS key is set."""
    return [
        CheckResult(
            t.arn,
            bool(t.kms_key_id),
            t.home_region,
            f"Encrypted with {t.kms_key_id}." if t.kms_key_id else "No KMS key (SSE-S3 only).",
        )
        for t in trails
    ]


def run(session: Any, unit: str) -> list[CheckResult]:
    """Judge the trails homed in the region."""
    return judge(home_trails(session, region_of(unit) or session.default_region))
