"""The fake cloud's checks, discovered like the built-in providers' checks."""

from __future__ import annotations

from bot.providers.checks import Check, discover, required_permissions

CHECKS: list[Check] = discover(__name__)
REQUIRED_PERMISSIONS = required_permissions(CHECKS, ("fake:Login",))
