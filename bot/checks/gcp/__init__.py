"""The GCP checks: one module each, metadata beside the code."""

from __future__ import annotations

from bot.checks.base import Check
from bot.checks.gcp import (
    bucket_public,
    bucket_uniform_access,
    default_network,
    firewall_admin_ports,
    service_account_key_age,
)

CHECKS: list[Check] = [
    Check(module.META, module.run)
    for module in (
        firewall_admin_ports,
        default_network,
        bucket_uniform_access,
        bucket_public,
        service_account_key_age,
    )
]
