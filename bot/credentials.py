"""Credentials to and from the plain dict that is encrypted at rest, and their fingerprints."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from bot.domain import (
    AwsCredentials,
    AzureCredentials,
    Credentials,
    GcpCredentials,
    Provider,
    mask,
)


def provider_of(creds: Credentials) -> Provider:
    """Which cloud these credentials are for."""
    if isinstance(creds, AwsCredentials):
        return Provider.AWS
    if isinstance(creds, AzureCredentials):
        return Provider.AZURE
    return Provider.GCP


def to_secret_dict(creds: Credentials) -> dict[str, Any]:
    """The dict that `SecretBox.encrypt` stores."""
    return asdict(creds)


def from_secret_dict(provider: Provider | str, data: dict[str, Any]) -> Credentials:
    """Rebuild typed credentials from a decrypted dict."""
    match Provider(provider):
        case Provider.AWS:
            return AwsCredentials(**data)
        case Provider.AZURE:
            return AzureCredentials(**data)
        case Provider.GCP:
            return GcpCredentials(**data)


def fingerprint(creds: Credentials) -> str:
    """A masked, non-secret way to recognise credentials, e.g. ``AKIA…WXYZ``."""
    if isinstance(creds, AwsCredentials):
        return mask(creds.access_key_id)
    if isinstance(creds, AzureCredentials):
        return f"app {mask(creds.client_id)}"
    key_id = str(creds.info.get("private_key_id", ""))
    return f"{creds.client_email} key {mask(key_id)}" if key_id else creds.client_email
