"""A log metric filter and alarm exist for console authentication failures (CIS AWS 4.6)."""

from __future__ import annotations

from bot.domain import CheckMeta, Severity
from bot.providers.aws.checks._metric_alarms import PERMISSIONS as _PERMISSIONS
from bot.providers.aws.checks._metric_alarms import SEMANTICS, make_run

TERMS = (
    "$.eventName=ConsoleLogin",
    "$.errorMessage=Failedauthentication",
)
"""What the filter pattern must contain (whitespace and quotes ignored)."""

PERMISSIONS = _PERMISSIONS
"""The IAM actions the check calls."""

META = CheckMeta(
    id="aws.cloudwatch.alarm_console_auth_failures",
    provider="aws",
    title="Console authentication failures are alarmed",
    severity=Severity.LOW,
    frameworks={"cis-aws-3.0": ("4.6",)},
    remediation=(
        "Create a metric filter for console authentication failures on the log group of your "
        "multi-region trail, and a CloudWatch alarm on its metric that notifies an SNS topic "
        "with a subscriber."
    ),
    scope="global",
    semantics=SEMANTICS,
)

run = make_run(TERMS)
