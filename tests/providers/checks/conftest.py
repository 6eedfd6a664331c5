"""Fixtures for the check tests: a loopback AWS account (moto, auth on) and a least-privilege
scanner key. No test here may reach real AWS or use the machine's own credentials."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

from bot.domain import CancelToken
from bot.playground.aws import MotoStandIn
from bot.providers.aws.adapter import ADAPTER, AwsSession
from bot.providers.aws.checks import REQUIRED_PERMISSIONS
from bot.providers.aws.credentials import AwsCredentials

# moto authorises some calls under its own action names (real AWS: s3:GetBucketPublicAccessBlock,
# s3:GetEncryptionConfiguration, cloudwatch:DescribeAlarms); grant those too so the
# least-privilege user works there.
MOTO_S3_ALIASES = ("s3:GetPublicAccessBlock", "s3:ListBucket", "monitoring:DescribeAlarms")


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


@pytest.fixture(scope="module")
def aws_account() -> Iterator[MotoStandIn]:
    """A wiped stand-in account with auth on; seed it through `aws_account.client(...)`."""
    with pytest.MonkeyPatch.context() as mp:
        _scrub_aws_env(mp)
        standin = MotoStandIn.shared()
        standin.reset()
        standin.enable_auth()
        yield standin
        standin.disable_auth()


@pytest.fixture(scope="module")
def auditor(aws_account: MotoStandIn) -> AwsCredentials:
    """A key allowed exactly the actions the AWS checks declare (plus moto's S3 aliases)."""
    key_id, secret = aws_account.create_user(
        "auditor", policy_actions=[*REQUIRED_PERMISSIONS, *MOTO_S3_ALIASES]
    )
    return AwsCredentials(key_id, secret)


@pytest.fixture
def scan_session(aws_account: MotoStandIn, auditor: AwsCredentials) -> AwsSession:
    """A scan session as the engine opens it, as the least-privilege auditor."""
    endpoints = aws_account.endpoints(max_attempts=1)
    return ADAPTER.open_session(auditor, endpoints, CancelToken())


@pytest.fixture
def new_session(
    aws_account: MotoStandIn, auditor: AwsCredentials
) -> Iterator[Callable[[], AwsSession]]:
    """Fresh scan sessions (each collects anew, as each scan's job does), as the auditor."""

    def make() -> AwsSession:
        return ADAPTER.open_session(auditor, aws_account.endpoints(max_attempts=1), CancelToken())

    yield make
