"""Shared collector of S3 bucket versioning (versioning and MFA delete checks)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.providers.aws.checks._common import (
    S3_LIST_PERMISSIONS,
    bucket_client,
    collected,
    each,
    list_buckets,
)

PERMISSIONS = (*S3_LIST_PERMISSIONS, "s3:GetBucketVersioning")


@dataclass(frozen=True)
class BucketVersioning:
    """A bucket's versioning state ("" = never enabled) and MFA delete ("" = never set)."""

    name: str
    region: str
    status: str
    mfa_delete: str


def bucket_versioning(session: Any) -> list[BucketVersioning]:
    """Each bucket's GetBucketVersioning, read once per scan session."""

    def one(bucket: dict[str, Any]) -> BucketVersioning:
        got = bucket_client(session, bucket).get_bucket_versioning(Bucket=bucket["Name"])
        return BucketVersioning(
            name=bucket["Name"],
            region=str(bucket["BucketRegion"]),
            status=str(got.get("Status") or ""),
            mfa_delete=str(got.get("MFADelete") or ""),
        )

    def collect() -> list[BucketVersioning]:
        return each(session, one, list_buckets(session))

    return list(collected(session, "s3.bucket_versioning", collect))
