"""Adapters by provider, imported on first use so the CLI starts without the cloud SDKs."""

from __future__ import annotations

import importlib

from bot.clouds.base import CloudAdapter
from bot.domain import Provider
from bot.errors import InputError

_MODULES = {
    Provider.AWS: "bot.clouds.aws",
    Provider.AZURE: "bot.clouds.azure",
    Provider.GCP: "bot.clouds.gcp",
}


def parse_provider(value: str) -> Provider:
    """`aws|azure|gcp` (any case) to a Provider, with a clear message otherwise."""
    try:
        return Provider(value.strip().lower())
    except ValueError:
        raise InputError(
            f"Unknown provider {value!r}: choose aws, azure or gcp.",
            {"provider": "Choose a provider."},
        ) from None


def get_adapter(provider: Provider | str) -> CloudAdapter:
    """The adapter for a provider."""
    module = importlib.import_module(_MODULES[Provider(provider)])
    adapter: CloudAdapter = module.ADAPTER
    return adapter
