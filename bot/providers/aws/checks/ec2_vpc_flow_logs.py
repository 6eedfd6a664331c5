"""Every VPC has flow logging enabled (CIS AWS 3.7)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.aws.checks._common import paginate, partition_for_region, region_of

PERMISSIONS = ("ec2:DescribeVpcs", "ec2:DescribeFlowLogs")
"""The IAM actions the check calls."""

META = CheckMeta(
    id="aws.ec2.vpc_flow_logs",
    provider="aws",
    title="VPC flow logging is enabled in every VPC",
    severity=Severity.MEDIUM,
    frameworks={"cis-aws-3.0": ("3.7",)},
    remediation=(
        "VPC → the VPC → Flow logs → Create flow log (filter Reject or All) to CloudWatch "
        "Logs or S3."
    ),
    scope="regional",
    semantics="Passes a VPC with an active flow log of traffic type REJECT or ALL.",
)


def judge(
    vpcs: Iterable[Mapping[str, Any]], flow_logs: Iterable[Mapping[str, Any]], region: str
) -> list[CheckResult]:
    """One result per VPC."""
    logged: dict[str, list[str]] = {}
    for log in flow_logs:
        if str(log.get("FlowLogStatus", "ACTIVE")) != "ACTIVE":
            continue
        if str(log.get("TrafficType", "ALL")) not in ("ALL", "REJECT"):
            continue
        logged.setdefault(str(log.get("ResourceId")), []).append(str(log.get("FlowLogId")))
    partition = partition_for_region(region)
    results = []
    for vpc in vpcs:
        vpc_id = str(vpc["VpcId"])
        ids = logged.get(vpc_id, [])
        arn = f"arn:{partition}:ec2:{region}:{vpc.get('OwnerId', '')}:vpc/{vpc_id}"
        detail = f"Flow log {', '.join(sorted(ids))}." if ids else "No active flow log."
        results.append(CheckResult(arn, bool(ids), region, detail))
    return results


def run(session: Any, unit: str) -> list[CheckResult]:
    """Describe the region's VPCs and flow logs and judge them."""
    region = region_of(unit) or session.default_region
    ec2 = session.client("ec2", region)
    vpcs = paginate(ec2, "describe_vpcs", "Vpcs")
    return judge(vpcs, paginate(ec2, "describe_flow_logs", "FlowLogs"), region)
