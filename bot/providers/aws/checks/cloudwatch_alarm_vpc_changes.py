"""A log metric filter and alarm exist for VPC changes (CIS AWS 4.14)."""

from __future__ import annotations

from bot.domain import CheckMeta, Severity
from bot.providers.aws.checks._metric_alarms import PERMISSIONS as _PERMISSIONS
from bot.providers.aws.checks._metric_alarms import SEMANTICS, event_terms, make_run

TERMS = event_terms(
    "CreateVpc",
    "DeleteVpc",
    "ModifyVpcAttribute",
    "AcceptVpcPeeringConnection",
    "CreateVpcPeeringConnection",
    "DeleteVpcPeeringConnection",
    "RejectVpcPeeringConnection",
    "AttachClassicLinkVpc",
    "DetachClassicLinkVpc",
    "DisableVpcClassicLink",
    "EnableVpcClassicLink",
)
"""What the filter pattern must contain (whitespace and quotes ignored)."""

PERMISSIONS = _PERMISSIONS
"""The IAM actions the check calls."""

META = CheckMeta(
    id="aws.cloudwatch.alarm_vpc_changes",
    provider="aws",
    title="VPC changes are alarmed",
    severity=Severity.LOW,
    frameworks={"cis-aws-3.0": ("4.14",)},
    remediation=(
        "Create a metric filter for VPC changes on the log group of your multi-region trail, "
        "and a CloudWatch alarm on its metric that notifies an SNS topic with a subscriber."
    ),
    scope="global",
    semantics=SEMANTICS,
)

run = make_run(TERMS)
