"""AWS credentials: the typed value, its fingerprint and the connector form's fields."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain import mask
from bot.providers.spec import FormField


@dataclass(frozen=True, repr=False)
class AwsCredentials:
    """An AWS access key, optionally assuming a role."""

    access_key_id: str
    secret_access_key: str
    role_arn: str | None = None
    external_id: str | None = None

    def secret_values(self) -> list[str]:
        """Every value that must never appear in a log or message."""
        return [self.secret_access_key]

    def __repr__(self) -> str:  # never leak the secret through repr()
        return f"AwsCredentials(access_key_id={mask(self.access_key_id)!r})"


def fingerprint(creds: AwsCredentials) -> str:
    """The masked access key id, e.g. ``AKIA…WXYZ``."""
    return mask(creds.access_key_id)


FORM_FIELDS = (
    FormField("access_key_id", "Access key ID", placeholder="AKIA…", max_length=128),
    FormField("secret_access_key", "Secret access key", secret=True, max_length=128),
    FormField(
        "role_arn",
        "Role ARN to assume",
        placeholder="arn:aws:iam::123456789012:role/cspm-audit",
        optional=True,
        max_length=2048,
    ),
    FormField(
        "external_id",
        "External ID",
        hint="Only if the role's trust policy requires one.",
        optional=True,
        max_length=1224,
    ),
)
"""The connector form's inputs, in order (their names are `AwsCredentials` fields)."""
