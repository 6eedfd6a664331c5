"""A log metric filter and alarm exist for disabling or scheduled deletion of customer
managed keys (CIS AWS 4.7)."""

from __future__ import annotations

from bot.domain import CheckMeta, Severity
from bot.providers.aws.checks._metric_alarms import PERMISSIONS as _PERMISSIONS
from bot.providers.aws.checks._metric_alarms import SEMANTICS, event_terms, make_run

TERMS = event_terms(
    "DisableKey",
    "ScheduleKeyDeletion",
    source="kms.amazonaws.com",
)
"""What the filter pattern must contain (whitespace and quotes ignored)."""

PERMISSIONS = _PERMISSIONS
"""The IAM actions the check calls."""

META = CheckMeta(
    id="aws.cloudwatch.alarm_cmk_disable_or_deletion",
    provider="aws",
    title="Disabling or scheduled deletion of KMS keys is alarmed",
    severity=Severity.LOW,
    frameworks={"cis-aws-3.0": ("4.7",)},
    remediation=(
        "Create a metric filter for disabling or scheduled deletion of customer managed keys "
        "on the log group of your multi-region trail, and a CloudWatch alarm on its metric "
        "that notifies an SNS topic with a subscriber."
    ),
    scope="global",
    semantics=SEMANTICS,
)

run = make_run(TERMS)
