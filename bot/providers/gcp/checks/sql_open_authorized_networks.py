"""Cloud SQL instances do not authorize 0.0.0.0/0 (CIS GCP 6.5)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain import CheckMeta, Severity
from bot.providers.gcp.checks._sql import PERMISSIONS as _PERMISSIONS
from bot.providers.gcp.checks._sql import ip_configuration, make_run

PERMISSIONS = _PERMISSIONS
"""The IAM permissions `run` needs."""

META = CheckMeta(
    id="gcp.sql.no_open_authorized_networks",
    provider="gcp",
    title="Cloud SQL instances do not authorize 0.0.0.0/0",
    severity=Severity.HIGH,
    frameworks={"cis-gcp-2.0": ("6.5",)},
    remediation=(
        "Cloud SQL → instance → Connections → Networking: remove the 0.0.0.0/0 authorized "
        "network; use the Cloud SQL Auth Proxy or private IP."
    ),
    semantics="Fails an instance whose authorized networks include 0.0.0.0/0 or ::/0.",
)

OPEN = ("0.0.0.0/0", "::/0")


def judge(instance: Mapping[str, Any]) -> tuple[bool, str]:
    """Fail when an authorized network is the whole internet."""
    networks = ip_configuration(instance).get("authorizedNetworks") or []
    wide = [str(n.get("name") or n.get("value")) for n in networks if n.get("value") in OPEN]
    if wide:
        return False, f"Authorized for the whole internet: {', '.join(wide)}."
    return True, "No authorized network is open to the internet."


run = make_run(judge)
