"""S3 object-level logging for read events is enabled (CIS AWS 3.9)."""

from __future__ import annotations

from bot.domain import CheckMeta, Severity
from bot.providers.aws.checks._data_events import PERMISSIONS as _PERMISSIONS
from bot.providers.aws.checks._data_events import SEMANTICS, make_run

PERMISSIONS = _PERMISSIONS
"""The IAM actions the check calls."""

META = CheckMeta(
    id="aws.cloudtrail.s3_object_read_events",
    provider="aws",
    title="CloudTrail records S3 object-level read events",
    severity=Severity.LOW,
    frameworks={"cis-aws-3.0": ("3.9",)},
    remediation=(
        "CloudTrail → the multi-region trail → Data events: add S3, all current and future "
        "buckets, with read events."
    ),
    scope="global",
    semantics=SEMANTICS,
)

run = make_run("ReadOnly")
