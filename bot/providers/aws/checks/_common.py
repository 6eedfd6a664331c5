"""Small helpers shared by the AWS checks (collectors only; judges stay pure in each module)."""

from __future__ import annotations

from typing import Any

from bot.domain import GLOBAL_UNIT


def region_of(unit: str) -> str | None:
    """The region a job unit stands for; None for the global unit (default region)."""
    return None if unit in ("", GLOBAL_UNIT) else unit


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


def list_buckets(session: Any) -> list[dict[str, Any]]:
    """Every S3 bucket of the account: `Name` and, where S3 reports it, `BucketRegion`.

    Listed once per scan session and shared by every S3 check (`AwsSession.collected`).
    """

    def collect() -> list[dict[str, Any]]:
        s3 = session.client("s3")
        buckets: list[dict[str, Any]] = []
        for page in s3.get_paginator("list_buckets").paginate():
            buckets.extend(page.get("Buckets", []))
        return buckets

    collected = getattr(session, "collected", None)
    return list(collected("s3.list_buckets", collect) if collected else collect())


def account_summary(session: Any) -> dict[str, int]:
    """IAM GetAccountSummary's SummaryMap (root MFA and root access key flags)."""
    return dict(session.client("iam").get_account_summary()["SummaryMap"])


def root_arn(session: Any) -> str:
    """The ARN of the account's root user."""
    return f"arn:{session.partition}:iam::{session.account_id}:root"
