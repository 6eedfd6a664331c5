"""Every S3 bucket blocks public access with all four Block Public Access settings."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.aws.checks._common import error_code, list_buckets

SETTINGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")

PERMISSIONS = ("s3:ListAllMyBuckets", "s3:GetBucketPublicAccessBlock")
"""The IAM actions the check calls."""

META = CheckMeta(
    id="aws.s3.bucket_public_access_block",
    provider="aws",
    title="S3 buckets block public access",
    severity=Severity.HIGH,
    remediation=(
        "Turn on all four Block Public Access settings for the bucket "
        "(S3 → bucket → Permissions → Block public access)."
    ),
    scope="global",
)


@dataclass(frozen=True)
class BucketBlock:
    """A bucket and its Block Public Access configuration (None = not configured)."""

    name: str
    region: str
    config: Mapping[str, bool] | None


def collect(session: Any) -> list[BucketBlock]:
    """Each bucket's public access block (S3 GetPublicAccessBlock)."""
    found = []
    for bucket in list_buckets(session):
        region = str(bucket.get("BucketRegion") or "")
        s3 = session.client("s3", region or None)
        try:
            config = s3.get_public_access_block(Bucket=bucket["Name"])[
                "PublicAccessBlockConfiguration"
            ]
        except Exception as exc:
            if error_code(exc) != "NoSuchPublicAccessBlockConfiguration":
                raise
            config = None
        found.append(BucketBlock(name=bucket["Name"], region=region, config=config))
    return found


def judge(buckets: Iterable[BucketBlock], partition: str = "aws") -> list[CheckResult]:
    """Pass a bucket only when all four settings are on."""
    results = []
    for bucket in buckets:
        off = [s for s in SETTINGS if not (bucket.config or {}).get(s, False)]
        if bucket.config is None:
            detail = "No Block Public Access configuration."
        elif off:
            detail = "Off: " + ", ".join(off) + "."
        else:
            detail = "All four settings are on."
        results.append(
            CheckResult(
                resource=f"arn:{partition}:s3:::{bucket.name}",
                passed=not off,
                region=bucket.region,
                detail=detail,
            )
        )
    return results


def run(session: Any, unit: str) -> list[CheckResult]:
    """Collect every bucket's configuration and judge it."""
    return judge(collect(session), session.partition)
