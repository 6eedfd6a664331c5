"""A log metric filter and alarm exist for console sign-in without MFA (CIS AWS 4.2)."""

from __future__ import annotations

from bot.domain import CheckMeta, Severity
from bot.providers.aws.checks._metric_alarms import PERMISSIONS as _PERMISSIONS
from bot.providers.aws.checks._metric_alarms import SEMANTICS, make_run

TERMS = (
    "$.eventName=ConsoleLogin",
    "$.additionalEventData.MFAUsed!=Yes",
)
"""What the filter pattern must contain (whitespace and quotes ignored)."""

PERMISSIONS = _PERMISSIONS
"""The IAM actions the check calls."""

META = CheckMeta(
    id="aws.cloudwatch.alarm_console_login_without_mfa",
    provider="aws",
    title="Console sign-ins without MFA are alarmed",
    severity=Severity.MEDIUM,
    frameworks={"cis-aws-3.0": ("4.2",)},
    remediation=(
        "Create a metric filter for console sign-in without MFA on the log group of your "
        "multi-region trail, and a CloudWatch alarm on its metric that notifies an SNS topic "
        "with a subscriber."
    ),
    scope="global",
    semantics=SEMANTICS,
)

run = make_run(TERMS)
