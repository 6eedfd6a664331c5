"""Network security groups do not open SSH (22) or RDP (3389) to the Internet."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.azure.checks.collect import (
    ArmReader,
    network_security_groups,
    properties,
    resource_label,
)

PERMISSIONS = ("Microsoft.Network/networkSecurityGroups/read",)
"""The ARM actions `run` needs."""

META = CheckMeta(
    id="azure.network.nsg_admin_ports",
    provider="azure",
    title="NSGs do not allow SSH/RDP from the Internet",
    severity=Severity.HIGH,
    frameworks={"cis-azure-2.0": ("6.1", "6.2")},
    remediation="Remove or narrow the inbound rules that allow TCP 22/3389 from "
    "Any/Internet; use Azure Bastion or just-in-time VM access instead.",
)

ADMIN_PORTS = {22: "SSH", 3389: "RDP"}
INTERNET_SOURCES = {"*", "any", "internet", "0.0.0.0", "0.0.0.0/0", "::/0"}  # noqa: S104


def _values(props: Mapping[str, Any], single: str, plural: str) -> list[str]:
    values = [str(props[single])] if props.get(single) else []
    values += [str(v) for v in props.get(plural) or []]
    return values


def port_matches(spec: str, port: int) -> bool:
    """Does an NSG port spec ("*", "22", "20-25") include `port`?"""
    spec = spec.strip()
    if spec in ("*", "Any", "any"):
        return True
    low, sep, high = spec.partition("-")
    try:
        return int(low) <= port <= int(high) if sep else int(spec) == port
    except ValueError:
        return False


def _matches(rule: Mapping[str, Any], port: int) -> bool:
    props = properties(rule)
    if str(props.get("direction", "")).lower() != "inbound":
        return False
    if str(props.get("protocol", "*")).lower() not in ("tcp", "*", "any"):
        return False
    sources = _values(props, "sourceAddressPrefix", "sourceAddressPrefixes")
    if not any(s.lower() in INTERNET_SOURCES for s in sources):
        return False
    ports = _values(props, "destinationPortRange", "destinationPortRanges")
    return any(port_matches(spec, port) for spec in ports)


def open_admin_ports(rules: Iterable[Mapping[str, Any]]) -> dict[int, str]:
    """Admin ports reachable from the Internet → the rule that opens each.

    Rules are evaluated like Azure does: by priority, the first matching rule decides (a
    higher-priority Deny from the Internet closes the port again).
    """
    ordered = sorted(rules, key=lambda r: int(properties(r).get("priority") or 65000))
    exposed: dict[int, str] = {}
    for port in ADMIN_PORTS:
        for rule in ordered:
            if _matches(rule, port):
                if str(properties(rule).get("access", "")).lower() == "allow":
                    exposed[port] = str(rule.get("name") or "?")
                break
    return exposed


def judge(nsg: Mapping[str, Any]) -> CheckResult:
    """Pass when neither 22 nor 3389 is reachable from the Internet through the NSG."""
    exposed = open_admin_ports(properties(nsg).get("securityRules") or [])
    detail = (
        "; ".join(
            f"{ADMIN_PORTS[port]} ({port}/tcp) open to the Internet by rule {rule}"
            for port, rule in sorted(exposed.items())
        )
        if exposed
        else "No inbound rule opens SSH or RDP to the Internet."
    )
    return CheckResult(
        resource=resource_label(nsg),
        passed=not exposed,
        region=str(nsg.get("location") or ""),
        detail=detail,
    )


def run(session: ArmReader, unit: str) -> list[CheckResult]:
    """Judge every NSG of the subscription `unit`."""
    return [judge(nsg) for nsg in network_security_groups(session, unit)]
