"""A log metric filter and alarm exist for unauthorized API calls (CIS AWS 4.1)."""

from __future__ import annotations

from bot.domain import CheckMeta, Severity
from bot.providers.aws.checks._metric_alarms import PERMISSIONS as _PERMISSIONS
from bot.providers.aws.checks._metric_alarms import SEMANTICS, make_run

TERMS = (
    "$.errorCode=*UnauthorizedOperation",
    "$.errorCode=AccessDenied*",
)
"""What the filter pattern must contain (whitespace and quotes ignored)."""

PERMISSIONS = _PERMISSIONS
"""The IAM actions the check calls."""

META = CheckMeta(
    id="aws.cloudwatch.alarm_unauthorized_api_calls",
    provider="aws",
    title="Unauthorized API calls are alarmed",
    severity=Severity.MEDIUM,
    frameworks={"cis-aws-3.0": ("4.1",)},
    remediation=(
        "Create a metric filter for unauthorized API calls on the log group of your multi- "
        "region trail, and a CloudWatch alarm on its metric that notifies an SNS topic with a "
        "subscriber."
    ),
    scope="global",
    semantics=SEMANTICS,
)

run = make_run(TERMS)
