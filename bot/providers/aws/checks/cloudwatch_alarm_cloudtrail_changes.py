"""A log metric filter and alarm exist for CloudTrail configuration changes (CIS AWS 4.5)."""

from __future__ import annotations

from bot.domain import CheckMeta, Severity
from bot.providers.aws.checks._metric_alarms import PERMISSIONS as _PERMISSIONS
from bot.providers.aws.checks._metric_alarms import SEMANTICS, event_terms, make_run

TERMS = event_terms(
    "CreateTrail",
    "UpdateTrail",
    "DeleteTrail",
    "StartLogging",
    "StopLogging",
)
"""What the filter pattern must contain (whitespace and quotes ignored)."""

PERMISSIONS = _PERMISSIONS
"""The IAM actions the check calls."""

META = CheckMeta(
    id="aws.cloudwatch.alarm_cloudtrail_changes",
    provider="aws",
    title="CloudTrail configuration changes are alarmed",
    severity=Severity.MEDIUM,
    frameworks={"cis-aws-3.0": ("4.5",)},
    remediation=(
        "Create a metric filter for CloudTrail configuration changes on the log group of your "
        "multi-region trail, and a CloudWatch alarm on its metric that notifies an SNS topic "
        "with a subscriber."
    ),
    scope="global",
    semantics=SEMANTICS,
)

run = make_run(TERMS)
