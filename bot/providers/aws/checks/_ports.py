"""Shared judging of "is this admin port open to the whole internet" for security groups and
network ACLs, and the per-port security group checks' body."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bot.domain import CheckResult
from bot.providers.aws.checks._common import collected, partition_for_region

OPEN_CIDRS = ("0.0.0.0/0", "::/0")
TCP = ("tcp", "6")
ALL = ("-1", "all")


def covers(low: Any, high: Any, port: int) -> bool:
    """Does the range low..high (missing = all ports) include `port`?"""
    lo = 0 if low is None else int(low)
    hi = 65535 if high is None else int(high)
    return lo <= port <= hi or (lo == -1 and hi == -1)


def sg_open_sources(permission: Mapping[str, Any], port: int) -> list[str]:
    """The internet-wide sources ("0.0.0.0/0", "::/0") an inbound SG rule admits to TCP
    `port` (all traffic and all-port ranges included)."""
    protocol = str(permission.get("IpProtocol", "")).lower()
    if protocol not in ALL and protocol not in TCP:
        return []
    if protocol in TCP and not covers(permission.get("FromPort"), permission.get("ToPort"), port):
        return []
    v4 = [r.get("CidrIp") for r in permission.get("IpRanges", [])]
    v6 = [r.get("CidrIpv6") for r in permission.get("Ipv6Ranges", [])]
    return [str(c) for c in (*v4, *v6) if c in OPEN_CIDRS]


def security_groups(session: Any, region: str) -> list[dict[str, Any]]:
    """Every security group of the region, described once per region and scan session."""

    def collect() -> list[dict[str, Any]]:
        ec2 = session.client("ec2", region)
        groups: list[dict[str, Any]] = []
        for page in ec2.get_paginator("describe_security_groups").paginate():
            groups.extend(page.get("SecurityGroups", []))
        return groups

    return list(collected(session, f"ec2.security_groups:{region}", collect))


def judge_port(
    groups: Iterable[Mapping[str, Any]], region: str, port: int, label: str
) -> list[CheckResult]:
    """One result per group: fail when an inbound rule admits 0.0.0.0/0 or ::/0 to `port`."""
    partition = partition_for_region(region)
    results = []
    for group in groups:
        sources = sorted(
            {s for p in group.get("IpPermissions", []) for s in sg_open_sources(p, port)}
        )
        arn = (
            f"arn:{partition}:ec2:{region}:{group.get('OwnerId', '')}:"
            f"security-group/{group['GroupId']}"
        )
        name = group.get("GroupName", "")
        detail = (
            f"{name}: {label} (tcp {port}) open to {' and '.join(sources)}."
            if sources
            else f"{name}: {label} (tcp {port}) is not open to the internet."
        )
        results.append(CheckResult(arn, not sources, region, detail))
    return results
