"""Every S3 bucket keeps object versions (versioning enabled)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.aws.checks._versioning import PERMISSIONS as _PERMISSIONS
from bot.providers.aws.checks._versioning import BucketVersioning, bucket_versioning

PERMISSIONS = _PERMISSIONS
"""The IAM actions the check calls."""

META = CheckMeta(
    id="aws.s3.bucket_versioning",
    provider="aws",
    title="S3 buckets have versioning enabled",
    severity=Severity.LOW,
    remediation="S3 → bucket → Properties → Bucket Versioning → Enable.",
    scope="global",
    semantics="A Suspended bucket fails: new objects are no longer versioned.",
)


def judge(buckets: Iterable[BucketVersioning], partition: str = "aws") -> list[CheckResult]:
    """Pass a bucket whose versioning status is Enabled."""
    return [
        CheckResult(
            f"arn:{partition}:s3:::{b.name}",
            b.status == "Enabled",
            b.region,
            f"Versioning is {(b.status or 'never enabled').lower()}.",
        )
        for b in buckets
    ]


def run(session: Any, unit: str) -> list[CheckResult]:
    """Read every bucket's versioning and judge it."""
    return judge(bucket_versioning(session), session.partition)
