"""A log metric filter and alarm exist for IAM policy changes (CIS AWS 4.4)."""

from __future__ import annotations

from bot.domain import CheckMeta, Severity
from bot.providers.aws.checks._metric_alarms import PERMISSIONS as _PERMISSIONS
from bot.providers.aws.checks._metric_alarms import SEMANTICS, event_terms, make_run

TERMS = event_terms(
    "DeleteGroupPolicy",
    "DeleteRolePolicy",
    "DeleteUserPolicy",
    "PutGroupPolicy",
    "PutRolePolicy",
    "PutUserPolicy",
    "CreatePolicy",
    "DeletePolicy",
    "CreatePolicyVersion",
    "DeletePolicyVersion",
    "AttachRolePolicy",
    "DetachRolePolicy",
    "AttachUserPolicy",
    "DetachUserPolicy",
    "AttachGroupPolicy",
    "DetachGroupPolicy",
)
"""What the filter pattern must contain (whitespace and quotes ignored)."""

PERMISSIONS = _PERMISSIONS
"""The IAM actions the check calls."""

META = CheckMeta(
    id="aws.cloudwatch.alarm_iam_policy_changes",
    provider="aws",
    title="IAM policy changes are alarmed",
    severity=Severity.MEDIUM,
    frameworks={"cis-aws-3.0": ("4.4",)},
    remediation=(
        "Create a metric filter for IAM policy changes on the log group of your multi-region "
        "trail, and a CloudWatch alarm on its metric that notifies an SNS topic with a "
        "subscriber."
    ),
    scope="global",
    semantics=SEMANTICS,
)

run = make_run(TERMS)
