"""The fake cloud's adapter: parses, validates and "scans" without any network."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.domain import (
    CancelToken,
    CloudEndpoints,
    CloudError,
    ErrorCategory,
    ValidationResult,
)
from bot.errors import InputError
from tests.providers.fakecloud import FakeCredentials


class FakeSession:
    """The doors the token describes, by building (the job unit)."""

    def __init__(self, creds: FakeCredentials, cancel: CancelToken) -> None:
        self.cancel = cancel
        pairs = creds.token.removeprefix("fk-").split(",")
        self.doors = dict(pair.split(":", 1) for pair in pairs)


class FakeAdapter:
    """Everything the engine and the connector service need from a provider."""

    provider = "fakecloud"

    def parse_credentials(self, raw: Mapping[str, str]) -> FakeCredentials:
        token = str(raw.get("token") or "").strip()
        if not token.startswith("fk-") or ":" not in token:
            raise InputError("The token must look like fk-door:state.", {"token": "Bad token."})
        return FakeCredentials(token)

    def validate(self, creds: Any, endpoints: CloudEndpoints) -> ValidationResult:
        return ValidationResult(ok=True, account_id="fake-account", account_label="fake")

    def open_session(self, creds: Any, endpoints: CloudEndpoints, cancel: CancelToken) -> Any:
        return FakeSession(creds, cancel)

    def plan_units(self, session: Any, scope: Sequence[str]) -> list[str]:
        return list(scope) or ["hq"]

    def classify(self, exc: BaseException, secrets: Sequence[str]) -> CloudError:
        return CloudError(ErrorCategory.UNKNOWN, type(exc).__name__, "fake failure", "Retry.")


ADAPTER = FakeAdapter()
