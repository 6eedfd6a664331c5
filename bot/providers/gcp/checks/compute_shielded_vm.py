"""Instances run as Shielded VMs (CIS GCP 4.8)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain import CheckMeta, Severity
from bot.providers.gcp.checks._instances import PERMISSIONS as _PERMISSIONS
from bot.providers.gcp.checks._instances import make_run

PERMISSIONS = _PERMISSIONS
"""The IAM permissions `run` needs."""

META = CheckMeta(
    id="gcp.compute.shielded_vm",
    provider="gcp",
    title="Instances run as Shielded VMs",
    severity=Severity.MEDIUM,
    frameworks={"cis-gcp-2.0": ("4.8",)},
    remediation="Stop the instance and turn on vTPM and integrity monitoring (Edit → Shielded VM).",
    semantics="Passes when vTPM and integrity monitoring are both on.",
)


def judge(instance: Mapping[str, Any]) -> tuple[bool, str]:
    """Pass when vTPM and integrity monitoring are on."""
    config = instance.get("shieldedInstanceConfig") or {}
    off = [
        label
        for key, label in (
            ("enableVtpm", "vTPM"),
            ("enableIntegrityMonitoring", "integrity monitoring"),
        )
        if config.get(key) is not True
    ]
    return not off, "Off: " + ", ".join(off) + "." if off else "Shielded VM is on."


run = make_run(judge)
