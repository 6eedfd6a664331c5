"""The provider registry: one `ProviderSpec` row per cloud, looked up by name.

The built-in providers (aws, azure, gcp) register themselves when `bot.providers` is
imported; another provider registers its own row with `register`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, is_dataclass
from typing import Any

from bot.domain import CloudEndpoints
from bot.errors import InputError
from bot.providers.checks import Check
from bot.providers.spec import ProviderSpec

_SPECS: dict[str, ProviderSpec] = {}


def register(spec: ProviderSpec) -> ProviderSpec:
    """Add (or replace) a provider; returns the spec so it can be used as a module constant."""
    _SPECS[spec.name] = spec
    return spec


def unregister(name: str) -> None:
    """Remove a provider (for plug-ins that are unloaded, and tests)."""
    _SPECS.pop(name, None)


def names() -> tuple[str, ...]:
    """The registered provider names, in registration order."""
    return tuple(_SPECS)


def specs() -> tuple[ProviderSpec, ...]:
    """Every registered provider."""
    return tuple(_SPECS.values())


def choices_text() -> str:
    """``aws, azure or gcp``: the registered names for messages."""
    listed = list(_SPECS)
    return listed[0] if len(listed) == 1 else ", ".join(listed[:-1]) + " or " + listed[-1]


def get(name: str) -> ProviderSpec:
    """The spec of a registered provider (KeyError names the known ones)."""
    try:
        return _SPECS[str(name)]
    except KeyError:
        raise KeyError(f"unknown provider {name!r}; registered: {choices_text()}") from None


def parse(value: str) -> str:
    """A provider name typed by a user (any case) to a registered name, or a clear InputError."""
    name = str(value).strip().lower()
    if name in _SPECS:
        return name
    raise InputError(
        f"Unknown provider {value!r}: choose {choices_text()}.",
        {"provider": "Choose a provider."},
    )


def spec_of(creds: Any) -> ProviderSpec:
    """The provider that typed credentials belong to."""
    for spec in _SPECS.values():
        if isinstance(creds, spec.credentials_type):
            return spec
    raise TypeError(f"no registered provider takes {type(creds).__name__}")


def to_secret_dict(creds: Any) -> dict[str, Any]:
    """The plain dict that is encrypted at rest."""
    if not is_dataclass(creds) or isinstance(creds, type):
        raise TypeError("credentials must be a dataclass instance")
    return asdict(creds)


def checks_for(provider: str, only: Sequence[str] = ()) -> list[Check]:
    """The provider's checks, restricted to the ids in `only` when given."""
    checks = get(provider).checks()
    if only:
        wanted = set(only)
        checks = [c for c in checks if c.meta.id in wanted]
    return checks


def checks_for_unit(checks: Sequence[Check], provider: str, unit: str) -> list[Check]:
    """The checks one job unit runs (e.g. AWS splits global and regional checks)."""
    return get(provider).unit_checks(checks, unit)


def check_by_id(provider: str, check_id: str) -> Check | None:
    """One check's definition, for titles and remediation in reports."""
    for check in get(provider).checks():
        if check.meta.id == check_id:
            return check
    return None


def endpoints(
    overrides: Mapping[str, str | None] | None = None,
    *,
    ca_bundle: str | None = None,
    timeout_seconds: float = 20.0,
    max_attempts: int = 3,
    concurrency: int = 8,
) -> CloudEndpoints:
    """`CloudEndpoints` with every registered provider's endpoint defaults, then `overrides`
    (by setting name, e.g. ``{"azure_arm_url": "https://127.0.0.1:8443"}``) on top."""
    urls: dict[str, str | None] = {}
    for spec in _SPECS.values():
        for setting in spec.endpoints:
            urls[setting.name] = setting.default
    for name, value in (overrides or {}).items():
        urls[name] = value.rstrip("/") if isinstance(value, str) and value else None
    return CloudEndpoints(
        urls=urls,
        ca_bundle=ca_bundle,
        timeout_seconds=timeout_seconds,
        max_attempts=max_attempts,
        concurrency=max(1, concurrency),
    )
