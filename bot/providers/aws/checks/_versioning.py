"""Shared collector of S3 bucket versioning (versioning and MFA delete checks)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.providers.aws.checks._common import (
    S3_LIST_PERMISSIONS,
    bucket_client,
    collected,
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

    def collect() -> list[BucketVersioning]:
        found = []
        for bucket in list_buckets(session):
            got = bucket_client(session, bucket).get_bucket_versioning(Bucket=bucket["Name"])
            found.append(
                BucketVersioning(
                    name=bucket["Name"],
                    region=str(bucket["BucketRegion"]),
                    status=str(got.get("Status") or ""),
                    mfa_delete=str(got.get("MFADelete") or ""),
                )
            )
        return found

    return list(collected(session, "s3.bucket_versioning", collect))
