"""The S3 bucket a CloudTrail trail writes to has server access logging on (CIS AWS 3.4)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.aws.checks._common import error_code, region_of
from bot.providers.aws.checks._trails import PERMISSIONS as _PERMISSIONS
from bot.providers.aws.checks._trails import TrailInfo, home_trails

PERMISSIONS = (*_PERMISSIONS, "s3:GetBucketLogging")
"""The IAM actions the check calls."""

META = CheckMeta(
    id="aws.cloudtrail.bucket_access_logging",
    provider="aws",
    title="CloudTrail buckets have S3 server access logging on",
    severity=Severity.LOW,
    frameworks={"cis-aws-3.0": ("3.4",)},
    remediation=(
        "S3 → the trail's bucket → Properties → Server access logging: enable, to another bucket."
    ),
    scope="regional",
    semantics=(
        "Each trail is judged in its home region; a trail whose bucket no longer exists fails."
    ),
)


def collect(session: Any, trails: Iterable[TrailInfo]) -> dict[str, Mapping[str, Any] | None]:
    """Trail bucket → its LoggingEnabled block (None when off or the bucket is gone)."""
    found: dict[str, Mapping[str, Any] | None] = {}
    for trail in trails:
        if not trail.bucket or trail.bucket in found:
            continue
        try:
            got = session.client("s3", trail.home_region).get_bucket_logging(Bucket=trail.bucket)
            found[trail.bucket] = got.get("LoggingEnabled")
        except Exception as exc:
            if error_code(exc) != "NoSuchBucket":
                raise
            found[trail.bucket] = None
    return found


def judge(
    trails: Iterable[TrailInfo], logging: Mapping[str, Mapping[str, Any] | None]
) -> list[CheckResult]:
    """One result per trail: pass when its bucket logs server access."""
    results = []
    for t in trails:
        target = logging.get(t.bucket)
        ok = bool(target and target.get("TargetBucket"))
        detail = (
            f"Bucket {t.bucket} logs access to {target.get('TargetBucket')}."
            if ok and target
            else f"Bucket {t.bucket or '(none)'} has no server access logging."
        )
        results.append(CheckResult(t.arn, ok, t.home_region, detail))
    return results


def run(session: Any, unit: str) -> list[CheckResult]:
    """Read the logging of each home trail's bucket and judge it."""
    trails = home_trails(session, region_of(unit) or session.default_region)
    return judge(trails, collect(session, trails))
