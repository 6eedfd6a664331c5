"""Projects do not keep the auto-created `default` VPC network."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.gcp.checks.collect import GcpReader, networks

PERMISSIONS = ("compute.networks.list",)
"""The IAM permissions `run` needs."""

META = CheckMeta(
    id="gcp.compute.default_network",
    provider="gcp",
    title="The default VPC network has been removed",
    severity=Severity.MEDIUM,
    frameworks={"cis-gcp-2.0": ("3.1",)},
    remediation="Move workloads to a purpose-built VPC, delete the `default` network and its "
    "permissive firewall rules, and set the constraints/compute.skipDefaultNetworkCreation "
    "organization policy.",
)


def judge(project: str, project_networks: Iterable[Mapping[str, Any]]) -> CheckResult:
    """One verdict per project: pass when no network is named `default`."""
    names = [str(n.get("name") or "") for n in project_networks]
    present = "default" in names
    resource = f"projects/{project}/global/networks/default" if present else f"projects/{project}"
    return CheckResult(
        resource=resource,
        passed=not present,
        region="global",
        detail="The auto-created default network (with its permissive firewall rules) exists."
        if present
        else "No default network.",
    )


def run(session: GcpReader, unit: str) -> list[CheckResult]:
    """Judge the project `unit`."""
    return [judge(unit, networks(session, unit))]
