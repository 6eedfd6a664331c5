"""An activity log alert exists for deleting a security solution (CIS Azure 5.2.6)."""

from __future__ import annotations

from bot.domain import CheckMeta, Severity
from bot.providers.azure.checks._alerts import PERMISSIONS as _PERMISSIONS
from bot.providers.azure.checks._alerts import SEMANTICS, make_run

OPERATION = "Microsoft.Security/securitySolutions/delete"

PERMISSIONS = _PERMISSIONS
"""The ARM actions `run` needs."""

META = CheckMeta(
    id="azure.monitor.alert_security_solution_delete",
    provider="azure",
    title="An activity log alert watches deleting a security solution",
    severity=Severity.LOW,
    frameworks={"cis-azure-2.0": ("5.2.6",)},
    remediation=f"Monitor → Alerts → Create → Alert rule on the subscription: signal "
    f"'{OPERATION}' (Activity log), with an action group that notifies your team.",
    semantics=SEMANTICS,
)

run = make_run(OPERATION)
