"""An activity log alert exists for creating a policy assignment (CIS Azure 5.2.1)."""

from __future__ import annotations

from bot.domain import CheckMeta, Severity
from bot.providers.azure.checks._alerts import PERMISSIONS as _PERMISSIONS
from bot.providers.azure.checks._alerts import SEMANTICS, make_run

OPERATION = "Microsoft.Authorization/policyAssignments/write"

PERMISSIONS = _PERMISSIONS
"""The ARM actions `run` needs."""

META = CheckMeta(
    id="azure.monitor.alert_policy_assignment_write",
    provider="azure",
    title="An activity log alert watches creating a policy assignment",
    severity=Severity.LOW,
    frameworks={"cis-azure-2.0": ("5.2.1",)},
    remediation=f"Monitor → Alerts → Create → Alert rule on the subscription: signal "
    f"'{OPERATION}' (Activity log), with an action group that notifies your team.",
    semantics=SEMANTICS,
)

run = make_run(OPERATION)
