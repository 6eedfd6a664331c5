"""VPC firewall rules do not open SSH (22) or RDP (3389) to the whole Internet."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.gcp.checks.collect import GcpReader, firewalls

PERMISSIONS = ("compute.firewalls.list",)
"""The IAM permissions `run` needs."""

META = CheckMeta(
    id="gcp.compute.firewall_admin_ports",
    provider="gcp",
    title="Firewall rules do not allow SSH/RDP from 0.0.0.0/0",
    severity=Severity.HIGH,
    frameworks={"cis-gcp-2.0": ("3.6", "3.7")},
    remediation="Restrict the rule's source ranges (or delete it) and reach VMs through "
    "Identity-Aware Proxy TCP forwarding (35.235.240.0/20) instead.",
)

ADMIN_PORTS = {22: "SSH", 3389: "RDP"}
ANYWHERE = {"0.0.0.0/0", "::/0"}


def port_covered(ports: list[str] | None, port: int) -> bool:
    """Does an `allowed[].ports` list include `port`? No list means every port."""
    if not ports:
        return True
    for spec in ports:
        low, sep, high = str(spec).partition("-")
        try:
            if (int(low) <= port <= int(high)) if sep else int(low) == port:
                return True
        except ValueError:
            continue
    return False


def exposed_ports(rule: Mapping[str, Any]) -> list[int]:
    """The admin ports an enabled ingress allow-rule opens to anywhere."""
    if str(rule.get("direction") or "INGRESS") != "INGRESS" or rule.get("disabled"):
        return []
    if not ANYWHERE.intersection(rule.get("sourceRanges") or []):
        return []
    found: set[int] = set()
    for allowed in rule.get("allowed") or []:
        protocol = str(allowed.get("IPProtocol") or "").lower()
        if protocol not in ("tcp", "all", "6"):
            continue
        found.update(p for p in ADMIN_PORTS if port_covered(allowed.get("ports"), p))
    return sorted(found)


def judge(rule: Mapping[str, Any]) -> CheckResult:
    """Pass unless the rule opens 22 or 3389 to 0.0.0.0/0 or ::/0."""
    ports = exposed_ports(rule)
    return CheckResult(
        resource=str(rule.get("name") or "?"),
        passed=not ports,
        region="global",
        detail=", ".join(f"{ADMIN_PORTS[p]} ({p}/tcp)" for p in ports) + " open to the Internet"
        if ports
        else "Does not open SSH or RDP to the Internet.",
    )


def run(session: GcpReader, unit: str) -> list[CheckResult]:
    """Judge every firewall rule of the project `unit`."""
    return [judge(rule) for rule in firewalls(session, unit)]
