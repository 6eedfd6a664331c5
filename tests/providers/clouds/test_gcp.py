"""The GCP adapter against a real loopback token endpoint + Google APIs (bot/playground/gcp.py)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, fields
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from google.auth import exceptions as gauth_exceptions
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain import (
    CancelToken,
    CloudError,
    ErrorCategory,
    ScanCancelled,
)
from bot.errors import InputError
from bot.playground.gcp import GcpStandIn
from bot.providers import get_adapter
from bot.providers.base import CloudAdapter
from bot.providers.gcp.adapter import ADAPTER, GcpApiError, GcpSession, iam_base_for
from bot.providers.gcp.checks import firewall_admin_ports, service_account_key_age
from bot.providers.gcp.credentials import GcpCredentials

PROJECT = "cspm-test-project"
INVALID_REMEDIATION = (
    "Replace the connector with new credentials (saved credentials cannot be edited)."
)


@dataclass
class GcpAccount:
    """A service account registered in the stand-in, with its key file."""

    standin: GcpStandIn
    info: dict[str, Any]

    @property
    def email(self) -> str:
        return str(self.info["client_email"])

    def creds(self, **overrides: Any) -> GcpCredentials:
        return ADAPTER.parse_credentials(
            {"service_account_json": json.dumps({**self.info, **overrides})}
        )

    def secrets(self) -> list[str]:
        return [self.info["private_key"], self.info["private_key_id"]]


@pytest.fixture
def google() -> Iterator[GcpStandIn]:
    """A fresh token endpoint + Google APIs stand-in."""
    with GcpStandIn() as standin:
        yield standin


@pytest.fixture
def account(google: GcpStandIn) -> GcpAccount:
    """A service account in PROJECT."""
    return GcpAccount(google, google.add_service_account(PROJECT))


def assert_no_key(error: CloudError | None, *secrets: str) -> None:
    """No field of the error carries the private key (or any line of it)."""
    assert error is not None
    for f in fields(error):
        value = str(getattr(error, f.name))
        for secret in secrets:
            assert secret not in value
            for line in secret.splitlines():
                if len(line) >= 16 and not line.startswith("-----"):
                    assert line not in value
        assert "PRIVATE KEY" not in value


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_registry_returns_the_adapter() -> None:
    adapter: CloudAdapter = get_adapter("gcp")
    assert adapter is ADAPTER
    assert adapter.provider == "gcp"


# --------------------------------------------------------------------------------------------
# validate
# --------------------------------------------------------------------------------------------


def test_valid_key(account: GcpAccount) -> None:
    result = ADAPTER.validate(account.creds(), account.standin.endpoints())
    assert result.ok, result.error
    assert result.account_id == PROJECT
    assert result.account_label == account.email
    assert result.scopes == (PROJECT,)
    assert [c.path for c in account.standin.calls] == ["/token", f"/v1/projects/{PROJECT}"]


def test_the_key_files_own_token_uri_is_ignored(account: GcpAccount) -> None:
    with GcpStandIn() as elsewhere:
        creds = account.creds(token_uri=elsewhere.token_uri)
        assert "token_uri" not in creds.info
        result = ADAPTER.validate(creds, account.standin.endpoints())
        assert result.ok
        assert elsewhere.calls == []
    assert account.standin.count("/token", method="POST") == 1


def test_revoked_key_is_invalid_credentials(account: GcpAccount) -> None:
    account.standin.revoke(account.email)
    error = ADAPTER.validate(account.creds(), account.standin.endpoints()).error
    assert error is not None
    assert error.category is ErrorCategory.INVALID_CREDENTIALS
    assert error.code == "invalid_grant"
    assert "deleted or disabled" in error.message
    assert error.remediation == INVALID_REMEDIATION
    assert_no_key(error, *account.secrets())


def test_deleted_account_is_invalid_credentials(account: GcpAccount) -> None:
    account.standin.delete_service_account(account.email)
    error = ADAPTER.validate(account.creds(), account.standin.endpoints()).error
    assert error is not None
    assert error.category is ErrorCategory.INVALID_CREDENTIALS
    assert "no longer exists" in error.message


def test_api_503_is_temporary_within_the_retry_budget(account: GcpAccount) -> None:
    google = account.standin
    google.fail(503, path_prefix="/v1/")
    error = ADAPTER.validate(account.creds(), google.endpoints(max_attempts=2)).error
    assert error is not None
    assert error.category is ErrorCategory.TEMPORARY
    assert "503" in error.message
    assert google.count("/v1/") == 2


def test_token_endpoint_503_is_temporary(account: GcpAccount) -> None:
    """google-auth retries the token endpoint itself (3 attempts, ~3 s of backoff)."""
    google = account.standin
    google.fail(503, path_prefix="/token")
    error = ADAPTER.validate(account.creds(), google.endpoints()).error
    assert error is not None
    assert error.category is ErrorCategory.TEMPORARY
    assert google.count("/token") == 3
    assert google.count("/v1/") == 0


def test_connection_refused_is_temporary(account: GcpAccount) -> None:
    endpoints = account.standin.endpoints(
        gcp_token_uri=f"http://127.0.0.1:{closed_port()}/token", max_attempts=2
    )
    error = ADAPTER.validate(account.creds(), endpoints).error
    assert error is not None
    assert error.category is ErrorCategory.TEMPORARY
    assert error.code == "ConnectionError"


def test_api_timeout_is_temporary(account: GcpAccount) -> None:
    google = account.standin
    google.hang(3, path_prefix="/v1/")
    started = time.monotonic()
    error = ADAPTER.validate(
        account.creds(), google.endpoints(timeout_seconds=0.3, max_attempts=2)
    ).error
    assert time.monotonic() - started < 2.5
    assert error is not None
    assert error.category is ErrorCategory.TEMPORARY
    assert error.code == "Timeout"
    assert google.count("/v1/") == 2


def test_project_read_denied_is_permission_denied(account: GcpAccount) -> None:
    account.standin.deny("resourcemanager.projects.get")
    error = ADAPTER.validate(account.creds(), account.standin.endpoints()).error
    assert error is not None
    assert error.category is ErrorCategory.PERMISSION_DENIED
    assert "resourcemanager.projects.get" in error.message


# --------------------------------------------------------------------------------------------
# sessions
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("permission", "module"),
    [
        ("compute.firewalls.list", firewall_admin_ports),
        ("iam.serviceAccountKeys.list", service_account_key_age),
        ("iam.serviceAccounts.list", service_account_key_age),
    ],
)
def test_permission_denied_on_a_check_names_the_permission(
    account: GcpAccount, permission: str, module: Any
) -> None:
    account.standin.deny(permission)
    session = ADAPTER.open_session(account.creds(), account.standin.endpoints(), CancelToken())
    with pytest.raises(GcpApiError) as caught:
        module.run(session, PROJECT)
    error = ADAPTER.classify(caught.value, account.secrets())
    assert error.category is ErrorCategory.PERMISSION_DENIED
    assert permission in error.message
    assert permission in error.remediation


def test_disabled_api_is_permission_denied(account: GcpAccount) -> None:
    account.standin.disable_api("compute.googleapis.com")
    session = ADAPTER.open_session(account.creds(), account.standin.endpoints(), CancelToken())
    with pytest.raises(GcpApiError) as caught:
        firewall_admin_ports.run(session, PROJECT)
    error = ADAPTER.classify(caught.value, [])
    assert error.category is ErrorCategory.PERMISSION_DENIED
    assert error.code == "SERVICE_DISABLED"
    assert "Enable" in error.remediation


def test_key_revoked_mid_scan_is_invalid_credentials(account: GcpAccount) -> None:
    google = account.standin
    session = ADAPTER.open_session(account.creds(), google.endpoints(), CancelToken())
    assert firewall_admin_ports.run(session, PROJECT) == []
    google.revoke(account.email)  # its tokens die too: 401, refresh, invalid_grant
    with pytest.raises(gauth_exceptions.RefreshError) as caught:
        firewall_admin_ports.run(session, PROJECT)
    error = ADAPTER.classify(caught.value, account.secrets())
    assert error.category is ErrorCategory.INVALID_CREDENTIALS


def test_cancelled_token_stops_before_any_call(account: GcpAccount) -> None:
    cancel = CancelToken()
    session = ADAPTER.open_session(account.creds(), account.standin.endpoints(), cancel)
    cancel.cancel()
    with pytest.raises(ScanCancelled):
        firewall_admin_ports.run(session, PROJECT)
    with pytest.raises(ScanCancelled):
        session.refresh()
    assert account.standin.calls == []


def test_plan_units(account: GcpAccount) -> None:
    session = ADAPTER.open_session(account.creds(), account.standin.endpoints(), CancelToken())
    assert isinstance(session, GcpSession)
    assert ADAPTER.plan_units(session, []) == [PROJECT]
    assert ADAPTER.plan_units(session, ["p-one", "p-one", "p-two"]) == ["p-one", "p-two"]
    assert account.standin.calls == []


def test_pagination_follows_next_page_token(account: GcpAccount) -> None:
    google = account.standin
    google.page_size = 2
    google.seed(PROJECT, "networks", [{"name": f"net-{i}"} for i in range(5)])
    session = ADAPTER.open_session(account.creds(), google.endpoints(), CancelToken())
    url = f"{session.compute_base}/compute/v1/projects/{PROJECT}/global/networks"
    assert [n["name"] for n in session.get_all(url)] == [f"net-{i}" for i in range(5)]
    assert google.count("/compute/") == 3


def test_iam_base_is_derived_from_the_api_base() -> None:
    assert iam_base_for("https://cloudresourcemanager.googleapis.com") == (
        "https://iam.googleapis.com"
    )
    assert iam_base_for("http://127.0.0.1:8080/") == "http://127.0.0.1:8080"


# --------------------------------------------------------------------------------------------
# classify
# --------------------------------------------------------------------------------------------


def test_classify_statuses_and_transport_errors() -> None:
    def category(exc: BaseException) -> ErrorCategory:
        return ADAPTER.classify(exc, []).category

    assert category(GcpApiError(401, "UNAUTHENTICATED", "no")) is ErrorCategory.INVALID_CREDENTIALS
    assert category(GcpApiError(403, "PERMISSION_DENIED", "no")) is ErrorCategory.PERMISSION_DENIED
    assert category(GcpApiError(429, "RESOURCE_EXHAUSTED", "slow")) is ErrorCategory.TEMPORARY
    assert category(GcpApiError(500, "INTERNAL", "oops")) is ErrorCategory.TEMPORARY
    assert category(GcpApiError(404, "NOT_FOUND", "gone")) is ErrorCategory.UNKNOWN
    assert category(gauth_exceptions.TransportError("reset")) is ErrorCategory.TEMPORARY
    assert category(gauth_exceptions.RefreshError("server_error", retryable=True)) is (
        ErrorCategory.TEMPORARY
    )
    assert category(
        gauth_exceptions.RefreshError("invalid_client: x", {"error": "invalid_client"})
    ) is (ErrorCategory.INVALID_CREDENTIALS)
    assert category(gauth_exceptions.RefreshError("weird")) is ErrorCategory.UNKNOWN
    assert category(requests.exceptions.ConnectTimeout("timed out")) is ErrorCategory.TEMPORARY
    assert category(RuntimeError("bug")) is ErrorCategory.UNKNOWN


@settings(max_examples=30, deadline=None)
@given(
    template=st.sampled_from(
        [
            lambda k: gauth_exceptions.RefreshError(f"invalid_grant: {k}", {"error": k}),
            lambda k: gauth_exceptions.TransportError(f"failed with {k}"),
            lambda k: GcpApiError(403, "PERMISSION_DENIED", f"key {k} denied"),
            lambda k: GcpApiError(500, k[:30], k),
            lambda k: ValueError(json.dumps({"private_key": k})),
        ]
    )
)
def test_classify_never_leaks_the_private_key(template: Any) -> None:
    info = _KEY_INFO
    error = ADAPTER.classify(template(info["private_key"]), [info["private_key"]])
    assert_no_key(error, info["private_key"])


# --------------------------------------------------------------------------------------------
# parse_credentials
# --------------------------------------------------------------------------------------------


def _key_info() -> dict[str, Any]:
    """A key file for parsing tests (no server involved)."""
    pem = (
        rsa.generate_private_key(public_exponent=65537, key_size=1024)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    return {
        "type": "service_account",
        "project_id": "parse-test-project",
        "private_key_id": "0123456789abcdef0123456789abcdef01234567",
        "private_key": pem,
        "client_email": "scanner@parse-test-project.iam.gserviceaccount.com",
        "client_id": "100000000000000000001",
        "token_uri": "http://169.254.169.254/computeMetadata/v1/",
    }


_KEY_INFO = _key_info()


def _parse_error(text: str) -> InputError:
    with pytest.raises(InputError) as caught:
        ADAPTER.parse_credentials({"service_account_json": text})
    assert set(caught.value.fields) == {"service_account_json"}
    assert caught.value.fields["service_account_json"] == caught.value.message
    assert _KEY_INFO["private_key"].splitlines()[1] not in caught.value.message
    return caught.value


def test_parse_keeps_only_what_the_scanner_needs() -> None:
    creds = ADAPTER.parse_credentials({"service_account_json": json.dumps(_KEY_INFO)})
    assert creds.project_id == "parse-test-project"
    assert set(creds.info) == {
        "type",
        "project_id",
        "private_key_id",
        "private_key",
        "client_email",
        "client_id",
    }
    assert _KEY_INFO["private_key"] not in repr(creds)


def test_parse_empty() -> None:
    assert "Paste" in _parse_error("  ").message


def test_parse_syntax_error_names_line_and_column() -> None:
    text = json.dumps(_KEY_INFO, indent=2).replace('"type"', "'type'", 1)
    message = _parse_error(text).message
    assert "not valid JSON" in message
    assert "line 2, column 3" in message


def test_parse_not_an_object() -> None:
    assert "JSON object" in _parse_error("[1, 2]").message


def test_parse_wrong_type_names_it() -> None:
    message = _parse_error(json.dumps({**_KEY_INFO, "type": "authorized_user"})).message
    assert '"authorized_user"' in message
    assert "service_account" in message


@pytest.mark.parametrize("missing", ["client_email", "private_key", "private_key_id", "project_id"])
def test_parse_missing_fields(missing: str) -> None:
    info = {k: v for k, v in _KEY_INFO.items() if k != missing}
    message = _parse_error(json.dumps(info)).message
    assert missing in message


def test_parse_unreadable_private_key() -> None:
    broken = _KEY_INFO["private_key"][:200] + "\n-----END PRIVATE KEY-----\n"
    message = _parse_error(json.dumps({**_KEY_INFO, "private_key": broken})).message
    assert "private_key is not a readable PEM" in message
    assert broken[40:120] not in message


def test_parse_non_rsa_key() -> None:
    pem = (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    assert "RSA" in _parse_error(json.dumps({**_KEY_INFO, "private_key": pem})).message


def test_parse_bad_email_and_project() -> None:
    assert "client_email" in _parse_error(json.dumps({**_KEY_INFO, "client_email": "x"})).message
    assert "project_id" in _parse_error(json.dumps({**_KEY_INFO, "project_id": "A b"})).message


# --------------------------------------------------------------------------------------------
# through the engine's job runner
# --------------------------------------------------------------------------------------------


def test_engine_job_runner_end_to_end(account: GcpAccount) -> None:
    from bot.engine.jobs import CloudJobRunner, ScanTarget

    google = account.standin
    google.seed(PROJECT, "networks", [{"name": "default"}])
    google.deny("storage.buckets.list")
    runner = CloudJobRunner(google.endpoints(max_attempts=1))
    target = ScanTarget(1, "gcp", account.creds())
    units = runner.plan(target, CancelToken())
    scan = runner.open(target, CancelToken())
    assert units == [PROJECT]
    outcome = scan.run_unit(PROJECT, CancelToken())
    failing = {f.check_id for f in outcome.findings if not f.result.passed}
    assert failing == {"gcp.compute.default_network"}
    assert {e.check_id for e in outcome.errors} == {
        "gcp.storage.uniform_access",
        "gcp.storage.public_bucket",
    }
    assert all("storage.buckets.list" in e.error.message for e in outcome.errors)

    google.revoke(account.email)
    outcome = scan.run_unit(PROJECT, CancelToken())
    assert len(outcome.errors) == 1  # the runner stops a unit at invalid credentials
    assert outcome.errors[0].error.category is ErrorCategory.INVALID_CREDENTIALS
    assert_no_key(outcome.errors[0].error, *account.secrets())
