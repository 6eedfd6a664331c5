"""The Azure adapter against a real loopback Entra ID + ARM (bot/playground/azure.py)."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, fields

import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError, ServiceRequestError
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain import (
    CancelToken,
    CloudCallError,
    CloudError,
    ErrorCategory,
    ScanCancelled,
)
from bot.errors import InputError
from bot.playground.azure import AzureStandIn
from bot.providers import get_adapter
from bot.providers.azure.adapter import ADAPTER, ArmError, AzureSession
from bot.providers.azure.checks import storage_secure_transfer
from bot.providers.azure.credentials import AzureCredentials
from bot.providers.base import CloudAdapter

# A secret no redaction pattern recognises: only the adapter passing it explicitly hides it.
SECRET = "plain-Looking-s3cret-Value_0042"
INVALID_REMEDIATION = (
    "Replace the connector with new credentials (saved credentials cannot be edited)."
)


@dataclass
class AzureApp:
    """A registered app in the stand-in."""

    standin: AzureStandIn
    tenant: str
    client_id: str
    subscriptions: list[str]

    def creds(self, secret: str = SECRET, **overrides: str) -> AzureCredentials:
        raw = {"tenant_id": self.tenant, "client_id": self.client_id, "client_secret": secret}
        raw.update(overrides)
        return ADAPTER.parse_credentials(raw)


@pytest.fixture
def entra() -> Iterator[AzureStandIn]:
    """A fresh Entra ID + ARM stand-in."""
    with AzureStandIn() as standin:
        yield standin


@pytest.fixture
def app(entra: AzureStandIn) -> AzureApp:
    """An app with the Reader role on two subscriptions."""
    tenant, client = str(uuid.uuid4()), str(uuid.uuid4())
    subs = [str(uuid.uuid4()), str(uuid.uuid4())]
    entra.add_app(tenant, client, SECRET, subscriptions=subs)
    return AzureApp(entra, tenant, client, subs)


def assert_no_secret(error: CloudError | None, *secrets: str) -> None:
    """No field of the error carries any of the secrets."""
    assert error is not None
    for f in fields(error):
        value = str(getattr(error, f.name))
        for secret in secrets:
            assert secret not in value, f"secret leaked in {f.name}"


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --------------------------------------------------------------------------------------------
# the protocol
# --------------------------------------------------------------------------------------------


def test_registry_returns_the_adapter() -> None:
    adapter: CloudAdapter = get_adapter("azure")
    assert adapter is ADAPTER
    assert adapter.provider == "azure"


# --------------------------------------------------------------------------------------------
# validate
# --------------------------------------------------------------------------------------------


def test_valid_credentials_list_subscriptions(app: AzureApp) -> None:
    result = ADAPTER.validate(app.creds(), app.standin.endpoints())
    assert result.ok, result.error
    assert result.account_id == app.tenant
    assert result.account_label == app.client_id
    assert sorted(result.scopes) == sorted(app.subscriptions)
    assert result.error is None


def test_validation_follows_next_link_and_skips_disabled(entra: AzureStandIn) -> None:
    tenant, client = str(uuid.uuid4()), str(uuid.uuid4())
    subs = [str(uuid.uuid4()) for _ in range(4)]
    entra.add_app(tenant, client, SECRET, subscriptions=subs)
    entra.set_subscription_state(subs[2], "Disabled")
    entra.page_size = 1
    creds = AzureCredentials(tenant, client, SECRET)
    result = ADAPTER.validate(creds, entra.endpoints())
    assert result.ok
    assert result.scopes == (subs[0], subs[1], subs[3])
    assert entra.count("/subscriptions") == 4  # one page each


def test_every_validation_uses_a_new_credential(app: AzureApp) -> None:
    """MSAL caches per credential object: a fixed secret must validate right after a failure."""
    entra = app.standin
    wrong = app.creds(secret="another-wrong-secret-1")
    assert not ADAPTER.validate(wrong, entra.endpoints()).ok
    entra.rotate_secret(app.tenant, app.client_id, "another-wrong-secret-1")
    assert ADAPTER.validate(wrong, entra.endpoints()).ok


@pytest.mark.parametrize(
    ("case", "code", "words"),
    [
        ("wrong_secret", "AADSTS7000215", "client secret"),
        ("expired_secret", "AADSTS7000222", "expired"),
        ("unknown_app", "AADSTS700016", "client ID"),
        ("unknown_tenant", "AADSTS90002", "tenant"),
    ],
)
def test_rejected_credentials_are_invalid_credentials(
    app: AzureApp, case: str, code: str, words: str
) -> None:
    entra = app.standin
    creds = app.creds()
    if case == "wrong_secret":
        creds = app.creds(secret="Wrong-secret-value-123")
    elif case == "expired_secret":
        entra.expire_secret(app.tenant, app.client_id)
    elif case == "unknown_app":
        creds = app.creds(client_id=str(uuid.uuid4()))
    else:
        creds = app.creds(tenant_id=str(uuid.uuid4()))
    result = ADAPTER.validate(creds, entra.endpoints())
    assert not result.ok
    error = result.error
    assert error is not None
    assert error.category is ErrorCategory.INVALID_CREDENTIALS
    assert error.code == code
    assert words in error.message
    assert error.remediation == INVALID_REMEDIATION
    assert code in error.detail
    assert_no_secret(error, SECRET, "Wrong-secret-value-123")
    assert entra.count("/subscriptions") == 0  # never got past sign-in


def test_no_subscriptions_is_permission_denied(entra: AzureStandIn) -> None:
    tenant, client = str(uuid.uuid4()), str(uuid.uuid4())
    entra.add_app(tenant, client, SECRET, subscriptions=[])
    result = ADAPTER.validate(AzureCredentials(tenant, client, SECRET), entra.endpoints())
    assert not result.ok
    assert result.error is not None
    assert result.error.category is ErrorCategory.PERMISSION_DENIED
    assert result.error.code == "NoSubscriptions"
    assert "Reader" in result.error.remediation


@pytest.mark.parametrize("attempts", [1, 3])
def test_arm_503_is_temporary_within_the_retry_budget(app: AzureApp, attempts: int) -> None:
    entra = app.standin
    entra.fail(503, path_prefix="/subscriptions")
    result = ADAPTER.validate(app.creds(), entra.endpoints(max_attempts=attempts))
    assert result.error is not None
    assert result.error.category is ErrorCategory.TEMPORARY
    assert result.error.code == "ServiceUnavailable"
    assert "503" in result.error.message
    assert entra.count("/subscriptions") == attempts


def test_token_service_503_is_temporary_within_the_retry_budget(app: AzureApp) -> None:
    entra = app.standin
    entra.fail(503, path_prefix=f"/{app.tenant}/")
    result = ADAPTER.validate(app.creds(), entra.endpoints(max_attempts=2))
    assert result.error is not None
    assert result.error.category is ErrorCategory.TEMPORARY
    assert result.error.code == "ServiceUnavailable"
    assert entra.count(f"/{app.tenant}/") == 2


def test_one_503_is_retried_away(app: AzureApp) -> None:
    app.standin.fail(503, times=1, path_prefix="/subscriptions")
    assert ADAPTER.validate(app.creds(), app.standin.endpoints()).ok
    assert app.standin.count("/subscriptions") == 2


def test_429_retry_after_is_honoured(app: AzureApp) -> None:
    # 2 s: longer than the backoff the client would use on a 429 that named no delay
    app.standin.fail(429, times=1, path_prefix="/subscriptions", retry_after="2")
    assert ADAPTER.validate(app.creds(), app.standin.endpoints()).ok
    arm = [c for c in app.standin.calls if c.path.startswith("/subscriptions")]
    assert [c.status for c in arm] == [429, 200]
    assert arm[1].at - arm[0].at >= 2.0  # the stand-in saw the retry after Retry-After


def test_arm_timeout_is_temporary(app: AzureApp) -> None:
    entra = app.standin
    entra.hang(3, path_prefix="/subscriptions")
    started = time.monotonic()
    result = ADAPTER.validate(app.creds(), entra.endpoints(timeout_seconds=0.3, max_attempts=2))
    assert time.monotonic() - started < 2.5
    assert result.error is not None
    assert result.error.category is ErrorCategory.TEMPORARY
    assert result.error.code == "Timeout"
    assert entra.count("/subscriptions") == 2


def test_token_timeout_is_temporary(app: AzureApp) -> None:
    app.standin.hang(3, path_prefix=f"/{app.tenant}/oauth2")
    result = ADAPTER.validate(
        app.creds(), app.standin.endpoints(timeout_seconds=0.3, max_attempts=1)
    )
    assert result.error is not None
    assert result.error.category is ErrorCategory.TEMPORARY
    assert result.error.code == "Timeout"


def test_unreachable_authority_is_temporary(app: AzureApp) -> None:
    endpoints = app.standin.endpoints(
        azure_authority_host=f"https://127.0.0.1:{closed_port()}", max_attempts=1
    )
    result = ADAPTER.validate(app.creds(), endpoints)
    assert result.error is not None
    assert result.error.category is ErrorCategory.TEMPORARY
    assert "could not be reached" in result.error.message


def test_untrusted_certificate_is_not_temporary(app: AzureApp) -> None:
    result = ADAPTER.validate(app.creds(), app.standin.endpoints(ca_bundle=None, max_attempts=1))
    assert result.error is not None
    assert result.error.category is ErrorCategory.UNKNOWN
    assert result.error.code == "TLSVerificationFailed"


# --------------------------------------------------------------------------------------------
# sessions
# --------------------------------------------------------------------------------------------


def test_permission_denied_on_a_check_names_the_action(app: AzureApp) -> None:
    entra = app.standin
    entra.deny("Microsoft.Storage/storageAccounts/read")
    session = ADAPTER.open_session(app.creds(), entra.endpoints(), CancelToken())
    with pytest.raises(ArmError) as caught:
        storage_secure_transfer.run(session, app.subscriptions[0])
    error = ADAPTER.classify(caught.value, [SECRET])
    assert error.category is ErrorCategory.PERMISSION_DENIED
    assert error.code == "AuthorizationFailed"
    assert "Microsoft.Storage/storageAccounts/read" in error.message
    assert "Microsoft.Storage/storageAccounts/read" in error.remediation
    assert entra.count("/subscriptions/", method="GET") == 1  # 403 is not retried


def test_subscription_without_role_is_permission_denied(app: AzureApp) -> None:
    other = str(uuid.uuid4())
    app.standin.add_app(str(uuid.uuid4()), str(uuid.uuid4()), "x" * 12, subscriptions=[other])
    session = ADAPTER.open_session(app.creds(), app.standin.endpoints(), CancelToken())
    with session, pytest.raises(ArmError) as caught:
        storage_secure_transfer.run(session, other)
    assert ADAPTER.classify(caught.value, [SECRET]).category is ErrorCategory.PERMISSION_DENIED


def test_unknown_subscription_in_scope_is_permission_denied(app: AzureApp) -> None:
    session = ADAPTER.open_session(app.creds(), app.standin.endpoints(), CancelToken())
    with session, pytest.raises(ArmError) as caught:
        storage_secure_transfer.run(session, str(uuid.uuid4()))
    error = ADAPTER.classify(caught.value, [SECRET])
    assert error.category is ErrorCategory.PERMISSION_DENIED
    assert error.code == "SubscriptionNotFound"


def test_cancelled_token_stops_before_any_call(app: AzureApp) -> None:
    cancel = CancelToken()
    session = ADAPTER.open_session(app.creds(), app.standin.endpoints(), cancel)
    path = f"/subscriptions/{app.subscriptions[0]}/providers/Microsoft.Storage/storageAccounts"
    assert session.get_all(path, {"api-version": "2023-05-01"}) == []
    calls = len(app.standin.calls)
    cancel.cancel()
    with pytest.raises(ScanCancelled):
        storage_secure_transfer.run(session, app.subscriptions[0])
    with pytest.raises(ScanCancelled):
        ADAPTER.plan_units(session, [])
    assert len(app.standin.calls) == calls


def test_plan_units(app: AzureApp) -> None:
    session = ADAPTER.open_session(app.creds(), app.standin.endpoints(), CancelToken())
    assert app.standin.calls == []  # opening a session is free
    assert ADAPTER.plan_units(session, ["a", " a ", "b", ""]) == ["a", "b"]
    assert sorted(ADAPTER.plan_units(session, [])) == sorted(app.subscriptions)
    assert isinstance(session, AzureSession)
    assert sorted(session.subscription_ids()) == sorted(app.subscriptions)


def test_revoked_token_is_replaced_once(app: AzureApp) -> None:
    entra = app.standin
    session = ADAPTER.open_session(app.creds(), entra.endpoints(), CancelToken())
    session.subscription_ids()
    issued = entra.tokens_issued
    entra.revoke_tokens()
    path = f"/subscriptions/{app.subscriptions[0]}/providers/Microsoft.KeyVault/vaults"
    assert session.get_all(path, {"api-version": "2023-07-01"}) == []
    assert entra.tokens_issued == issued + 1


def test_secret_deleted_mid_scan_surfaces_the_aadsts_code(app: AzureApp) -> None:
    entra = app.standin
    session = ADAPTER.open_session(app.creds(), entra.endpoints(), CancelToken())
    session.subscription_ids()
    entra.rotate_secret(app.tenant, app.client_id, "brand-new-secret-value")
    entra.revoke_tokens()
    with pytest.raises(ClientAuthenticationError) as caught:
        storage_secure_transfer.run(session, app.subscriptions[0])
    error = ADAPTER.classify(caught.value, [SECRET])
    assert error.category is ErrorCategory.INVALID_CREDENTIALS
    assert error.code == "AADSTS7000215"


def test_foreign_links_never_get_the_token(app: AzureApp) -> None:
    session = ADAPTER.open_session(app.creds(), app.standin.endpoints(), CancelToken())
    with pytest.raises(ArmError) as caught:
        session.get_json("https://evil.example.com/subscriptions")
    assert caught.value.code == "ForeignUrl"
    assert app.standin.calls == []


# --------------------------------------------------------------------------------------------
# classify
# --------------------------------------------------------------------------------------------


def test_classify_statuses_and_transport_errors() -> None:
    def category(exc: BaseException) -> ErrorCategory:
        return ADAPTER.classify(exc, [SECRET]).category

    assert category(ArmError(401, "InvalidAuthenticationToken", "bad")) is (
        ErrorCategory.INVALID_CREDENTIALS
    )
    assert category(ArmError(429, "TooManyRequests", "slow down")) is ErrorCategory.TEMPORARY
    assert category(ArmError(500, "InternalServerError", "oops")) is ErrorCategory.TEMPORARY
    assert category(ArmError(400, "BadRequest", "what")) is ErrorCategory.UNKNOWN
    assert category(requests.exceptions.ReadTimeout("timed out")) is ErrorCategory.TEMPORARY
    assert category(requests.exceptions.ConnectionError("refused")) is ErrorCategory.TEMPORARY
    assert category(ServiceRequestError("refused")) is ErrorCategory.TEMPORARY
    assert category(KeyError("properties")) is ErrorCategory.UNKNOWN
    wrapped = ClientAuthenticationError("Authentication failed: boom")
    wrapped.__cause__ = ServiceRequestError("connection reset")
    assert category(wrapped) is ErrorCategory.TEMPORARY
    assert category(ClientAuthenticationError("AADSTS53003: blocked by CA")) is (
        ErrorCategory.PERMISSION_DENIED
    )
    assert category(ClientAuthenticationError("AADSTS12345: new")) is ErrorCategory.UNKNOWN
    already = CloudError(ErrorCategory.TEMPORARY, "X", "m", "r")
    assert ADAPTER.classify(CloudCallError(already), []) is already


_TEMPLATES = [
    lambda s: ClientAuthenticationError(f"Authentication failed: AADSTS7000215: bad {s}"),
    lambda s: ClientAuthenticationError(f"Authentication failed: {s}"),
    lambda s: ArmError(403, "AuthorizationFailed", f"client secret={s} cannot perform action"),
    lambda s: ArmError(503, s, f"down {s}"),
    lambda s: ArmError(400, "Bad", f"{s}"),
    lambda s: requests.exceptions.ConnectionError(f"to https://{s}@host"),
    lambda s: ValueError(f"unexpected {s!r}"),
]


@settings(max_examples=60, deadline=None)
@given(
    secret=st.text(
        alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=8, max_size=60
    ),
    template=st.sampled_from(_TEMPLATES),
)
def test_classify_never_leaks_the_secret(secret: str, template: object) -> None:
    exc = template(secret)  # type: ignore[operator]
    assert_no_secret(ADAPTER.classify(exc, [secret]), secret)


# --------------------------------------------------------------------------------------------
# parse_credentials
# --------------------------------------------------------------------------------------------


def test_parse_valid_normalises_ids() -> None:
    tenant, client = uuid.uuid4(), uuid.uuid4()
    creds = ADAPTER.parse_credentials(
        {
            "tenant_id": f" {str(tenant).upper()} ",
            "client_id": str(client),
            "client_secret": f"  {SECRET}\n",
        }
    )
    assert creds == AzureCredentials(str(tenant), str(client), SECRET)
    assert SECRET not in repr(creds)


def test_parse_collects_every_field_error() -> None:
    with pytest.raises(InputError) as caught:
        ADAPTER.parse_credentials({})
    assert set(caught.value.fields) == {"tenant_id", "client_id", "client_secret"}


@pytest.mark.parametrize(
    ("raw", "field", "words"),
    [
        ({"tenant_id": "contoso"}, "tenant_id", "UUID"),
        ({"client_id": "my-app"}, "client_id", "Application (client) ID"),
        ({"client_secret": str(uuid.uuid4())}, "client_secret", "secret's ID"),
        ({"client_secret": "short"}, "client_secret", "8 to 256"),
        ({"client_secret": "has a space inside"}, "client_secret", "spaces"),
        ({"client_secret": "x" * 300}, "client_secret", "8 to 256"),
    ],
)
def test_parse_field_messages(raw: dict[str, str], field: str, words: str) -> None:
    good = {
        "tenant_id": str(uuid.uuid4()),
        "client_id": str(uuid.uuid4()),
        "client_secret": SECRET,
    }
    with pytest.raises(InputError) as caught:
        ADAPTER.parse_credentials({**good, **raw})
    assert set(caught.value.fields) == {field}
    assert words in caught.value.fields[field]
    secret = raw.get("client_secret", "")
    if secret:
        assert secret not in caught.value.message
        assert all(secret not in m for m in caught.value.fields.values())


# --------------------------------------------------------------------------------------------
# through the engine's job runner
# --------------------------------------------------------------------------------------------


def test_engine_job_runner_end_to_end(app: AzureApp) -> None:
    from bot.engine.jobs import CloudJobRunner, ScanTarget

    entra = app.standin
    entra.seed(app.subscriptions[0], "storage_accounts", [{"name": "st1", "properties": {}}])
    entra.deny("Microsoft.KeyVault/vaults/read")
    runner = CloudJobRunner(entra.endpoints(max_attempts=1))
    target = ScanTarget(1, "azure", app.creds())
    units = runner.plan(target, CancelToken())
    scan = runner.open(target, CancelToken())
    assert sorted(units) == sorted(app.subscriptions)
    outcome = scan.run_unit(app.subscriptions[0], CancelToken())
    failing = {f.check_id for f in outcome.findings if not f.result.passed}
    assert "azure.storage.secure_transfer" in failing
    assert [e.check_id for e in outcome.errors] == ["azure.keyvault.recoverable"]
    assert outcome.errors[0].error.category is ErrorCategory.PERMISSION_DENIED

    with pytest.raises(CloudCallError) as caught:
        runner.plan(ScanTarget(1, "azure", app.creds(secret="Wrong-secret-value-1")), CancelToken())
    assert caught.value.error.code == "AADSTS7000215"
