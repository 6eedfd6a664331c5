"""Microsoft Defender for App Service is on (CIS Azure 2.1.2)."""

from __future__ import annotations

from bot.domain import CheckMeta, Severity
from bot.providers.azure.checks._defender import PERMISSIONS as _PERMISSIONS
from bot.providers.azure.checks._defender import SEMANTICS, make_run

PLAN = "AppServices"

PERMISSIONS = _PERMISSIONS
"""The ARM actions `run` needs."""

META = CheckMeta(
    id="azure.defender.app_service",
    provider="azure",
    title="Microsoft Defender for App Service is on",
    severity=Severity.MEDIUM,
    frameworks={"cis-azure-2.0": ("2.1.2",)},
    remediation="Defender for Cloud → Environment settings → the subscription → Defender "
    "plans: App Service = On.",
    semantics=SEMANTICS,
)

run = make_run(PLAN)
