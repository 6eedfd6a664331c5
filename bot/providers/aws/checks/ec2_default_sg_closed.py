"""Every VPC's default security group allows no traffic (CIS AWS 5.4)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.aws.checks._common import partition_for_region, region_of
from bot.providers.aws.checks._ports import security_groups

PERMISSIONS = ("ec2:DescribeSecurityGroups",)
"""The IAM actions the check calls."""

META = CheckMeta(
    id="aws.ec2.default_sg_closed",
    provider="aws",
    title="Default security groups allow no traffic",
    severity=Severity.LOW,
    frameworks={"cis-aws-3.0": ("5.4",)},
    remediation=(
        "Remove every inbound and outbound rule from the VPC's default security group and "
        "use purpose-made groups instead."
    ),
    scope="regional",
)


def collect(session: Any, region: str | None) -> list[dict[str, Any]]:
    """The default security group of every VPC in the region: those named "default" (a
    name only AWS may give) of the region's groups, listed once per scan session and shared
    with the other security group checks."""
    groups = security_groups(session, region or session.default_region)
    return [g for g in groups if g.get("GroupName") == "default"]


def judge(groups: Iterable[Mapping[str, Any]], region: str) -> list[CheckResult]:
    """Fail a default group that has any inbound or outbound rule."""
    partition = partition_for_region(region)
    results = []
    for group in groups:
        inbound = len(group.get("IpPermissions", []))
        outbound = len(group.get("IpPermissionsEgress", []))
        closed = inbound == 0 and outbound == 0
        detail = (
            "No rules."
            if closed
            else f"{inbound} inbound and {outbound} outbound rule(s) in {group.get('VpcId', '')}."
        )
        arn = (
            f"arn:{partition}:ec2:{region}:{group.get('OwnerId', '')}:"
            f"security-group/{group['GroupId']}"
        )
        results.append(CheckResult(resource=arn, passed=closed, region=region, detail=detail))
    return results


def run(session: Any, unit: str) -> list[CheckResult]:
    """Collect the region's default groups and judge them."""
    region = region_of(unit) or session.default_region
    return judge(collect(session, region), region)
