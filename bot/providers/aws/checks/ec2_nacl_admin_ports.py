"""No network ACL admits 0.0.0.0/0 or ::/0 to SSH (22) or RDP (3389) (CIS AWS 5.1)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.aws.checks._common import paginate, partition_for_region, region_of
from bot.providers.aws.checks._ports import ALL, OPEN_CIDRS, TCP, covers

ADMIN_PORTS = {22: "SSH", 3389: "RDP"}

PERMISSIONS = ("ec2:DescribeNetworkAcls",)
"""The IAM actions the check calls."""

META = CheckMeta(
    id="aws.ec2.nacl_admin_ports",
    provider="aws",
    title="Network ACLs do not admit SSH or RDP from the internet",
    severity=Severity.MEDIUM,
    frameworks={"cis-aws-3.0": ("5.1",)},
    remediation=(
        "Add a lower-numbered inbound deny entry for ports 22 and 3389 from 0.0.0.0/0 and ::/0, "
        "or narrow the allow entry's CIDR."
    ),
    scope="regional",
    semantics=(
        "Inbound entries are evaluated like AWS does, lowest rule number first: a port is open "
        "when the first entry from 0.0.0.0/0 (or ::/0) that matches it allows. The default "
        "network ACL (allow all) fails."
    ),
)


def _matches(entry: Mapping[str, Any], port: int, cidr: str) -> bool:
    source = entry.get("CidrBlock") or entry.get("Ipv6CidrBlock")
    if source != cidr or entry.get("Egress"):
        return False
    protocol = str(entry.get("Protocol", "")).lower()
    if protocol in ALL:
        return True
    if protocol not in TCP:
        return False
    ports = entry.get("PortRange") or {}
    return covers(ports.get("From"), ports.get("To"), port)


def open_ports(entries: Iterable[Mapping[str, Any]]) -> list[str]:
    """ "SSH (22) from 0.0.0.0/0" for every admin port the entries leave open."""
    ordered = sorted(entries, key=lambda e: int(e.get("RuleNumber") or 32767))
    found = []
    for port, label in ADMIN_PORTS.items():
        for cidr in OPEN_CIDRS:
            first = next((e for e in ordered if _matches(e, port, cidr)), None)
            if first is not None and str(first.get("RuleAction")).lower() == "allow":
                found.append(f"{label} ({port}) from {cidr}")
    return found


def judge(acls: Iterable[Mapping[str, Any]], region: str) -> list[CheckResult]:
    """One result per network ACL."""
    partition = partition_for_region(region)
    results = []
    for acl in acls:
        found = open_ports(acl.get("Entries", []))
        owner = acl.get("OwnerId", "")
        arn = f"arn:{partition}:ec2:{region}:{owner}:network-acl/{acl['NetworkAclId']}"
        detail = (
            "Open: " + "; ".join(found) + "."
            if found
            else "SSH and RDP are not admitted from the internet."
        )
        results.append(CheckResult(arn, not found, region, detail))
    return results


def run(session: Any, unit: str) -> list[CheckResult]:
    """Describe the region's network ACLs and judge them."""
    region = region_of(unit) or session.default_region
    ec2 = session.client("ec2", region)
    return judge(paginate(ec2, "describe_network_acls", "NetworkAcls"), region)
