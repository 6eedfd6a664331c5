"""A tiny cloud provider defined outside `bot/`: the proof that a provider is one folder plus
one registry row. Its "cloud" is the credentials themselves: the token lists the doors of a
building, and its one check fails every door left open."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain import mask
from bot.providers import FormField, ProviderSpec


@dataclass(frozen=True, repr=False)
class FakeCredentials:
    """An API token of the fake cloud, e.g. ``fk-front:open,back:locked``."""

    token: str

    def secret_values(self) -> list[str]:
        """Every value that must never appear in a log or message."""
        return [self.token]


SPEC = ProviderSpec(
    name="fakecloud",
    display_name="Fake Cloud",
    adapter_module="tests.providers.fakecloud.adapter",
    checks_package="tests.providers.fakecloud.checks",
    credentials_type=FakeCredentials,
    form_fields=(FormField("token", "API token", secret=True, max_length=200),),
    fingerprint=lambda creds: mask(creds.token),
    validation_call="a fake token check",
    credentials_file='{"token"}',
)
