"""Google Cloud credentials: the typed value, its fingerprint and the connector form's fields."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.domain import mask
from bot.providers.spec import FormField


@dataclass(frozen=True, repr=False)
class GcpCredentials:
    """A Google service-account key (the parsed JSON key file)."""

    info: dict[str, Any]

    def secret_values(self) -> list[str]:
        """Every value that must never appear in a log or message."""
        values = [str(self.info.get("private_key", "")), str(self.info.get("private_key_id", ""))]
        return [v for v in values if v]

    @property
    def client_email(self) -> str:
        """The service account's e-mail address."""
        return str(self.info.get("client_email", ""))

    @property
    def project_id(self) -> str:
        """The project the key was created in."""
        return str(self.info.get("project_id", ""))

    def __repr__(self) -> str:
        return f"GcpCredentials(client_email={self.client_email!r})"


def fingerprint(creds: GcpCredentials) -> str:
    """The service account and its masked key id."""
    key_id = str(creds.info.get("private_key_id", ""))
    return f"{creds.client_email} key {mask(key_id)}" if key_id else creds.client_email


FORM_FIELDS = (
    FormField(
        "service_account_json",
        "Service account key (JSON)",
        placeholder='{"type": "service_account", "project_id": …}',
        hint="Paste the whole key file.",
        secret=True,
        multiline=True,
        max_length=3000,
    ),
)
"""The connector form's one input: the whole key file."""
