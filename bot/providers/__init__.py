"""Cloud providers: one self-contained folder each, plus one `ProviderSpec` registry row.

    bot/providers/<name>/__init__.py     SPEC: the registry row
    bot/providers/<name>/adapter.py      credentials parsing, live validation, session,
                                         unit planning, error classification (ADAPTER)
    bot/providers/<name>/credentials.py  the typed credentials, fingerprint, form fields
    bot/providers/<name>/checks/         one module per check, discovered automatically

The built-in providers are registered below; `register` adds another.
"""

from __future__ import annotations

from bot.providers.aws import SPEC as AWS
from bot.providers.azure import SPEC as AZURE
from bot.providers.base import CloudAdapter
from bot.providers.gcp import SPEC as GCP
from bot.providers.registry import (
    check_by_id,
    checks_for,
    checks_for_unit,
    choices_text,
    endpoints,
    get,
    names,
    parse,
    register,
    spec_of,
    specs,
    to_secret_dict,
    unregister,
)
from bot.providers.spec import EndpointSetting, FormField, ProviderSpec

for _spec in (AWS, AZURE, GCP):
    register(_spec)


def get_adapter(provider: str) -> CloudAdapter:
    """The adapter of a registered provider (imported on first use)."""
    return get(provider).adapter()


__all__ = [
    "CloudAdapter",
    "EndpointSetting",
    "FormField",
    "ProviderSpec",
    "check_by_id",
    "checks_for",
    "checks_for_unit",
    "choices_text",
    "endpoints",
    "get",
    "get_adapter",
    "names",
    "parse",
    "register",
    "spec_of",
    "specs",
    "to_secret_dict",
    "unregister",
]
