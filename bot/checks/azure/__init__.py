"""The Azure checks: one module each, metadata beside the code."""

from __future__ import annotations

from bot.checks.azure import (
    keyvault_recoverable,
    nsg_admin_ports,
    sql_auditing,
    storage_min_tls,
    storage_public_blob,
    storage_secure_transfer,
)
from bot.checks.base import Check

CHECKS: list[Check] = [
    Check(module.META, module.run)
    for module in (
        storage_secure_transfer,
        storage_public_blob,
        storage_min_tls,
        nsg_admin_ports,
        keyvault_recoverable,
        sql_auditing,
    )
]
