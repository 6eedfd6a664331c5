"""Fixtures for the cloud adapter tests: a loopback AWS (moto with auth on) behind a fault proxy.

No test here may reach real AWS or use the machine's own credentials.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from bot.domain import AwsCredentials, CloudEndpoints
from bot.playground.aws import FaultProxy, MotoStandIn

EXTERNAL_ID = "cspm-test-external-id"


def _scrub_aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture(autouse=True)
def _no_ambient_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ambient AWS credentials, config files or instance metadata."""
    _scrub_aws_env(monkeypatch)


@dataclass
class AwsWorld:
    """The stand-in account as the adapter tests see it."""

    standin: MotoStandIn
    proxy: FaultProxy
    admin: AwsCredentials
    nobody: AwsCredentials  # a valid key with no permissions at all
    role_arn: str  # assumable by `admin` with EXTERNAL_ID

    def endpoints(self, **overrides: Any) -> CloudEndpoints:
        """Endpoints through the fault proxy (max_attempts=3, timeout 5 s unless overridden)."""
        return self.standin.endpoints(url=self.proxy.url, **overrides)


@pytest.fixture(scope="module")
def aws_world() -> Iterator[AwsWorld]:
    """A fresh stand-in account with auth on: an admin key, a key without permissions, a role."""
    with pytest.MonkeyPatch.context() as mp:
        _scrub_aws_env(mp)
        standin = MotoStandIn.shared()
        standin.reset()
        admin = standin.create_user("scanner", admin=True)
        nobody = standin.create_user("nobody")
        role_arn = standin.create_role(
            "CspmScanRole", trusted=[standin.user_arn("scanner")], external_id=EXTERNAL_ID
        )
        standin.enable_auth()
        with FaultProxy(standin.url) as proxy:
            yield AwsWorld(
                standin=standin,
                proxy=proxy,
                admin=AwsCredentials(*admin),
                nobody=AwsCredentials(*nobody),
                role_arn=role_arn,
            )
        standin.disable_auth()


@pytest.fixture
def world(aws_world: AwsWorld) -> Iterator[AwsWorld]:
    """The module's world with the proxy's rules and counters cleared for each test."""
    aws_world.proxy.clear()
    yield aws_world
    aws_world.proxy.clear()
