"""Microsoft Defender for Key Vault is on (CIS Azure 2.1.10)."""

from __future__ import annotations

from bot.domain import CheckMeta, Severity
from bot.providers.azure.checks._defender import PERMISSIONS as _PERMISSIONS
from bot.providers.azure.checks._defender import SEMANTICS, make_run

PLAN = "KeyVaults"

PERMISSIONS = _PERMISSIONS
"""The ARM actions `run` needs."""

META = CheckMeta(
    id="azure.defender.key_vault",
    provider="azure",
    title="Microsoft Defender for Key Vault is on",
    severity=Severity.MEDIUM,
    frameworks={"cis-azure-2.0": ("2.1.10",)},
    remediation="Defender for Cloud → Environment settings → the subscription → Defender "
    "plans: Key Vault = On.",
    semantics=SEMANTICS,
)

run = make_run(PLAN)
