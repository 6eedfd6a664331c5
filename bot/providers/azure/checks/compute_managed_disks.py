"""Virtual machines use managed disks (CIS Azure 7.2)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.azure.checks._props import prop, result
from bot.providers.azure.checks.collect import ArmReader, virtual_machines

PERMISSIONS = ("Microsoft.Compute/virtualMachines/read",)
"""The ARM actions `run` needs."""

META = CheckMeta(
    id="azure.compute.managed_disks",
    provider="azure",
    title="Virtual machines use managed disks",
    severity=Severity.MEDIUM,
    frameworks={"cis-azure-2.0": ("7.2",)},
    remediation="Convert the VM to managed disks: stop (deallocate) it, then "
    "`az vm convert --resource-group RG --name VM`.",
    semantics="Fails a VM whose OS disk or any data disk is an unmanaged (VHD) disk.",
)


def judge(vm: Mapping[str, Any]) -> CheckResult:
    """Pass when the OS disk and every data disk are managed."""
    os_disk = prop(vm, "storageProfile.osDisk") or {}
    disks = [os_disk, *(prop(vm, "storageProfile.dataDisks") or [])]
    unmanaged = [
        str(d.get("name") or "?")
        for d in disks
        if isinstance(d, Mapping) and d and not d.get("managedDisk")
    ]
    detail = (
        "Unmanaged disks: " + ", ".join(unmanaged) + "." if unmanaged else "All disks are managed."
    )
    return result(vm, not unmanaged, detail)


def run(session: ArmReader, unit: str) -> list[CheckResult]:
    """Judge every VM of the subscription `unit`."""
    return [judge(vm) for vm in virtual_machines(session, unit)]
