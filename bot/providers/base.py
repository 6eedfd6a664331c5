"""The contract every cloud adapter (aws.py, azure.py, gcp.py) fulfils.

An adapter turns raw form/CLI input into typed credentials (with field-specific messages),
validates credentials live, opens an authenticated session for the checks, plans a scan's job
units and classifies any exception into a redacted `CloudError`. The scan engine and the
connector service only ever talk to this interface (see `bot.providers`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from bot.domain import (
    CancelToken,
    CloudEndpoints,
    CloudError,
    Credentials,
    DiscoveredTarget,
    Provider,
    ValidationResult,
)


class CloudAdapter(Protocol):
    """What the engine needs from one provider."""

    provider: Provider

    def parse_credentials(self, raw: Mapping[str, str]) -> Credentials:
        """Check raw input field by field; raise `bot.errors.InputError` with `fields` set."""
        ...

    def validate(self, creds: Credentials, endpoints: CloudEndpoints) -> ValidationResult:
        """Validate live (AWS STS GetCallerIdentity, Azure token + subscriptions, GCP token +
        project read). Never raises for cloud failures: they come back in `error`."""
        ...

    def open_session(
        self, creds: Credentials, endpoints: CloudEndpoints, cancel: CancelToken
    ) -> Any:
        """An authenticated session for the checks; every cloud call checks `cancel` first."""
        ...

    def plan_units(self, session: Any, scope: Sequence[str]) -> list[str]:
        """The scan's job units: the scope if given, otherwise everything reachable."""
        ...

    def classify(self, exc: BaseException, secrets: Sequence[str]) -> CloudError:
        """Map any exception raised by a cloud call to a classified, redacted error."""
        ...


class DiscoveringAdapter(CloudAdapter, Protocol):
    """An adapter that can also list the accounts of its connector's organization (AWS
    Organizations member accounts, Azure subscriptions, GCP projects under a folder or an
    organization); providers without it have no discovery."""

    def discover(
        self, creds: Credentials, endpoints: CloudEndpoints, parent: str | None = None
    ) -> list[DiscoveredTarget]:
        """Every scannable account (under `parent`, e.g. an AWS OU or a GCP folder, when
        given), sorted by id; raises the cloud's exception (classify it) on failure."""
        ...
