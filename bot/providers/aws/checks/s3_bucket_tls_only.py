"""Every S3 bucket policy denies requests that are not sent over TLS (CIS AWS 2.1.1)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.aws.checks._common import (
    S3_LIST_PERMISSIONS,
    bucket_client,
    collected,
    each,
    error_code,
    list_buckets,
)

PERMISSIONS = (*S3_LIST_PERMISSIONS, "s3:GetBucketPolicy")
"""The IAM actions the check calls."""

META = CheckMeta(
    id="aws.s3.bucket_tls_only",
    provider="aws",
    title="S3 bucket policies deny requests without TLS",
    severity=Severity.MEDIUM,
    frameworks={"cis-aws-3.0": ("2.1.1",)},
    remediation=(
        'Add a bucket policy statement: Effect "Deny", Principal "*", Action "s3:*", '
        'Resource the bucket and its objects, Condition {"Bool": {"aws:SecureTransport": '
        '"false"}}.'
    ),
    scope="global",
    semantics=(
        "Passes when a Deny statement for every principal covers all S3 actions (s3:* or *) "
        'under the condition aws:SecureTransport = "false"; a bucket without a policy fails.'
    ),
)


@dataclass(frozen=True)
class BucketPolicy:
    """A bucket and its policy document (None = no policy)."""

    name: str
    region: str
    policy: Mapping[str, Any] | None


def _one(session: Any, bucket: dict[str, Any]) -> BucketPolicy:
    try:
        text = bucket_client(session, bucket).get_bucket_policy(Bucket=bucket["Name"])["Policy"]
        policy: Mapping[str, Any] | None = json.loads(text)
    except Exception as exc:
        if error_code(exc) != "NoSuchBucketPolicy":
            raise
        policy = None
    return BucketPolicy(bucket["Name"], str(bucket["BucketRegion"]), policy)


def collect(session: Any) -> list[BucketPolicy]:
    """Each bucket's policy (S3 GetBucketPolicy, one call per bucket on the session's call
    pool), read once per scan session."""

    def gather() -> list[BucketPolicy]:
        return each(session, lambda bucket: _one(session, bucket), list_buckets(session))

    return list(collected(session, "s3.bucket_policy", gather))


def _listed(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _everyone(principal: Any) -> bool:
    if principal == "*":
        return True
    return isinstance(principal, Mapping) and "*" in _listed(principal.get("AWS"))


def denies_plain_http(statement: Mapping[str, Any]) -> bool:
    """A Deny for everyone on all S3 actions when aws:SecureTransport is false."""
    if statement.get("Effect") != "Deny" or not _everyone(statement.get("Principal")):
        return False
    if not {"s3:*", "*"} & {str(a) for a in _listed(statement.get("Action"))}:
        return False
    condition = statement.get("Condition") or {}
    for operator in ("Bool", "BoolIfExists"):
        values = (condition.get(operator) or {}).get("aws:SecureTransport")
        if any(str(v).lower() == "false" for v in _listed(values)):
            return True
    return False


def judge(buckets: Iterable[BucketPolicy], partition: str = "aws") -> list[CheckResult]:
    """Pass a bucket whose policy has a statement that denies plain HTTP."""
    results = []
    for bucket in buckets:
        statements = _listed((bucket.policy or {}).get("Statement") or [])
        ok = any(isinstance(s, Mapping) and denies_plain_http(s) for s in statements)
        if bucket.policy is None:
            detail = "No bucket policy."
        else:
            detail = (
                "The policy denies requests without TLS."
                if ok
                else ("No policy statement denies requests where aws:SecureTransport is false.")
            )
        results.append(
            CheckResult(f"arn:{partition}:s3:::{bucket.name}", ok, bucket.region, detail)
        )
    return results


def run(session: Any, unit: str) -> list[CheckResult]:
    """Collect every bucket's policy and judge it."""
    return judge(collect(session), session.partition)
