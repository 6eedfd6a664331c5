"""A log metric filter and alarm exist for S3 bucket policy changes (CIS AWS 4.8)."""

from __future__ import annotations

from bot.domain import CheckMeta, Severity
from bot.providers.aws.checks._metric_alarms import PERMISSIONS as _PERMISSIONS
from bot.providers.aws.checks._metric_alarms import SEMANTICS, event_terms, make_run

TERMS = event_terms(
    "PutBucketAcl",
    "PutBucketPolicy",
    "PutBucketCors",
    "PutBucketLifecycle",
    "PutBucketReplication",
    "DeleteBucketPolicy",
    "DeleteBucketCors",
    "DeleteBucketLifecycle",
    "DeleteBucketReplication",
    source="s3.amazonaws.com",
)
"""What the filter pattern must contain (whitespace and quotes ignored)."""

PERMISSIONS = _PERMISSIONS
"""The IAM actions the check calls."""

META = CheckMeta(
    id="aws.cloudwatch.alarm_s3_bucket_policy_changes",
    provider="aws",
    title="S3 bucket policy changes are alarmed",
    severity=Severity.LOW,
    frameworks={"cis-aws-3.0": ("4.8",)},
    remediation=(
        "Create a metric filter for S3 bucket policy changes on the log group of your multi- "
        "region trail, and a CloudWatch alarm on its metric that notifies an SNS topic with a "
        "subscriber."
    ),
    scope="global",
    semantics=SEMANTICS,
)

run = make_run(TERMS)
