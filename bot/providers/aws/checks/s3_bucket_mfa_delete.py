"""Every S3 bucket has versioning with MFA delete enabled (CIS AWS 2.1.2)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.aws.checks._versioning import PERMISSIONS as _PERMISSIONS
from bot.providers.aws.checks._versioning import BucketVersioning, bucket_versioning

PERMISSIONS = _PERMISSIONS
"""The IAM actions the check calls."""

META = CheckMeta(
    id="aws.s3.bucket_mfa_delete",
    provider="aws",
    title="S3 buckets require MFA to delete versions",
    severity=Severity.LOW,
    frameworks={"cis-aws-3.0": ("2.1.2",)},
    remediation=(
        "As the root user with an MFA device: aws s3api put-bucket-versioning --bucket NAME "
        '--versioning-configuration Status=Enabled,MFADelete=Enabled --mfa "SERIAL CODE".'
    ),
    scope="global",
    semantics="Passes when versioning is Enabled and MFADelete is Enabled.",
)


def judge(buckets: Iterable[BucketVersioning], partition: str = "aws") -> list[CheckResult]:
    """Pass a bucket with versioning and MFA delete both enabled."""
    results = []
    for b in buckets:
        ok = b.status == "Enabled" and b.mfa_delete == "Enabled"
        detail = (
            "Versioning and MFA delete are enabled."
            if ok
            else f"Versioning: {b.status or 'never enabled'}; MFA delete: "
            f"{b.mfa_delete or 'never enabled'}."
        )
        results.append(CheckResult(f"arn:{partition}:s3:::{b.name}", ok, b.region, detail))
    return results


def run(session: Any, unit: str) -> list[CheckResult]:
    """Read every bucket's versioning and judge it."""
    return judge(bucket_versioning(session), session.partition)
