"""Every S3 bucket has default server-side encryption configured."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.aws.checks._common import (
    S3_LIST_PERMISSIONS,
    collected,
    each,
    error_code,
    list_buckets,
)

PERMISSIONS = (*S3_LIST_PERMISSIONS, "s3:GetEncryptionConfiguration")
"""The IAM actions the check calls."""

META = CheckMeta(
    id="aws.s3.bucket_default_encryption",
    provider="aws",
    title="S3 buckets encrypt objects by default",
    severity=Severity.MEDIUM,
    remediation=(
        "Set default encryption on the bucket (SSE-S3 or SSE-KMS) under "
        "S3 → bucket → Properties → Default encryption."
    ),
    scope="global",
)


@dataclass(frozen=True)
class BucketEncryption:
    """A bucket and its default encryption algorithms (empty = none configured)."""

    name: str
    region: str
    algorithms: tuple[str, ...]


def _one(session: Any, bucket: dict[str, Any]) -> BucketEncryption:
    region = str(bucket.get("BucketRegion") or "")
    s3 = session.client("s3", region or None)
    try:
        rules = s3.get_bucket_encryption(Bucket=bucket["Name"])[
            "ServerSideEncryptionConfiguration"
        ].get("Rules", [])
    except Exception as exc:
        if error_code(exc) != "ServerSideEncryptionConfigurationNotFoundError":
            raise
        rules = []
    algorithms = tuple(
        str(rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"])
        for rule in rules
        if rule.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm")
    )
    return BucketEncryption(name=bucket["Name"], region=region, algorithms=algorithms)


def collect(session: Any) -> list[BucketEncryption]:
    """Each bucket's default encryption rules (S3 GetBucketEncryption, one call per bucket
    on the session's call pool), read once per scan session."""

    def gather() -> list[BucketEncryption]:
        return each(session, lambda bucket: _one(session, bucket), list_buckets(session))

    return list(collected(session, "s3.bucket_encryption", gather))


def judge(buckets: Iterable[BucketEncryption], partition: str = "aws") -> list[CheckResult]:
    """Pass a bucket when at least one default encryption rule names an algorithm."""
    return [
        CheckResult(
            resource=f"arn:{partition}:s3:::{b.name}",
            passed=bool(b.algorithms),
            region=b.region,
            detail=(
                f"Default encryption: {', '.join(b.algorithms)}."
                if b.algorithms
                else "No default encryption is configured."
            ),
        )
        for b in buckets
    ]


def run(session: Any, unit: str) -> list[CheckResult]:
    """Collect every bucket's encryption and judge it."""
    return judge(collect(session), session.partition)
