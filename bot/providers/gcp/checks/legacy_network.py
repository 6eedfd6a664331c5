"""Projects have no legacy (non-subnet) VPC networks (CIS GCP 3.2)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.gcp.checks.collect import GcpReader, networks

PERMISSIONS = ("compute.networks.list",)
"""The IAM permissions `run` needs."""

META = CheckMeta(
    id="gcp.compute.legacy_network",
    provider="gcp",
    title="VPC networks are not legacy networks",
    severity=Severity.MEDIUM,
    frameworks={"cis-gcp-2.0": ("3.2",)},
    remediation="Create a custom-mode VPC network, move the workloads, then delete the "
    "legacy network.",
    semantics="A legacy network has a network-wide IPv4Range and no subnetworks.",
)


def judge(project: str, network: Mapping[str, Any]) -> CheckResult:
    """Fail a network that has a network-wide IPv4 range."""
    legacy = bool(network.get("IPv4Range"))
    name = str(network.get("name") or "?")
    return CheckResult(
        resource=f"projects/{project}/global/networks/{name}",
        passed=not legacy,
        region="global",
        detail=f"Legacy network ({network.get('IPv4Range')})."
        if legacy
        else "Subnet-mode network.",
    )


def run(session: GcpReader, unit: str) -> list[CheckResult]:
    """Judge every network of the project `unit`."""
    return [judge(unit, n) for n in networks(session, unit)]
