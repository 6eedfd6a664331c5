"""`ProviderSpec`: everything the rest of the bot needs to know about one cloud provider.

A provider is one folder under `bot/providers/` plus one `ProviderSpec` row registered with
`bot.providers.registry.register`. The adapter and the checks are imported on first use, so
the command line starts without loading every cloud SDK.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.providers.base import CloudAdapter
    from bot.providers.checks import Check


@dataclass(frozen=True)
class FormField:
    """One credential input of the connector form (Slack modal) and of a credentials file."""

    name: str  # the key in the raw dict given to `CloudAdapter.parse_credentials`
    label: str
    placeholder: str = ""
    hint: str = ""
    secret: bool = False  # never given an initial value, never echoed
    optional: bool = False
    multiline: bool = False
    max_length: int = 3000


@dataclass(frozen=True)
class EndpointSetting:
    """A cloud endpoint the provider calls, configurable for sovereign clouds and proxies."""

    name: str  # key in `CloudEndpoints.urls`, e.g. "azure_arm_url"
    env: str  # the environment variable that overrides the default
    default: str | None
    description: str = ""


def all_checks(checks: Sequence[Check], unit: str) -> list[Check]:
    """The default unit split: every job unit runs every check."""
    return list(checks)


@dataclass(frozen=True)
class ProviderSpec:
    """One registry row: a cloud provider and where its parts live."""

    name: str  # "aws": stored in the database, typed in commands
    display_name: str  # "AWS": how the provider is named in text
    adapter_module: str  # a module defining ADAPTER (a `CloudAdapter`)
    checks_package: str  # a package defining CHECKS, REQUIRED_PERMISSIONS
    credentials_type: type
    form_fields: tuple[FormField, ...]
    fingerprint: Callable[[Any], str]
    validation_call: str  # what live validation does, in words
    credentials_file: str  # the shape of a credentials file, for the CLI's help
    endpoints: tuple[EndpointSetting, ...] = ()
    unit_checks: Callable[[Sequence[Check], str], list[Check]] = all_checks
    raw_credentials: Callable[[str], dict[str, str]] | None = None
    """Turns a credentials file's text into the raw form dict (default: a JSON object)."""
    check_scope: Callable[[Sequence[str]], None] | None = None
    """Raises `InputError` for scope units the provider cannot have (e.g. a bad region name)."""
    discovery: str = ""
    """What account discovery lists, in words (e.g. "AWS Organizations member accounts");
    empty: the provider has none. The adapter then has `discover` (`DiscoveringAdapter`)."""
    scan_credentials: Callable[[Any, int, Mapping[str, str] | None], Any] | None = None
    """The credentials one scan's sessions use, from the connector's, the scan id and the
    project's target account (None: the connector's own): e.g. AWS assumes the target's role
    and names the role session after the scan. None: the connector's credentials as they are."""

    def credentials_for_scan(
        self, creds: Any, scan_id: int, target: Mapping[str, str] | None = None
    ) -> Any:
        """`scan_credentials` applied, or `creds` unchanged when the provider has none."""
        if self.scan_credentials is None:
            return creds
        return self.scan_credentials(creds, scan_id, target)

    def adapter(self) -> CloudAdapter:
        """The provider's adapter (imported on first use)."""
        adapter: CloudAdapter = importlib.import_module(self.adapter_module).ADAPTER
        return adapter

    def checks(self) -> list[Check]:
        """Every check of the provider, sorted by id."""
        return list(importlib.import_module(self.checks_package).CHECKS)

    def required_permissions(self) -> tuple[str, ...]:
        """Every read permission a full scan needs."""
        return tuple(importlib.import_module(self.checks_package).REQUIRED_PERMISSIONS)

    def credentials_from_secret(self, data: Mapping[str, Any]) -> Any:
        """Rebuild typed credentials from the decrypted dict stored at rest."""
        known = {f.name for f in fields(self.credentials_type)}
        return self.credentials_type(**{k: v for k, v in data.items() if k in known})
