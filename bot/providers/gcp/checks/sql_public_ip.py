"""Cloud SQL instances have no public IP (CIS GCP 6.6)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain import CheckMeta, Severity
from bot.providers.gcp.checks._sql import PERMISSIONS as _PERMISSIONS
from bot.providers.gcp.checks._sql import ip_configuration, make_run

PERMISSIONS = _PERMISSIONS
"""The IAM permissions `run` needs."""

META = CheckMeta(
    id="gcp.sql.no_public_ip",
    provider="gcp",
    title="Cloud SQL instances have no public IP",
    severity=Severity.MEDIUM,
    frameworks={"cis-gcp-2.0": ("6.6",)},
    remediation=(
        "Cloud SQL → instance → Connections → Networking: use private IP and clear Public IP."
    ),
    semantics="Fails an instance with a PRIMARY (public) address or ipv4Enabled.",
)


def judge(instance: Mapping[str, Any]) -> tuple[bool, str]:
    """Fail an instance reachable on a public address."""
    public = [
        str(a.get("ipAddress"))
        for a in instance.get("ipAddresses") or []
        if a.get("type") == "PRIMARY"
    ]
    if public or ip_configuration(instance).get("ipv4Enabled") is True:
        return False, f"Public IP: {', '.join(public) or 'enabled'}."
    return True, "Private IP only."


run = make_run(judge)
