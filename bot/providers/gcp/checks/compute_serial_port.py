"""Instances do not enable the interactive serial console (CIS GCP 4.5)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain import CheckMeta, Severity
from bot.providers.gcp.checks._instances import PERMISSIONS as _PERMISSIONS
from bot.providers.gcp.checks._instances import make_run
from bot.providers.gcp.checks.collect import metadata_items

PERMISSIONS = _PERMISSIONS
"""The IAM permissions `run` needs."""

META = CheckMeta(
    id="gcp.compute.serial_port_disabled",
    provider="gcp",
    title="Instances do not enable the interactive serial console",
    severity=Severity.MEDIUM,
    frameworks={"cis-gcp-2.0": ("4.5",)},
    remediation="Remove the serial-port-enable metadata item or set it to FALSE.",
    semantics="Fails when the instance metadata serial-port-enable is true or 1.",
)


def judge(instance: Mapping[str, Any]) -> tuple[bool, str]:
    """Fail when serial-port-enable is on."""
    value = metadata_items(instance).get("serial-port-enable", "").lower()
    on = value in ("true", "1")
    return not on, "The serial console is " + ("enabled." if on else "disabled.")


run = make_run(judge)
