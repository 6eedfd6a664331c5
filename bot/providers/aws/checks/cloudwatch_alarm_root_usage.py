"""A log metric filter and alarm exist for root user usage (CIS AWS 4.3)."""

from __future__ import annotations

from bot.domain import CheckMeta, Severity
from bot.providers.aws.checks._metric_alarms import PERMISSIONS as _PERMISSIONS
from bot.providers.aws.checks._metric_alarms import SEMANTICS, make_run

TERMS = (
    "$.userIdentity.type=Root",
    "$.userIdentity.invokedByNOTEXISTS",
    "$.eventType!=AwsServiceEvent",
)
"""What the filter pattern must contain (whitespace and quotes ignored)."""

PERMISSIONS = _PERMISSIONS
"""The IAM actions the check calls."""

META = CheckMeta(
    id="aws.cloudwatch.alarm_root_usage",
    provider="aws",
    title="Root user activity is alarmed",
    severity=Severity.HIGH,
    frameworks={"cis-aws-3.0": ("4.3",)},
    remediation=(
        "Create a metric filter for root user usage on the log group of your multi-region "
        "trail, and a CloudWatch alarm on its metric that notifies an SNS topic with a "
        "subscriber."
    ),
    scope="global",
    semantics=SEMANTICS,
)

run = make_run(TERMS)
