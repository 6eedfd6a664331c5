"""Instances have no public IP address (CIS GCP 4.9)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain import CheckMeta, Severity
from bot.providers.gcp.checks._instances import PERMISSIONS as _PERMISSIONS
from bot.providers.gcp.checks._instances import make_run

PERMISSIONS = _PERMISSIONS
"""The IAM permissions `run` needs."""

META = CheckMeta(
    id="gcp.compute.no_public_ip",
    provider="gcp",
    title="Instances have no public IP address",
    severity=Severity.MEDIUM,
    frameworks={"cis-gcp-2.0": ("4.9",)},
    remediation=(
        "Remove the external IP (Edit → Network interfaces → External IPv4 address: None); reach "
        "the instance through IAP or a NAT."
    ),
    semantics=(
        "GKE nodes are skipped; fails an instance with an access config (external IPv4) or an "
        "IPv6 access config."
    ),
)


def judge(instance: Mapping[str, Any]) -> tuple[bool, str]:
    """Fail an instance with an external address."""
    addresses = [
        str(config.get("natIP") or config.get("externalIpv6") or "ephemeral")
        for interface in instance.get("networkInterfaces") or []
        for config in [
            *(interface.get("accessConfigs") or []),
            *(interface.get("ipv6AccessConfigs") or []),
        ]
    ]
    if addresses:
        return False, f"External address: {', '.join(addresses)}."
    return True, "No external address."


run = make_run(judge, skip_gke=True)
