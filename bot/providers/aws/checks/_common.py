"""Small helpers shared by the AWS checks (collectors only; judges stay pure in each module).

A collector gathers what checks need from one service, through the session it is given
(never a module-level client): `collected` memoises it per session under a key, so checks
that need the same data share one set of calls (one job = one session = one unit), and
`each` spreads its per-resource calls over the session's bounded call pool.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, TypeVar

from bot.providers.aws.units import is_global

T = TypeVar("T")
R = TypeVar("R")


def region_of(unit: str) -> str | None:
    """The region a job unit stands for; None for the global units (default region)."""
    return None if is_global(unit) else unit


def partition_for_region(region: str) -> str:
    """The ARN partition of a region: `aws`, `aws-cn` or `aws-us-gov`."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def error_code(exc: Exception) -> str:
    """The AWS error code of a botocore ClientError ("" for anything else)."""
    response = getattr(exc, "response", None) or {}
    return str((response.get("Error") or {}).get("Code") or "")


S3_LIST_PERMISSIONS = ("s3:ListAllMyBuckets", "s3:GetBucketLocation")
"""What listing the buckets with their regions needs (every S3 check declares both)."""


def location_region(constraint: str | None) -> str:
    """S3 GetBucketLocation's `LocationConstraint` as a region name (None → us-east-1,
    the legacy "EU" → eu-west-1)."""
    if not constraint:
        return "us-east-1"
    return "eu-west-1" if constraint == "EU" else str(constraint)


def collected(session: Any, key: str, collect: Callable[[], T]) -> T:
    """`collect()` once per scan session under `key` (`AwsSession.collected`), else now."""
    share = getattr(session, "collected", None)
    return share(key, collect) if share else collect()  # type: ignore[no-any-return]


def each(session: Any, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """`[fn(item) for item in items]` on the session's bounded call pool (`AwsSession.map`:
    up to `CSPM_SCAN_CONCURRENCY` calls at once, in order), else one after the other."""
    spread = getattr(session, "map", None)
    return list(spread(fn, items)) if spread else [fn(item) for item in items]


def list_buckets(session: Any) -> list[dict[str, Any]]:
    """Every S3 bucket of the account: `Name` and `BucketRegion`, its real region. S3 omits
    `BucketRegion` from ListBuckets in some partitions and older APIs: the region then comes
    from GetBucketLocation.

    Listed once per scan session and shared by every S3 check (`AwsSession.collected`).
    """

    def collect() -> list[dict[str, Any]]:
        s3 = session.client("s3")
        buckets: list[dict[str, Any]] = []
        for page in s3.get_paginator("list_buckets").paginate():
            buckets.extend(dict(b) for b in page.get("Buckets", []))

        def locate(bucket: dict[str, Any]) -> None:
            got = s3.get_bucket_location(Bucket=bucket["Name"])
            bucket["BucketRegion"] = location_region(got.get("LocationConstraint"))

        each(session, locate, [b for b in buckets if not b.get("BucketRegion")])
        return buckets

    return [dict(b) for b in collected(session, "s3.list_buckets", collect)]


def bucket_client(session: Any, bucket: dict[str, Any]) -> Any:
    """The S3 client of the bucket's own region."""
    return session.client("s3", str(bucket.get("BucketRegion") or "") or None)


def bucket_arn(session: Any, name: str) -> str:
    """arn:<partition>:s3:::<name>."""
    return f"arn:{session.partition}:s3:::{name}"


def credential_report(session: Any) -> list[dict[str, str]]:
    """IAM's credential report as rows (one per user, plus `<root_account>`), generated and
    read once per scan session."""

    def collect() -> list[dict[str, str]]:
        iam = session.client("iam")
        for _ in range(30):
            state = iam.generate_credential_report().get("State")
            if state == "COMPLETE":
                break
            time.sleep(1)
        content = iam.get_credential_report()["Content"]
        text = content.decode() if isinstance(content, bytes) else str(content)
        return list(csv.DictReader(io.StringIO(text)))

    return [dict(r) for r in collected(session, "iam.credential_report", collect)]


CREDENTIAL_REPORT_PERMISSIONS = ("iam:GenerateCredentialReport", "iam:GetCredentialReport")


def report_time(value: str | None) -> datetime | None:
    """A credential-report timestamp ("N/A", "no_information", "not_supported" → None)."""
    if not value or value in ("N/A", "no_information", "not_supported"):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def iam_users(session: Any) -> list[dict[str, Any]]:
    """Every IAM user (ListUsers, paginated), listed once per scan session."""

    def collect() -> list[dict[str, Any]]:
        users: list[dict[str, Any]] = []
        for page in session.client("iam").get_paginator("list_users").paginate():
            users.extend(page.get("Users", []))
        return users

    return list(collected(session, "iam.list_users", collect))


def paginate(client: Any, operation: str, key: str, **kwargs: Any) -> list[Any]:
    """Every item under `key` of a paginated call."""
    items: list[Any] = []
    for page in client.get_paginator(operation).paginate(**kwargs):
        items.extend(page.get(key, []))
    return items


def account_summary(session: Any) -> dict[str, int]:
    """IAM GetAccountSummary's SummaryMap (root MFA and root access key flags), read once
    per scan session."""

    def collect() -> dict[str, int]:
        return dict(session.client("iam").get_account_summary()["SummaryMap"])

    return dict(collected(session, "iam.account_summary", collect))


def root_arn(session: Any) -> str:
    """The ARN of the account's root user."""
    return f"arn:{session.partition}:iam::{session.account_id}:root"
