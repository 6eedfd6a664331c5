"""Unattached disks are encrypted with a customer managed key (CIS Azure 7.4)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.azure.checks._props import prop, result
from bot.providers.azure.checks.collect import ArmReader, disks

CMK_TYPES = ("EncryptionAtRestWithCustomerKey", "EncryptionAtRestWithPlatformAndCustomerKeys")

PERMISSIONS = ("Microsoft.Compute/disks/read",)
"""The ARM actions `run` needs."""

META = CheckMeta(
    id="azure.compute.unattached_disk_cmk",
    provider="azure",
    title="Unattached disks are encrypted with a customer managed key",
    severity=Severity.LOW,
    frameworks={"cis-azure-2.0": ("7.4",)},
    remediation="Delete the disk if unneeded, or Disk → Encryption: customer-managed key "
    "through a disk encryption set.",
    semantics="Only disks whose diskState is Unattached are judged.",
)


def judge(disk: Mapping[str, Any]) -> CheckResult:
    """Pass when the disk's encryption type uses a customer key."""
    kind = str(prop(disk, "encryption.type") or "EncryptionAtRestWithPlatformKey")
    return result(disk, kind in CMK_TYPES, f"Encryption: {kind}.")


def run(session: ArmReader, unit: str) -> list[CheckResult]:
    """Judge every unattached disk of the subscription `unit`."""
    return [judge(d) for d in disks(session, unit) if str(prop(d, "diskState")) == "Unattached"]
