"""The root user's MFA is a hardware device, not a virtual one (CIS AWS 1.6)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bot.domain import CheckMeta, CheckResult, Severity
from bot.providers.aws.checks._common import account_summary, paginate, root_arn

PERMISSIONS = ("iam:GetAccountSummary", "iam:ListVirtualMFADevices")
"""The IAM actions the check calls."""

META = CheckMeta(
    id="aws.iam.root_hardware_mfa",
    provider="aws",
    title="Root user uses a hardware MFA device",
    severity=Severity.HIGH,
    frameworks={"cis-aws-3.0": ("1.6",)},
    remediation=(
        "Sign in as the root user, remove the virtual MFA device and assign a hardware "
        "(FIDO or TOTP token) device."
    ),
    scope="global",
    semantics="Fails when root has no MFA or when an assigned virtual MFA device belongs to root.",
)


def judge(
    summary: Mapping[str, int], root_virtual: Iterable[str], resource: str
) -> list[CheckResult]:
    """Pass when root MFA is on and none of root's devices is virtual (`root_virtual`: the
    serials of root's assigned virtual devices)."""
    virtual = list(root_virtual)
    if summary.get("AccountMFAEnabled", 0) != 1:
        ok, detail = False, "The root user has no MFA device."
    elif virtual:
        ok, detail = False, "The root user's MFA device is virtual."
    else:
        ok, detail = True, "The root user's MFA device is a hardware device."
    return [CheckResult(resource, ok, "global", detail)]


def collect_root_virtual(session: Any) -> list[str]:
    """Serial numbers of assigned virtual MFA devices that belong to the root user."""
    devices = paginate(
        session.client("iam"),
        "list_virtual_mfa_devices",
        "VirtualMFADevices",
        AssignmentStatus="Assigned",
    )
    root = root_arn(session)
    return [
        str(d.get("SerialNumber") or "")
        for d in devices
        if str((d.get("User") or {}).get("Arn") or "") == root
        or str(d.get("SerialNumber") or "").endswith(":mfa/root-account-mfa-device")
    ]


def run(session: Any, unit: str) -> list[CheckResult]:
    """Read the summary and virtual devices, and judge them."""
    return judge(account_summary(session), collect_root_virtual(session), root_arn(session))
