"""An activity log alert exists for creating or updating a network security group (CIS Azure
5.2.3)."""

from __future__ import annotations

from bot.domain import CheckMeta, Severity
from bot.providers.azure.checks._alerts import PERMISSIONS as _PERMISSIONS
from bot.providers.azure.checks._alerts import SEMANTICS, make_run

OPERATION = "Microsoft.Network/networkSecurityGroups/write"

PERMISSIONS = _PERMISSIONS
"""The ARM actions `run` needs."""

META = CheckMeta(
    id="azure.monitor.alert_nsg_write",
    provider="azure",
    title="An activity log alert watches creating or updating a network security group",
    severity=Severity.LOW,
    frameworks={"cis-azure-2.0": ("5.2.3",)},
    remediation=f"Monitor → Alerts → Create → Alert rule on the subscription: signal "
    f"'{OPERATION}' (Activity log), with an action group that notifies your team.",
    semantics=SEMANTICS,
)

run = make_run(OPERATION)
