"""Microsoft Defender for Azure SQL Databases is on (CIS Azure 2.1.4)."""

from __future__ import annotations

from bot.domain import CheckMeta, Severity
from bot.providers.azure.checks._defender import PERMISSIONS as _PERMISSIONS
from bot.providers.azure.checks._defender import SEMANTICS, make_run

PLAN = "SqlServers"

PERMISSIONS = _PERMISSIONS
"""The ARM actions `run` needs."""

META = CheckMeta(
    id="azure.defender.sql_databases",
    provider="azure",
    title="Microsoft Defender for Azure SQL Databases is on",
    severity=Severity.MEDIUM,
    frameworks={"cis-azure-2.0": ("2.1.4",)},
    remediation="Defender for Cloud → Environment settings → the subscription → Defender "
    "plans: Azure SQL Databases = On.",
    semantics=SEMANTICS,
)

run = make_run(PLAN)
