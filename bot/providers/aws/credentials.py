"""AWS credentials: the typed value, its fingerprint and the connector form's fields."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain import mask
from bot.providers.spec import FormField

ACCESS_KEY = "access_key"
MACHINE = "machine"
IDENTITIES = (ACCESS_KEY, MACHINE)
"""How a connector authenticates: its own access key, or, only when a connector says so
explicitly, the identity of the machine the bot runs on (instance role, IRSA, environment:
boto3's default credential chain)."""

DEFAULT_MEMBER_ROLE = "OrganizationAccountAccessRole"
"""The role discovery assumes in each member account when the connector names none (AWS
Organizations creates it in every account it creates)."""


@dataclass(frozen=True, repr=False)
class AwsCredentials:
    """An AWS access key (or the machine's own identity), optionally assuming a role.

    `member_role_name` and `member_external_id` are what discovery gives each member account
    of the organization (the role ARN is made from the account id). `session_name` is set at
    scan time (``cspm-bot-scan-<scan id>``), never stored."""

    access_key_id: str = ""
    secret_access_key: str = ""
    role_arn: str | None = None
    external_id: str | None = None
    identity: str = ACCESS_KEY
    member_role_name: str | None = None
    member_external_id: str | None = None
    session_name: str | None = None

    @property
    def uses_machine_identity(self) -> bool:
        """True only for a connector created explicitly with the machine's identity."""
        return self.identity == MACHINE

    def secret_values(self) -> list[str]:
        """Every value that must never appear in a log or message."""
        return [self.secret_access_key] if self.secret_access_key else []

    def __repr__(self) -> str:  # never leak the secret through repr()
        if self.uses_machine_identity:
            return "AwsCredentials(identity='machine')"
        return f"AwsCredentials(access_key_id={mask(self.access_key_id)!r})"


def fingerprint(creds: AwsCredentials) -> str:
    """The masked access key id, e.g. ``AKIA…WXYZ``, or ``machine identity``."""
    if creds.uses_machine_identity:
        return "machine identity"
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
    FormField(
        "member_role_name",
        "Member account role (discovery)",
        placeholder=DEFAULT_MEMBER_ROLE,
        hint="The role discovery assumes in each account of the organization.",
        optional=True,
        max_length=64,
    ),
    FormField(
        "member_external_id",
        "Member role external ID",
        hint="Only if the member roles' trust policy requires one.",
        optional=True,
        max_length=1224,
    ),
)
"""The connector form's inputs, in order (their names are `AwsCredentials` fields)."""
