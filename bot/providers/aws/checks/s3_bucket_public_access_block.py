"""Every S3 bucket blocks public access: all four Block Public Access settings are on, at the
bucket or at the account level (CIS AWS 2.1.4)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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
from bot.providers.aws.checks.s3_account_public_access_block import account_block

SETTINGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")

PERMISSIONS = (
    *S3_LIST_PERMISSIONS,
    "s3:GetBucketPublicAccessBlock",
    "s3:GetAccountPublicAccessBlock",
)
"""The IAM actions the check calls."""

META = CheckMeta(
    id="aws.s3.bucket_public_access_block",
    provider="aws",
    title="S3 buckets block public access",
    severity=Severity.HIGH,
    frameworks={"cis-aws-3.0": ("2.1.4",)},
    remediation=(
        "Turn on all four Block Public Access settings for the account (S3 → Block Public "
        "Access settings for this account) or for the bucket (bucket → Permissions)."
    ),
    scope="global",
    semantics=(
        "S3 applies the most restrictive combination of the account and bucket settings, so a "
        "setting counts as on when either level has it; a bucket passes when all four are on "
        "(the account-level block alone covers every bucket)."
    ),
)


@dataclass(frozen=True)
class BucketBlock:
    """A bucket and its Block Public Access configuration (None = not configured)."""

    name: str
    region: str
    config: Mapping[str, bool] | None


def _one(session: Any, bucket: dict[str, Any]) -> BucketBlock:
    region = str(bucket.get("BucketRegion") or "")
    s3 = session.client("s3", region or None)
    try:
        config = s3.get_public_access_block(Bucket=bucket["Name"])["PublicAccessBlockConfiguration"]
    except Exception as exc:
        if error_code(exc) != "NoSuchPublicAccessBlockConfiguration":
            raise
        config = None
    return BucketBlock(name=bucket["Name"], region=region, config=config)


def collect(session: Any) -> list[BucketBlock]:
    """Each bucket's public access block (S3 GetPublicAccessBlock, one call per bucket on
    the session's call pool), read once per scan session."""

    def gather() -> list[BucketBlock]:
        return each(session, lambda bucket: _one(session, bucket), list_buckets(session))

    return list(collected(session, "s3.bucket_public_access_block", gather))


def judge(
    buckets: Iterable[BucketBlock],
    partition: str = "aws",
    account: Mapping[str, bool] | None = None,
) -> list[CheckResult]:
    """Pass a bucket when each setting is on at the bucket or at the account level."""
    account = account or {}
    results = []
    for bucket in buckets:
        mine = bucket.config or {}
        off = [s for s in SETTINGS if not (mine.get(s, False) or account.get(s, False))]
        covered = [s for s in SETTINGS if account.get(s, False) and not mine.get(s, False)]
        if not off and len(covered) == len(SETTINGS):
            detail = "Covered by the account-level block (all four settings)."
        elif not off:
            detail = "All four settings are on" + (
                f" ({', '.join(covered)} at the account level)." if covered else "."
            )
        elif bucket.config is None and not any(account.values()):
            detail = "No Block Public Access configuration on the bucket or the account."
        else:
            detail = "Off at both bucket and account level: " + ", ".join(off) + "."
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
    """Collect every bucket's configuration and the account's, and judge them."""
    return judge(collect(session), session.partition, account_block(session))
