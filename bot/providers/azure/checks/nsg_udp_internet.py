"""Network security groups do not admit UDP from the Internet (CIS Azure 6.3)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.azure.checks._props import result
from bot.providers.azure.checks.collect import ArmReader, network_security_groups, properties
from bot.providers.azure.checks.nsg_admin_ports import INTERNET_SOURCES

PERMISSIONS = ("Microsoft.Network/networkSecurityGroups/read",)
"""The ARM actions `run` needs."""

META = CheckMeta(
    id="azure.network.nsg_udp_internet",
    provider="azure",
    title="NSGs do not allow UDP from the Internet",
    severity=Severity.MEDIUM,
    frameworks={"cis-azure-2.0": ("6.3",)},
    remediation="Remove or narrow the inbound rules that allow UDP (or any protocol) from "
    "Any/Internet; expose UDP services through a gateway that filters them.",
    semantics="Fails an NSG with an inbound Allow rule for UDP or any protocol from "
    "*, Any, Internet, 0.0.0.0/0 or ::/0 (rule priority is not weighed against denies).",
)


def udp_rules(nsg: Mapping[str, Any]) -> list[str]:
    """Names of inbound Allow rules that admit UDP from the Internet."""
    found = []
    for rule in properties(nsg).get("securityRules") or []:
        props = properties(rule)
        if str(props.get("direction", "")).lower() != "inbound":
            continue
        if str(props.get("access", "")).lower() != "allow":
            continue
        if str(props.get("protocol", "*")).lower() not in ("udp", "*", "any"):
            continue
        sources = [str(props.get("sourceAddressPrefix") or "")]
        sources += [str(s) for s in props.get("sourceAddressPrefixes") or []]
        if any(s.lower() in INTERNET_SOURCES for s in sources):
            found.append(str(rule.get("name") or "?"))
    return found


def judge(nsg: Mapping[str, Any]) -> CheckResult:
    """Pass when no inbound Allow rule admits UDP from the Internet."""
    found = udp_rules(nsg)
    detail = (
        "UDP open to the Internet by rule " + ", ".join(found) + "."
        if found
        else "No inbound rule allows UDP from the Internet."
    )
    return result(nsg, not found, detail)


def run(session: ArmReader, unit: str) -> list[CheckResult]:
    """Judge every NSG of the subscription `unit`."""
    return [judge(n) for n in network_security_groups(session, unit)]
