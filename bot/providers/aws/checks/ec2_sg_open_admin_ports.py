"""No security group admits the whole internet to SSH (22), RDP (3389) or all ports
(CIS AWS 5.2/5.3)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.aws.checks._common import partition_for_region, region_of
from bot.providers.aws.checks._ports import security_groups

ADMIN_PORTS = {22: "SSH", 3389: "RDP"}
OPEN_CIDRS = ("0.0.0.0/0", "::/0")
_ALL_PROTOCOLS = ("-1", "all")
_PORT_PROTOCOLS = ("tcp", "6", "udp", "17")

PERMISSIONS = ("ec2:DescribeSecurityGroups",)
"""The IAM actions the check calls."""

META = CheckMeta(
    id="aws.ec2.sg_open_admin_ports",
    provider="aws",
    title="Security groups do not open SSH, RDP or all ports to the internet",
    severity=Severity.HIGH,
    frameworks={"cis-aws-3.0": ("5.2", "5.3")},
    remediation=(
        "Remove the inbound rule that allows 0.0.0.0/0 or ::/0, and allow only known "
        "address ranges (or use Session Manager instead of SSH/RDP)."
    ),
    scope="regional",
    semantics=(
        "One result per group covering SSH, RDP and all-ports rules from 0.0.0.0/0 or ::/0 "
        "together; aws.ec2.sg_ssh_open and aws.ec2.sg_rdp_open judge each port on its own."
    ),
)


def collect(session: Any, region: str | None) -> list[dict[str, Any]]:
    """Every security group in the region (EC2 DescribeSecurityGroups, paginated), shared
    with the other security group checks of the scan session."""
    return security_groups(session, region or session.default_region)


def _open_sources(permission: Mapping[str, Any]) -> list[str]:
    v4 = [r.get("CidrIp") for r in permission.get("IpRanges", [])]
    v6 = [r.get("CidrIpv6") for r in permission.get("Ipv6Ranges", [])]
    return [c for c in (*v4, *v6) if c in OPEN_CIDRS]


def exposures(permission: Mapping[str, Any]) -> list[str]:
    """What one inbound rule opens to the internet, e.g. ["0.0.0.0/0 → tcp 22 (SSH)"]."""
    sources = _open_sources(permission)
    if not sources:
        return []
    protocol = str(permission.get("IpProtocol", "")).lower()
    if protocol in _ALL_PROTOCOLS:
        return [f"{cidr} → all traffic" for cidr in sources]
    if protocol not in _PORT_PROTOCOLS:
        return []
    low = int(permission.get("FromPort", 0))
    high = int(permission.get("ToPort", 65535))
    name = "tcp" if protocol in ("tcp", "6") else "udp"
    if low <= 0 and high >= 65535:
        return [f"{cidr} → all {name} ports" for cidr in sources]
    hits = [f"{name} {p} ({label})" for p, label in ADMIN_PORTS.items() if low <= p <= high]
    return [f"{cidr} → {hit}" for cidr in sources for hit in hits]


def judge(groups: Iterable[Mapping[str, Any]], region: str) -> list[CheckResult]:
    """One result per group: fail when any inbound rule exposes an admin port or all ports."""
    partition = partition_for_region(region)
    results = []
    for group in groups:
        found = [e for p in group.get("IpPermissions", []) for e in exposures(p)]
        arn = (
            f"arn:{partition}:ec2:{region}:{group.get('OwnerId', '')}:"
            f"security-group/{group['GroupId']}"
        )
        name = group.get("GroupName", "")
        detail = (
            f"{name}: open to the internet: {'; '.join(found)}."
            if found
            else f"{name}: no admin port is open to the internet."
        )
        results.append(CheckResult(resource=arn, passed=not found, region=region, detail=detail))
    return results


def run(session: Any, unit: str) -> list[CheckResult]:
    """Collect the region's security groups and judge them."""
    region = region_of(unit) or session.default_region
    return judge(collect(session, region), region)
