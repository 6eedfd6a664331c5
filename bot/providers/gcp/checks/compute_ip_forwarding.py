"""Instances do not forward IP packets (CIS GCP 4.6)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain import CheckMeta, Severity
from bot.providers.gcp.checks._instances import PERMISSIONS as _PERMISSIONS
from bot.providers.gcp.checks._instances import make_run

PERMISSIONS = _PERMISSIONS
"""The IAM permissions `run` needs."""

META = CheckMeta(
    id="gcp.compute.ip_forwarding_disabled",
    provider="gcp",
    title="Instances do not forward IP packets",
    severity=Severity.MEDIUM,
    frameworks={"cis-gcp-2.0": ("4.6",)},
    remediation=(
        "IP forwarding is set at creation: re-create the instance without --can-ip-forward."
    ),
    semantics="GKE nodes are skipped.",
)


def judge(instance: Mapping[str, Any]) -> tuple[bool, str]:
    """Fail when canIpForward is true."""
    on = instance.get("canIpForward") is True
    return not on, "IP forwarding is " + ("on." if on else "off.")


run = make_run(judge, skip_gke=True)
