"""Azure credentials: the typed value, its fingerprint and the connector form's fields."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain import mask
from bot.providers.spec import FormField

_UUID = "00000000-0000-0000-0000-000000000000"


@dataclass(frozen=True, repr=False)
class AzureCredentials:
    """An Azure service principal with a client secret."""

    tenant_id: str
    client_id: str
    client_secret: str

    def secret_values(self) -> list[str]:
        """Every value that must never appear in a log or message."""
        return [self.client_secret]

    def __repr__(self) -> str:
        return f"AzureCredentials(tenant_id={self.tenant_id!r}, client_id={self.client_id!r})"


def fingerprint(creds: AzureCredentials) -> str:
    """The masked application (client) id, e.g. ``app 1234…cdef``."""
    return f"app {mask(creds.client_id)}"


FORM_FIELDS = (
    FormField("tenant_id", "Tenant ID", placeholder=_UUID, max_length=100),
    FormField("client_id", "Client (application) ID", placeholder=_UUID, max_length=100),
    FormField("client_secret", "Client secret", secret=True, max_length=300),
)
"""The connector form's inputs, in order (their names are `AzureCredentials` fields)."""
