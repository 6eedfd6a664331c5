"""The AWS adapter against a real loopback AWS (moto server, auth on) behind a fault proxy."""

from __future__ import annotations

import ssl
import threading
import time
from dataclasses import astuple
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, NoCredentialsError, SSLError

from bot.domain import (
    CancelToken,
    CloudCallError,
    CloudError,
    ErrorCategory,
    ScanCancelled,
)
from bot.errors import InputError
from bot.playground.aws import FaultProxy, refused_url
from bot.providers.aws.adapter import ADAPTER, AwsAdapter, AwsSession
from bot.providers.aws.credentials import AwsCredentials
from bot.providers.base import CloudAdapter
from tests.providers.clouds.conftest import EXTERNAL_ID, AwsWorld

UNKNOWN_KEY_ID = "AKIA" + "Z9" * 8


def assert_clean(error: CloudError | None, creds: AwsCredentials) -> CloudError:
    """The error exists and no field carries the secret or the full key id."""
    assert error is not None
    for value in astuple(error):
        assert creds.secret_access_key not in str(value)
        assert creds.access_key_id not in str(value)
    assert error.message and error.remediation and "\n" not in error.message
    return error


def session_for(world: AwsWorld, creds: AwsCredentials, **endpoint_overrides: Any) -> AwsSession:
    return ADAPTER.open_session(creds, world.endpoints(**endpoint_overrides), CancelToken())


def test_adapter_fulfils_the_protocol() -> None:
    adapter: CloudAdapter = ADAPTER
    assert isinstance(ADAPTER, AwsAdapter)
    assert adapter.provider == "aws"


# --------------------------------------------------------------------------------------------
# validate
# --------------------------------------------------------------------------------------------


def test_valid_key_learns_the_account(world: AwsWorld) -> None:
    result = ADAPTER.validate(world.admin, world.endpoints())
    assert result.ok and result.error is None
    assert result.account_id == world.standin.account_id
    assert result.account_label == world.standin.user_arn("scanner")
    assert world.proxy.calls == {("sts", "us-east-1"): 1}


def test_unknown_key_is_invalid_credentials(world: AwsWorld) -> None:
    creds = AwsCredentials(UNKNOWN_KEY_ID, world.admin.secret_access_key)
    result = ADAPTER.validate(creds, world.endpoints())
    assert not result.ok and not result.account_id
    error = assert_clean(result.error, creds)
    assert error.category is ErrorCategory.INVALID_CREDENTIALS
    assert error.code == "InvalidClientTokenId"
    assert "cannot be edited" in error.remediation


def test_wrong_secret_is_signature_does_not_match(world: AwsWorld) -> None:
    creds = AwsCredentials(world.admin.access_key_id, "w" * 40)
    error = assert_clean(ADAPTER.validate(creds, world.endpoints()).error, creds)
    assert error.category is ErrorCategory.INVALID_CREDENTIALS
    assert error.code == "SignatureDoesNotMatch"


def test_invalid_credentials_are_not_retried(world: AwsWorld) -> None:
    creds = AwsCredentials(UNKNOWN_KEY_ID, "w" * 40)
    ADAPTER.validate(creds, world.endpoints(max_attempts=3))
    assert world.proxy.count("sts") == 1


@pytest.mark.parametrize(
    ("service", "call", "code"),
    [
        ("ec2", lambda c: c.describe_security_groups(), "AuthFailure"),
        ("s3", lambda c: c.list_buckets(), "InvalidAccessKeyId"),
        ("iam", lambda c: c.get_account_summary(), "InvalidClientTokenId"),
        # moto answers this JSON-protocol service with an XML error document
        ("cloudtrail", lambda c: c.describe_trails(), "InvalidClientTokenId"),
    ],
)
def test_unknown_key_on_each_service_is_invalid_credentials(
    world: AwsWorld, service: str, call: Any, code: str
) -> None:
    creds = AwsCredentials(UNKNOWN_KEY_ID, world.admin.secret_access_key)
    session = session_for(world, creds)
    with pytest.raises(ClientError) as caught:
        call(session.client(service))
    error = assert_clean(ADAPTER.classify(caught.value, creds.secret_values()), creds)
    assert (error.category, error.code) == (ErrorCategory.INVALID_CREDENTIALS, code)


def test_empty_key_never_reaches_aws(world: AwsWorld) -> None:
    for creds in (AwsCredentials("", ""), AwsCredentials(" ", "x" * 40)):
        result = ADAPTER.validate(creds, world.endpoints())
        assert result.error is not None
        assert result.error.category is ErrorCategory.INVALID_CREDENTIALS
        assert result.error.code == "NoCredentialsError"
    assert world.proxy.count() == 0


def test_host_profiles_and_ambient_keys_are_ignored(
    world: AwsWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "not-on-this-host")
    monkeypatch.setenv("AWS_DEFAULT_PROFILE", "not-on-this-host")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", world.nobody.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", world.nobody.secret_access_key)
    result = ADAPTER.validate(world.admin, world.endpoints())
    assert result.ok and result.account_label.endswith(":user/scanner")
    empty = ADAPTER.validate(AwsCredentials("", ""), world.endpoints())
    assert empty.error is not None and empty.error.code == "NoCredentialsError"


def test_role_is_assumed_before_identity(world: AwsWorld) -> None:
    creds = AwsCredentials(*astuple_creds(world.admin), world.role_arn, EXTERNAL_ID)
    result = ADAPTER.validate(creds, world.endpoints())
    assert result.ok, result.error
    assert result.account_label.endswith(":assumed-role/CspmScanRole/cspm-bot")
    session = ADAPTER.open_session(creds, world.endpoints(), CancelToken())
    assert session.caller_arn == result.account_label
    assert session.client("iam").get_account_summary()["SummaryMap"]


def test_wrong_external_id_is_its_own_category(world: AwsWorld) -> None:
    creds = AwsCredentials(*astuple_creds(world.admin), world.role_arn, "not-the-right-one")
    error = assert_clean(ADAPTER.validate(creds, world.endpoints()).error, creds)
    assert error.category is ErrorCategory.ASSUME_ROLE_FAILED
    assert (error.code, error.missing_permissions) == ("AccessDenied", ())
    assert world.role_arn in error.message
    assert "trust policy" in error.remediation and "external ID" in error.remediation


def test_assume_role_denied_in_a_scan_session_is_its_own_category(world: AwsWorld) -> None:
    creds = AwsCredentials(*astuple_creds(world.admin), world.role_arn, "not-the-right-one")
    session = ADAPTER.open_session(creds, world.endpoints(), CancelToken())
    with pytest.raises(ClientError) as caught:
        session.client("iam").get_account_summary()
    error = assert_clean(ADAPTER.classify(caught.value, creds.secret_values()), creds)
    assert error.category is ErrorCategory.ASSUME_ROLE_FAILED
    assert "external ID" in error.remediation


def test_a_key_that_may_not_assume_roles_is_an_assume_role_failure(world: AwsWorld) -> None:
    creds = AwsCredentials(*astuple_creds(world.nobody), world.role_arn, EXTERNAL_ID)
    error = assert_clean(ADAPTER.validate(creds, world.endpoints()).error, creds)
    assert error.category is ErrorCategory.ASSUME_ROLE_FAILED


def test_a_rejected_key_assuming_a_role_stays_invalid_credentials(world: AwsWorld) -> None:
    creds = AwsCredentials(UNKNOWN_KEY_ID, world.admin.secret_access_key, world.role_arn)
    error = assert_clean(ADAPTER.validate(creds, world.endpoints()).error, creds)
    assert error.category is ErrorCategory.INVALID_CREDENTIALS


def test_scan_sessions_name_the_role_session_after_the_scan(world: AwsWorld) -> None:
    from moto.sts.models import sts_backends

    from bot.providers import get

    creds = AwsCredentials(*astuple_creds(world.admin), world.role_arn, EXTERNAL_ID)
    scan_creds = get("aws").credentials_for_scan(creds, 4242)
    session = ADAPTER.open_session(scan_creds, world.endpoints(), CancelToken())
    assert session.caller_arn.endswith(":assumed-role/CspmScanRole/cspm-bot-scan-4242")
    assumed = sts_backends[world.standin.account_id]["aws"].assumed_roles
    assert any(
        r.session_name == "cspm-bot-scan-4242" and r.role_arn == world.role_arn for r in assumed
    )
    assert "cspm-bot-scan" not in str(get("aws").credentials_for_scan(creds, 1))  # repr: no name


def test_machine_identity_is_explicit(world: AwsWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    # valid stand-in credentials in the environment: only a machine-identity connector uses them
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", world.admin.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", world.admin.secret_access_key)
    bad_key = AwsCredentials(UNKNOWN_KEY_ID, world.nobody.secret_access_key)
    error = ADAPTER.validate(bad_key, world.endpoints()).error
    assert error is not None and error.category is ErrorCategory.INVALID_CREDENTIALS
    session = ADAPTER.open_session(bad_key, world.endpoints(), CancelToken())
    with pytest.raises(ClientError):
        session.client("sts").get_caller_identity()
    blank = ADAPTER.validate(AwsCredentials("", ""), world.endpoints()).error
    assert blank is not None and blank.code == "NoCredentialsError"

    machine = ADAPTER.parse_credentials({"identity": "machine"})
    assert machine.uses_machine_identity and machine.secret_values() == []
    result = ADAPTER.validate(machine, world.endpoints())
    assert result.ok and result.account_label.endswith(":user/scanner")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    none_here = ADAPTER.validate(machine, world.endpoints()).error
    assert none_here is not None and none_here.category is ErrorCategory.INVALID_CREDENTIALS


def test_parse_identity_and_member_role_fields() -> None:
    role = "arn:aws:iam::123456789012:role/CspmHub"
    machine = ADAPTER.parse_credentials({"identity": " Machine ", "role_arn": role})
    assert (machine.identity, machine.access_key_id, machine.role_arn) == ("machine", "", role)
    with pytest.raises(InputError) as caught:
        ADAPTER.parse_credentials({"identity": "machine", "access_key_id": GOOD_ID})
    assert "access_key_id" in caught.value.fields
    with pytest.raises(InputError) as caught:
        ADAPTER.parse_credentials({"identity": "instance", "member_role_name": "arn:aws:x"})
    assert set(caught.value.fields) >= {"identity", "member_role_name"}
    parsed = ADAPTER.parse_credentials(
        {
            "access_key_id": GOOD_ID,
            "secret_access_key": GOOD_SECRET,
            "member_role_name": "CspmAudit",
            "member_external_id": "ext-123",
        }
    )
    assert (parsed.identity, parsed.member_role_name, parsed.member_external_id) == (
        "access_key",
        "CspmAudit",
        "ext-123",
    )


def astuple_creds(creds: AwsCredentials) -> tuple[str, str]:
    return creds.access_key_id, creds.secret_access_key


def test_key_without_permissions_validates_but_checks_are_denied(world: AwsWorld) -> None:
    result = ADAPTER.validate(world.nobody, world.endpoints())
    assert result.ok  # STS GetCallerIdentity needs no permission
    session = session_for(world, world.nobody)
    with pytest.raises(ClientError) as caught:
        session.client("iam").get_account_summary()
    error = assert_clean(ADAPTER.classify(caught.value, world.nobody.secret_values()), world.nobody)
    assert error.category is ErrorCategory.PERMISSION_DENIED
    assert error.code == "AccessDenied"
    assert "iam:GetAccountSummary" in error.message
    assert error.remediation.startswith("Grant iam:GetAccountSummary to the scanner's IAM identity")
    assert world.proxy.count("iam") == 1  # denials are not retried


@pytest.mark.parametrize(
    ("service", "call", "action"),
    [
        # moto's S3 says only "Access Denied": the action comes from the failed operation
        ("s3", lambda c: c.list_buckets(), "s3:ListAllMyBuckets"),
        ("ec2", lambda c: c.get_ebs_encryption_by_default(), "ec2:GetEbsEncryptionByDefault"),
        ("cloudtrail", lambda c: c.describe_trails(), "cloudtrail:DescribeTrails"),
    ],
)
def test_permission_denied_names_the_action(
    world: AwsWorld, service: str, call: Any, action: str
) -> None:
    session = session_for(world, world.nobody)
    with pytest.raises(ClientError) as caught:
        call(session.client(service, "eu-west-1"))
    error = assert_clean(ADAPTER.classify(caught.value, world.nobody.secret_values()), world.nobody)
    assert error.category is ErrorCategory.PERMISSION_DENIED
    assert action in error.message and action in error.remediation


# --------------------------------------------------------------------------------------------
# Temporary failures and the retry budget
# --------------------------------------------------------------------------------------------


def test_throttling_past_the_retry_budget_is_temporary(world: AwsWorld) -> None:
    world.proxy.throttle(service="iam")
    session = session_for(world, world.admin, max_attempts=3)
    with pytest.raises(ClientError) as caught:
        session.client("iam").get_account_summary()
    error = assert_clean(ADAPTER.classify(caught.value, world.admin.secret_values()), world.admin)
    assert (error.category, error.code) == (ErrorCategory.TEMPORARY, "Throttling")
    assert error.remediation == "Re-run the scan; contact support if it keeps failing."
    assert world.proxy.calls == {("iam", "us-east-1"): 3}  # exactly max_attempts


def test_throttling_within_the_budget_is_absorbed(world: AwsWorld) -> None:
    world.proxy.throttle(service="iam", times=1)
    session = session_for(world, world.admin, max_attempts=2)
    assert session.client("iam").get_account_summary()["SummaryMap"]
    assert world.proxy.count("iam") == 2


@pytest.mark.parametrize(
    ("service", "region", "call", "code"),
    [
        ("ec2", "eu-west-1", lambda c: c.describe_security_groups(), "RequestLimitExceeded"),
        ("s3", "us-east-1", lambda c: c.list_buckets(), "SlowDown"),
        ("cloudtrail", "us-east-1", lambda c: c.describe_trails(), "ThrottlingException"),
    ],
)
def test_each_protocols_throttling_is_temporary(
    world: AwsWorld, service: str, region: str, call: Any, code: str
) -> None:
    world.proxy.throttle(service=service, region=region)
    session = session_for(world, world.admin, max_attempts=2)
    with pytest.raises(ClientError) as caught:
        call(session.client(service, region))
    error = ADAPTER.classify(caught.value, world.admin.secret_values())
    assert (error.category, error.code) == (ErrorCategory.TEMPORARY, code)
    assert world.proxy.calls == {(service, region): 2}


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_temporary(world: AwsWorld, status: int) -> None:
    world.proxy.fail_5xx(service="sts", status=status)
    result = ADAPTER.validate(world.admin, world.endpoints(max_attempts=2))
    error = assert_clean(result.error, world.admin)
    assert error.category is ErrorCategory.TEMPORARY
    assert f"http status: {status}" in error.detail
    assert world.proxy.count("sts") == 2


def test_faults_only_hit_the_matching_region(world: AwsWorld) -> None:
    world.proxy.fail_5xx(region="eu-west-1", status=503)
    session = session_for(world, world.admin, max_attempts=1)
    assert session.client("ec2", "us-east-1").describe_security_groups()
    with pytest.raises(ClientError):
        session.client("ec2", "eu-west-1").describe_security_groups()
    assert world.proxy.calls == {("ec2", "us-east-1"): 1, ("ec2", "eu-west-1"): 1}


def test_proxy_forwards_bodies_heads_and_streams(world: AwsWorld) -> None:
    s3 = session_for(world, world.admin).client("s3")
    s3.create_bucket(Bucket="proxy-check")
    body = b"x" * 70_000
    s3.put_object(Bucket="proxy-check", Key="k", Body=body)
    assert s3.head_object(Bucket="proxy-check", Key="k")["ContentLength"] == len(body)
    assert s3.get_object(Bucket="proxy-check", Key="k")["Body"].read() == body
    s3.delete_object(Bucket="proxy-check", Key="k")
    s3.delete_bucket(Bucket="proxy-check")
    assert world.proxy.calls == {("s3", "us-east-1"): 6}


def test_connection_refused_is_temporary(world: AwsWorld) -> None:
    endpoints = world.standin.endpoints(url=refused_url(), max_attempts=2, timeout_seconds=2)
    result = ADAPTER.validate(world.admin, endpoints)
    error = assert_clean(result.error, world.admin)
    assert (error.category, error.code) == (ErrorCategory.TEMPORARY, "EndpointConnectionError")


def test_read_timeout_is_temporary(world: AwsWorld) -> None:
    world.proxy.delay(1.0, service="sts")
    result = ADAPTER.validate(world.admin, world.endpoints(max_attempts=1, timeout_seconds=0.2))
    error = assert_clean(result.error, world.admin)
    assert (error.category, error.code) == (ErrorCategory.TEMPORARY, "ReadTimeoutError")


def test_custom_ca_bundle_is_honoured(world: AwsWorld, tmp_path: Path) -> None:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    with FaultProxy(world.standin.url, ssl_context=context) as tls:
        assert tls.url.startswith("https://127.0.0.1:")
        trusted = world.standin.endpoints(url=tls.url, ca_bundle=str(bundle))
        assert ADAPTER.validate(world.admin, trusted).ok
        untrusted = world.standin.endpoints(url=tls.url, max_attempts=1)
        error = assert_clean(ADAPTER.validate(world.admin, untrusted).error, world.admin)
    # a certificate problem does not go away by retrying
    assert (error.category, error.code) == (ErrorCategory.UNKNOWN, "SSLError")


# --------------------------------------------------------------------------------------------
# Sessions: cancellation, caching, planning
# --------------------------------------------------------------------------------------------


def test_cancelled_token_stops_the_next_call_before_it_is_sent(world: AwsWorld) -> None:
    token = CancelToken()
    session = ADAPTER.open_session(world.admin, world.endpoints(), token)
    assert session.client("iam").get_account_summary()
    token.cancel()
    with pytest.raises(ScanCancelled):
        session.client("iam").get_account_summary()
    with pytest.raises(ScanCancelled):
        session.client("s3").list_buckets()
    assert world.proxy.count() == 1


def test_cancel_interrupts_retries(world: AwsWorld) -> None:
    token = CancelToken()
    session = ADAPTER.open_session(world.admin, world.endpoints(max_attempts=8), token)
    session.client("iam").get_account_summary()  # warm up: the client is built and works
    world.proxy.clear()
    world.proxy.throttle(service="iam")

    def cancel_after_the_first_attempt() -> None:
        deadline = time.monotonic() + 5
        while world.proxy.count("iam") < 1 and time.monotonic() < deadline:
            time.sleep(0.002)
        token.cancel()

    canceller = threading.Thread(target=cancel_after_the_first_attempt)
    canceller.start()
    with pytest.raises(ScanCancelled):
        session.client("iam").get_account_summary()
    canceller.join()
    assert 1 <= world.proxy.count("iam") < 8


def test_session_caches_clients_and_maps_global_to_the_default_region(world: AwsWorld) -> None:
    session = session_for(world, world.admin)
    assert session.client("iam") is session.client("iam", "global")
    assert session.client("iam") is session.client("iam", "global:iam")
    assert session.client("iam") is session.client("iam", "us-east-1")
    assert session.client("ec2", "eu-west-1") is not session.client("ec2")
    assert session.client("ec2", "eu-west-1").meta.region_name == "eu-west-1"
    assert world.proxy.count() == 0  # opening a session and building clients is offline


def test_account_id_is_learned_once(world: AwsWorld) -> None:
    session = session_for(world, world.admin)
    assert session.account_id == world.standin.account_id
    assert session.partition == "aws"
    assert session.account_id == world.standin.account_id
    assert world.proxy.count("sts") == 1


def test_plan_units_uses_the_scope_or_every_enabled_region(world: AwsWorld) -> None:
    session = session_for(world, world.admin)
    assert ADAPTER.plan_units(session, ["eu-west-1", "us-east-1", "eu-west-1"]) == [
        "global:cloudtrail",
        "global:iam",
        "global:s3",
        "eu-west-1",
        "us-east-1",
    ]
    assert world.proxy.count() == 0
    units = ADAPTER.plan_units(session, [])
    assert units[:3] == ["global:cloudtrail", "global:iam", "global:s3"]
    assert units[3:] == sorted(units[3:]) and {"us-east-1", "eu-west-1"} <= set(units)
    assert world.proxy.calls == {("ec2", "us-east-1"): 1}


def test_plan_units_failure_is_classified(world: AwsWorld) -> None:
    session = session_for(world, world.nobody)
    with pytest.raises(ClientError) as caught:
        ADAPTER.plan_units(session, [])
    error = ADAPTER.classify(caught.value, [])
    assert error.category is ErrorCategory.PERMISSION_DENIED
    assert "ec2:DescribeRegions" in error.message


# --------------------------------------------------------------------------------------------
# classify (pure)
# --------------------------------------------------------------------------------------------


def client_error(code: str, message: str, status: int, operation: str = "Op") -> ClientError:
    response: Any = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, operation)


@pytest.mark.parametrize(
    ("code", "status", "category"),
    [
        ("InvalidClientTokenId", 403, ErrorCategory.INVALID_CREDENTIALS),
        ("ExpiredToken", 400, ErrorCategory.INVALID_CREDENTIALS),
        ("UnrecognizedClientException", 400, ErrorCategory.INVALID_CREDENTIALS),
        ("InvalidToken", 400, ErrorCategory.INVALID_CREDENTIALS),
        ("AuthFailure", 401, ErrorCategory.INVALID_CREDENTIALS),
        ("AccessDeniedException", 400, ErrorCategory.PERMISSION_DENIED),
        ("UnauthorizedOperation", 403, ErrorCategory.PERMISSION_DENIED),
        ("AuthorizationError", 403, ErrorCategory.PERMISSION_DENIED),
        ("SomethingForbidden", 403, ErrorCategory.PERMISSION_DENIED),
        ("TooManyRequestsException", 429, ErrorCategory.TEMPORARY),
        ("RequestTimeout", 400, ErrorCategory.TEMPORARY),
        ("InternalError", 500, ErrorCategory.TEMPORARY),
        ("504", 504, ErrorCategory.TEMPORARY),
        ("ValidationError", 400, ErrorCategory.UNKNOWN),
        ("RequestTimeTooSkewed", 403, ErrorCategory.UNKNOWN),
    ],
)
def test_classify_codes(code: str, status: int, category: ErrorCategory) -> None:
    error = ADAPTER.classify(client_error(code, "text", status), [])
    assert (error.category, error.code) == (category, code)
    assert error.remediation.endswith(".")


@pytest.mark.parametrize(
    ("code", "status", "category"),
    [
        ("AccessDenied", 403, ErrorCategory.ASSUME_ROLE_FAILED),
        ("ValidationError", 400, ErrorCategory.ASSUME_ROLE_FAILED),
        ("RegionDisabledException", 403, ErrorCategory.ASSUME_ROLE_FAILED),
        ("InvalidClientTokenId", 403, ErrorCategory.INVALID_CREDENTIALS),
        ("Throttling", 400, ErrorCategory.TEMPORARY),
    ],
)
def test_classify_assume_role_failures(code: str, status: int, category: ErrorCategory) -> None:
    error = ADAPTER.classify(client_error(code, "text", status, "AssumeRole"), [])
    assert error.category is category


def test_classify_parses_the_action_from_modern_denial_messages() -> None:
    exc = client_error(
        "AccessDenied",
        "User: arn:aws:iam::123456789012:user/x is not authorized to perform: "
        "s3:GetEncryptionConfiguration on resource: arn:aws:s3:::b because no "
        "identity-based policy allows the s3:GetEncryptionConfiguration action",
        403,
    )
    error = ADAPTER.classify(exc, [])
    assert "s3:GetEncryptionConfiguration" in error.message
    assert "arn:aws:s3:::b" in error.message
    assert error.remediation.startswith("Grant s3:GetEncryptionConfiguration ")


def test_classify_without_a_named_action_still_says_what_to_do() -> None:
    exc = client_error("UnauthorizedOperation", "You are not authorized to perform this op.", 403)
    error = ADAPTER.classify(exc, [])
    assert error.category is ErrorCategory.PERMISSION_DENIED
    assert error.remediation.startswith("Grant the missing permission")


@pytest.mark.parametrize(
    ("exc", "category"),
    [
        (NoCredentialsError(), ErrorCategory.INVALID_CREDENTIALS),
        (SSLError(endpoint_url="https://x", error=OSError("bad cert")), ErrorCategory.UNKNOWN),
        (RuntimeError("boom"), ErrorCategory.UNKNOWN),
    ],
)
def test_classify_non_client_errors(exc: BaseException, category: ErrorCategory) -> None:
    error = ADAPTER.classify(exc, [])
    assert error.category is category and error.code == type(exc).__name__
    if category is ErrorCategory.UNKNOWN:
        assert error.remediation == "Contact support with the error details."


def test_classify_passes_already_classified_errors_through() -> None:
    known = CloudError(ErrorCategory.TEMPORARY, "X", "m", "r")
    assert ADAPTER.classify(CloudCallError(known), []) is known


def test_classify_redacts_secrets_and_masks_key_ids() -> None:
    secret = "Zx9/" + "q" * 32 + "+Ab1"
    key_id = "AKIA" + "ABCDEFGH12345678"
    exc = client_error(
        "SignatureDoesNotMatch",
        f"<AWSAccessKeyId>{key_id}</AWSAccessKeyId> secret {secret} token=abc.def",
        403,
    )
    error = ADAPTER.classify(exc, [secret])
    for value in astuple(error):
        assert secret not in str(value) and key_id not in str(value)
    assert "AKIA…5678" in error.message


# --------------------------------------------------------------------------------------------
# parse_credentials (pure)
# --------------------------------------------------------------------------------------------

GOOD_ID = "AKIA" + "ABCDEFGHIJKLMNOP"
GOOD_SECRET = "abcdEFGH/+" * 4


def test_parse_strips_whitespace() -> None:
    creds = ADAPTER.parse_credentials(
        {
            "access_key_id": f"  {GOOD_ID}\n",
            "secret_access_key": f"\t{GOOD_SECRET} ",
            "role_arn": " arn:aws:iam::123456789012:role/path/Scanner ",
            "external_id": " ext-1 ",
        }
    )
    assert creds == AwsCredentials(
        GOOD_ID, GOOD_SECRET, "arn:aws:iam::123456789012:role/path/Scanner", "ext-1"
    )
    assert GOOD_SECRET not in repr(creds)


def test_parse_optional_fields_default_to_none() -> None:
    creds = ADAPTER.parse_credentials(
        {"access_key_id": GOOD_ID, "secret_access_key": GOOD_SECRET, "role_arn": "  "}
    )
    assert (creds.role_arn, creds.external_id) == (None, None)


def test_parse_reports_every_field_at_once() -> None:
    with pytest.raises(InputError) as caught:
        ADAPTER.parse_credentials({"access_key_id": " ", "secret_access_key": ""})
    assert caught.value.fields == {
        "access_key_id": "Enter the access key ID.",
        "secret_access_key": "Enter the secret access key.",
    }


@pytest.mark.parametrize(
    ("raw", "field", "expected"),
    [
        ({"access_key_id": "AKIA123"}, "access_key_id", "20 characters starting with AKIA"),
        ({"access_key_id": GOOD_ID.lower()}, "access_key_id", "20 characters starting with AKIA"),
        ({"access_key_id": "AIDA" + GOOD_ID[4:]}, "access_key_id", "starting with AKIA"),
        ({"access_key_id": "ASIA" + GOOD_ID[4:]}, "access_key_id", "temporary key"),
        ({"secret_access_key": GOOD_SECRET[:-1]}, "secret_access_key", "40 characters"),
        ({"secret_access_key": GOOD_SECRET + "x"}, "secret_access_key", "this one has 41"),
        ({"secret_access_key": "!" * 40}, "secret_access_key", "only letters, digits"),
        ({"role_arn": "arn:aws:iam::12345:role/x"}, "role_arn", "arn:aws:iam::123456789012:role/"),
        ({"role_arn": "arn:aws:iam::123456789012:user/x"}, "role_arn", "role/"),
        ({"external_id": "abc"}, "external_id", "only used together with a role ARN"),
        (
            {"role_arn": "arn:aws:iam::123456789012:role/x", "external_id": "a"},
            "external_id",
            "2 to 1224 characters",
        ),
        (
            {"role_arn": "arn:aws:iam::123456789012:role/x", "external_id": "bad id!"},
            "external_id",
            "2 to 1224 characters",
        ),
        (
            {"role_arn": "arn:aws:iam::123456789012:role/x", "external_id": "e" * 1225},
            "external_id",
            "2 to 1224 characters",
        ),
    ],
)
def test_parse_names_the_bad_field(raw: dict[str, str], field: str, expected: str) -> None:
    values = {"access_key_id": GOOD_ID, "secret_access_key": GOOD_SECRET, **raw}
    with pytest.raises(InputError) as caught:
        ADAPTER.parse_credentials(values)
    assert set(caught.value.fields) == {field}
    assert expected in caught.value.fields[field]
    assert expected in caught.value.message or field in caught.value.fields
    everything = caught.value.message + " ".join(caught.value.fields.values())
    if field == "secret_access_key":
        assert values["secret_access_key"] not in everything


def test_parse_accepts_gov_and_china_role_arns() -> None:
    for partition in ("aws-us-gov", "aws-cn"):
        arn = f"arn:{partition}:iam::123456789012:role/Scanner"
        creds = ADAPTER.parse_credentials(
            {"access_key_id": GOOD_ID, "secret_access_key": GOOD_SECRET, "role_arn": arn}
        )
        assert creds.role_arn == arn
