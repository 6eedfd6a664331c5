"""AWS: credential parsing, live validation, scan sessions, job planning, error classification.

Every boto3 client is built here with the connector's own keys only (never ambient
credentials; the machine's own identity only for a connector whose `identity` is "machine"),
the configured endpoint/CA bundle/timeouts, botocore's *standard* retry mode
bounded by `CloudEndpoints.max_attempts`, and two event hooks: a cancellation checkpoint before
every call (and before every retry attempt) and an error annotation that records which
service/operation/region failed, so `classify` can name the missing IAM action.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import boto3
import botocore.session
from botocore.config import Config
from botocore.credentials import (
    CredentialProvider,
    CredentialResolver,
    DeferredRefreshableCredentials,
)
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    ReadTimeoutError,
    SSLError,
)
from botocore.exceptions import (
    ConnectionError as BotoConnectionError,
)

from bot.domain import (
    CancelToken,
    CloudCallError,
    CloudEndpoints,
    CloudError,
    Credentials,
    DiscoveredTarget,
    ErrorCategory,
    ValidationResult,
    mask,
)
from bot.errors import InputError
from bot.providers._pool import CallPool
from bot.providers.aws.credentials import (
    ACCESS_KEY,
    DEFAULT_MEMBER_ROLE,
    IDENTITIES,
    MACHINE,
    AwsCredentials,
)
from bot.providers.aws.units import global_units, is_global
from bot.redaction import redact, redact_one_line

# --------------------------------------------------------------------------------------------
# Input shapes
# --------------------------------------------------------------------------------------------

_KEY_ID_RE = re.compile(r"^(AKIA|ASIA)[A-Z0-9]{16}$")
_SECRET_RE = re.compile(r"^[A-Za-z0-9/+]{40}$")
_ROLE_ARN_RE = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
_EXTERNAL_ID_RE = re.compile(r"^[\w+=,.@:/-]{2,1224}$")
_ANY_KEY_ID_RE = re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")

ROLE_SESSION_NAME = "cspm-bot"
_ROLE_NAME_RE = re.compile(r"^[\w+=,.@-]{1,64}$")
_ASSUME_ROLE_OPERATIONS = frozenset({"AssumeRole"})
# What AssumeRole answers for a role it cannot hand out, besides AccessDenied: a malformed or
# unknown role ARN, an external ID of the wrong shape, STS disabled in the region.
_ASSUME_ROLE_FAILURE_CODES = frozenset(
    {
        "ValidationError",
        "InvalidParameterValue",
        "MalformedPolicyDocument",
        "RegionDisabledException",
    }
)

# --------------------------------------------------------------------------------------------
# Error codes by category
# --------------------------------------------------------------------------------------------

_INVALID_CREDENTIAL_CODES = frozenset(
    {
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "AuthFailure",
        "InvalidAccessKeyId",
        "ExpiredToken",
        "ExpiredTokenException",
        "UnrecognizedClientException",
        "InvalidToken",
        "InvalidSignatureException",
        "IncompleteSignature",
        "MissingAuthenticationToken",
        "NoCredentialsError",
        "PartialCredentialsError",
    }
)
_PERMISSION_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "AuthorizationError",
        "Forbidden",
    }
)
_TEMPORARY_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "BandwidthLimitExceeded",
        "EC2ThrottledException",
        "PriorRequestNotComplete",
        "SlowDown",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "Unavailable",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)
# 403s that are not a missing permission: the host's clock is off (fix the clock, not IAM).
_CLOCK_SKEW_CODES = frozenset({"RequestTimeTooSkewed", "RequestExpired", "SignatureExpired"})
_TEMPORARY_EXCEPTIONS: tuple[type[BaseException], ...] = (
    EndpointConnectionError,
    ConnectTimeoutError,
    ReadTimeoutError,
    ConnectionClosedError,
)

# The IAM action behind an S3 operation is not always "s3:<Operation>".
_S3_ACTIONS = {
    "ListBuckets": "s3:ListAllMyBuckets",
    "GetBucketEncryption": "s3:GetEncryptionConfiguration",
    "GetPublicAccessBlock": "s3:GetBucketPublicAccessBlock",
    "HeadBucket": "s3:ListBucket",
    "ListObjects": "s3:ListBucket",
    "ListObjectsV2": "s3:ListBucket",
}

_ACTION_PATTERNS = (
    re.compile(r"not authorized to perform:?\s*([a-z0-9-]+:[A-Za-z0-9*]+)"),
    re.compile(r"no [\w-]+ policy allows the ([a-z0-9-]+:[A-Za-z0-9*]+) action"),
)
_RESOURCE_PATTERN = re.compile(r"\bon resource:?\s*(\S+)")
_EMBEDDED_XML_ERROR = re.compile(r"<Code>([^<]+)</Code>(?:\s*<Message>([^<]*)</Message>)?", re.S)

REMEDIATION_INVALID = (
    "Replace the connector with new credentials (saved credentials cannot be edited)."
)
REMEDIATION_TEMPORARY = "Re-run the scan; contact support if it keeps failing."
REMEDIATION_UNKNOWN = "Contact support with the error details."
REMEDIATION_ASSUME_ROLE = (
    "Fix the role's trust policy (it must trust the connector's identity) or the external ID "
    "the project uses, then re-run the scan."
)


# --------------------------------------------------------------------------------------------
# Client construction
# --------------------------------------------------------------------------------------------


def _client_config(endpoints: CloudEndpoints, region: str) -> Config:
    """The botocore config every client shares: region, bounded standard retries, timeouts."""
    return Config(
        region_name=region,
        # botocore's "max_attempts" counts retries only; "total_max_attempts" includes the
        # first attempt, which is what `CloudEndpoints.max_attempts` means.
        retries={"total_max_attempts": max(1, endpoints.max_attempts), "mode": "standard"},
        connect_timeout=endpoints.timeout_seconds,
        read_timeout=endpoints.timeout_seconds,
        user_agent_extra="cspm-bot",
        # a collector's pool may use the client from `concurrency` threads at once
        max_pool_connections=max(10, endpoints.concurrency),
        # Custom endpoints (proxies, stand-ins, private gateways) rarely serve virtual hosts.
        s3={"addressing_style": "path"} if endpoints.optional("aws_endpoint_url") else None,
        # ...nor per-account host names (S3 Control prefixes the account id to the host).
        inject_host_prefix=not endpoints.optional("aws_endpoint_url"),
    )


def _core_session() -> botocore.session.Session:
    """A botocore session that ignores AWS_PROFILE/AWS_DEFAULT_PROFILE: connectors never use
    the host's profiles, and a profile missing on this host must not break every call."""
    return botocore.session.Session(session_vars={"profile": (None, None, None, None)})


def _require_keys(creds: AwsCredentials) -> None:
    """Refuse empty keys: boto3 treats "" as "not given" and would fall back to the host's
    own credentials (environment, profile, instance role). Only a connector created with the
    machine identity uses those."""
    if creds.uses_machine_identity:
        return
    if not creds.access_key_id.strip() or not creds.secret_access_key.strip():
        raise NoCredentialsError()


def _base_session(creds: AwsCredentials, endpoints: CloudEndpoints) -> boto3.session.Session:
    """A boto3 session holding exactly the connector's key, never ambient credentials; for a
    machine-identity connector (and only for one), boto3's default chain without profiles."""
    _require_keys(creds)
    if creds.uses_machine_identity:
        return boto3.session.Session(
            botocore_session=_core_session(), region_name=endpoints.url("aws_default_region")
        )
    return boto3.session.Session(
        botocore_session=_core_session(),
        aws_access_key_id=creds.access_key_id,
        aws_secret_access_key=creds.secret_access_key,
        region_name=endpoints.url("aws_default_region"),
    )


def _annotate_errors(service: str, region: str) -> Callable[..., None]:
    """An `after-call` hook recording which call failed, for `classify`."""

    def handler(http_response: Any = None, parsed: Any = None, model: Any = None, **_: Any) -> None:
        status = getattr(http_response, "status_code", 200)
        if status >= 300 and isinstance(parsed, dict) and model is not None:
            parsed.setdefault(
                "CspmCall", {"service": service, "operation": model.name, "region": region}
            )

    return handler


def strip_account_host(request: Any, **_: Any) -> None:
    """S3 Control prefixes the account id to the endpoint's host (`123….s3-control…`); a
    custom endpoint (proxy, stand-in) serves the plain host, so drop the prefix before signing."""
    parts = urlsplit(request.url)
    head, dot, rest = parts.netloc.partition(".")
    if dot and head.isdigit() and len(head) == 12:
        request.url = urlunsplit(parts._replace(netloc=rest))


def _new_client(
    session: boto3.session.Session,
    service: str,
    region: str,
    endpoints: CloudEndpoints,
    cancel: CancelToken | None = None,
) -> Any:
    """A boto3 client with our config and hooks (cancellation, error annotation)."""
    client = session.client(
        service,  # type: ignore[call-overload]
        region_name=region,
        endpoint_url=endpoints.optional("aws_endpoint_url"),
        verify=endpoints.ca_bundle or True,
        config=_client_config(endpoints, region),
    )
    events = client.meta.events
    signing_name = client.meta.service_model.signing_name or service
    if service == "s3control" and endpoints.optional("aws_endpoint_url"):
        events.register("before-sign.s3-control", strip_account_host)
    events.register("after-call", _annotate_errors(signing_name, region))
    if cancel is not None:

        def checkpoint(**_: Any) -> None:
            cancel.checkpoint()

        # before-call: once per API call; before-send: also before every retry attempt.
        events.register("before-call", checkpoint)
        events.register("before-send", checkpoint)
    return client


class _AssumeRoleProvider(CredentialProvider):  # type: ignore[misc]
    """Credentials for `role_arn`, fetched lazily with the connector's key and refreshed
    by botocore before they expire (long scans outlive one STS session)."""

    METHOD = "cspm-assume-role"
    CANONICAL_NAME = "cspm-assume-role"

    def __init__(
        self,
        creds: AwsCredentials,
        endpoints: CloudEndpoints,
        cancel: CancelToken | None,
    ) -> None:
        super().__init__()
        self._creds = creds
        self._endpoints = endpoints
        self._cancel = cancel

    def _fetch(self) -> dict[str, str]:
        base = _base_session(self._creds, self._endpoints)
        sts = _new_client(
            base, "sts", self._endpoints.url("aws_default_region"), self._endpoints, self._cancel
        )
        got = _assume_role(sts, self._creds)
        return {
            "access_key": got["AccessKeyId"],
            "secret_key": got["SecretAccessKey"],
            "token": got["SessionToken"],
            "expiry_time": got["Expiration"].isoformat(),
        }

    def load(self) -> DeferredRefreshableCredentials:
        """Credentials that call AssumeRole on first use and again before expiry."""
        return DeferredRefreshableCredentials(refresh_using=self._fetch, method=self.METHOD)


def _assume_role(sts: Any, creds: AwsCredentials) -> dict[str, Any]:
    """Call STS AssumeRole for the connector's role; returns the `Credentials` mapping."""
    kwargs: dict[str, Any] = {
        "RoleArn": creds.role_arn,
        "RoleSessionName": creds.session_name or ROLE_SESSION_NAME,
    }
    if creds.external_id:
        kwargs["ExternalId"] = creds.external_id
    try:
        return dict(sts.assume_role(**kwargs)["Credentials"])
    except ClientError as exc:  # name the role in the error (AWS does not always)
        exc.response.setdefault("CspmRole", str(creds.role_arn))
        raise


def _role_session(
    creds: AwsCredentials, endpoints: CloudEndpoints, cancel: CancelToken | None
) -> boto3.session.Session:
    """A boto3 session whose only credential source is AssumeRole with the connector's key."""
    core = _core_session()
    core.register_component(
        "credential_provider", CredentialResolver([_AssumeRoleProvider(creds, endpoints, cancel)])
    )
    return boto3.session.Session(
        botocore_session=core, region_name=endpoints.url("aws_default_region")
    )


# --------------------------------------------------------------------------------------------
# Session for the checks
# --------------------------------------------------------------------------------------------


T = TypeVar("T")
R = TypeVar("R")
CallListener = Callable[[str, str, str, Mapping[str, Any]], None]
"""(service, operation, region, parameters), told before every API call of a session."""


class AwsSession:
    """An authenticated scan session: cached clients whose every call checks the cancel token,
    the collectors' shared results (`collected`) and their bounded call pool (`map`).

    One job opens one session, so what is collected is shared by the checks of one unit.
    Thread-safe: jobs for different regions may share one session.
    """

    def __init__(
        self, creds: AwsCredentials, endpoints: CloudEndpoints, cancel: CancelToken
    ) -> None:
        self.endpoints = endpoints
        self.cancel = cancel
        self._secrets = creds.secret_values()
        if creds.role_arn:
            _require_keys(creds)  # before any call: an empty key never reaches the chain
            self._boto = _role_session(creds, endpoints, cancel)
        else:
            self._boto = _base_session(creds, endpoints)
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()
        self._identity_lock = threading.Lock()
        self._identity: dict[str, str] | None = None
        self._collected: dict[str, Any] = {}
        self._collect_locks: dict[str, threading.Lock] = {}
        self._pool = CallPool(endpoints.concurrency, cancel, name="cspm-aws-call")
        self._calls: Counter[tuple[str, str, str]] = Counter()
        self._listeners: list[CallListener] = []

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """`[fn(item) for item in items]` with up to `endpoints.concurrency` calls at once, in
        order (see `bot.providers._pool`): the per-resource calls of a collector."""
        return self._pool.map(fn, items)

    def close(self) -> None:
        """Stop the session's call pool (the engine calls this when the job ends)."""
        self._pool.close()

    def calls(self) -> Counter[tuple[str, str, str]]:
        """API calls made so far by (service, operation, region), first attempts only."""
        with self._lock:
            return Counter(self._calls)

    def add_call_listener(self, listener: CallListener) -> None:
        """Tell `listener` about every later API call (tests count identical requests)."""
        with self._lock:
            self._listeners.append(listener)

    def _recorder(self, service: str, region: str) -> Callable[..., None]:
        def record(model: Any = None, params: Any = None, **_: Any) -> None:
            operation = str(getattr(model, "name", "") or "")
            with self._lock:
                self._calls[(service, operation, region)] += 1
                listeners = list(self._listeners)
            for listener in listeners:
                listener(service, operation, region, dict(params or {}))

        return record

    def collected(self, key: str, collect: Callable[[], Any]) -> Any:
        """What `collect()` returns, called once per session for `key` (e.g. the bucket list):
        checks that need the same listing share one set of cloud calls. A failed collection
        is not kept, so the next check that needs it tries again."""
        with self._lock:
            if key in self._collected:
                return self._collected[key]
            lock = self._collect_locks.setdefault(key, threading.Lock())
        with lock:  # one caller collects; the others wait for its result
            with self._lock:
                if key in self._collected:
                    return self._collected[key]
            value = collect()
            with self._lock:
                self._collected[key] = value
            return value

    @property
    def default_region(self) -> str:
        """The region used for global services and for `region=None`."""
        return self.endpoints.url("aws_default_region")

    def secret_values(self) -> list[str]:
        """The connector's secret values, for `classify`/redaction."""
        return list(self._secrets)

    def client(self, service: str, region: str | None = None) -> Any:
        """The boto3 client for `service` in `region` (a global unit or None = the default
        region)."""
        resolved = self.default_region if region is None or is_global(region) else str(region)
        key = (service, resolved)
        with self._lock:
            if key not in self._clients:
                client = _new_client(self._boto, service, resolved, self.endpoints, self.cancel)
                client.meta.events.register(
                    "before-parameter-build", self._recorder(service, resolved)
                )
                self._clients[key] = client
            return self._clients[key]

    def _caller(self) -> dict[str, str]:
        with self._identity_lock:  # one STS call even when region jobs ask at once
            if self._identity is None:
                got = self.client("sts").get_caller_identity()
                self._identity = {"Account": str(got["Account"]), "Arn": str(got["Arn"])}
            return self._identity

    @property
    def account_id(self) -> str:
        """The AWS account id, learned from STS on first use."""
        return self._caller()["Account"]

    @property
    def caller_arn(self) -> str:
        """The ARN of the identity the scan runs as."""
        return self._caller()["Arn"]

    @property
    def partition(self) -> str:
        """`aws`, `aws-us-gov`, `aws-cn`…: taken from the caller's ARN."""
        return self.caller_arn.split(":", 2)[1]

    def available_regions(self) -> list[str]:
        """The regions enabled for the account (EC2 DescribeRegions), sorted."""
        got = self.client("ec2").describe_regions()
        return sorted(r["RegionName"] for r in got.get("Regions", []))


# --------------------------------------------------------------------------------------------
# Classification
# --------------------------------------------------------------------------------------------


def _client_error_parts(exc: ClientError) -> tuple[str, str, int, dict[str, str]]:
    """(code, message, http status, call context) of a botocore ClientError."""
    response: dict[str, Any] = getattr(exc, "response", {}) or {}
    error = response.get("Error") or {}
    code = str(error.get("Code") or "")
    message = str(error.get("Message") or "")
    status = int((response.get("ResponseMetadata") or {}).get("HTTPStatusCode") or 0)
    # Some endpoints answer a JSON-protocol call with an XML error document: botocore then
    # reports the HTTP status as the code and the whole document as the message.
    if (not code or code.isdigit()) and "<Code>" in message:
        found = _EMBEDDED_XML_ERROR.search(message)
        if found:
            code = found.group(1).strip()
            message = (found.group(2) or "").strip() or message
    if not code and status:
        code = str(status)
    call = dict(response.get("CspmCall") or {})
    call.setdefault("operation", getattr(exc, "operation_name", "") or "")
    return code, message, status, call


def _iam_action(call: Mapping[str, str]) -> str:
    """The IAM action a failed call needed, e.g. `iam:GetAccountSummary`."""
    service, operation = call.get("service", ""), call.get("operation", "")
    if not service or not operation:
        return ""
    if service == "s3":
        return _S3_ACTIONS.get(operation, f"s3:{operation}")
    return f"{service}:{operation}"


def _category(code: str, status: int, exc: BaseException) -> ErrorCategory:
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return ErrorCategory.INVALID_CREDENTIALS
    if isinstance(exc, _TEMPORARY_EXCEPTIONS):
        return ErrorCategory.TEMPORARY
    if isinstance(exc, SSLError):
        return ErrorCategory.UNKNOWN  # a certificate problem does not go away by retrying
    if isinstance(exc, BotoConnectionError):
        return ErrorCategory.TEMPORARY
    if code in _INVALID_CREDENTIAL_CODES:
        return ErrorCategory.INVALID_CREDENTIALS
    if code in _PERMISSION_CODES:
        return ErrorCategory.PERMISSION_DENIED
    if code in _TEMPORARY_CODES or status >= 500:
        return ErrorCategory.TEMPORARY
    if code in _CLOCK_SKEW_CODES:
        return ErrorCategory.UNKNOWN
    if status == 403:
        return ErrorCategory.PERMISSION_DENIED
    return ErrorCategory.UNKNOWN


def _is_assume_role_failure(
    category: ErrorCategory, code: str, message: str, call: Mapping[str, str]
) -> bool:
    """AssumeRole refused a role the connector's identity asked for: denied by the role's
    trust policy or the key's policy, a wrong external ID, a malformed or unknown role.
    Rejected keys stay invalid_credentials, throttling stays temporary."""
    if category in (ErrorCategory.INVALID_CREDENTIALS, ErrorCategory.TEMPORARY):
        return False
    asked = call.get("operation") in _ASSUME_ROLE_OPERATIONS or "sts:AssumeRole" in message
    return asked and (
        category is ErrorCategory.PERMISSION_DENIED or code in _ASSUME_ROLE_FAILURE_CODES
    )


def _mask_key_ids(text: str) -> str:
    return _ANY_KEY_ID_RE.sub(lambda m: mask(m.group(0)), text)


def classify_exception(exc: BaseException, secrets: Sequence[str]) -> CloudError:
    """Map any exception from an AWS call to a classified, redacted `CloudError`."""
    if isinstance(exc, CloudCallError):
        return exc.error
    secret_list = [s for s in secrets if s]
    if isinstance(exc, ClientError):
        code, provider_message, status, call = _client_error_parts(exc)
    else:
        code, provider_message, status, call = type(exc).__name__, str(exc), 0, {}
    category = _category(code, status, exc)
    if _is_assume_role_failure(category, code, provider_message, call):
        category = ErrorCategory.ASSUME_ROLE_FAILED

    def clean(text: str) -> str:
        return redact_one_line(_mask_key_ids(text), secret_list)

    missing: tuple[str, ...] = ()  # the IAM action a permission_denied error names
    where = ""  # e.g. " on iam GetAccountSummary in us-east-1"
    if call.get("operation"):
        where = f" on {call.get('service', 'aws')} {call['operation']}"
        where += f" in {call['region']}" if call.get("region") else ""
    said = provider_message or str(exc) or code

    if category is ErrorCategory.INVALID_CREDENTIALS:
        message = f"AWS rejected the credentials ({code}): {said}"
        remediation = REMEDIATION_INVALID
    elif category is ErrorCategory.PERMISSION_DENIED:
        action = next(
            (m.group(1) for p in _ACTION_PATTERNS if (m := p.search(provider_message))), ""
        ) or _iam_action(call)
        missing = (clean(action),) if action else ()
        resource_match = _RESOURCE_PATTERN.search(provider_message)
        resource = resource_match.group(1) if resource_match else ""
        if action:
            message = f"Permission denied: the scanner's IAM identity may not call {action}"
            message += f" on {resource}." if resource and resource != "*" else "."
        else:
            message = f"Permission denied{where} ({code}): {said}"
        if action:
            remediation = (
                f"Grant {action} to the scanner's IAM identity "
                "(the AWS managed SecurityAudit policy covers every check)."
            )
        else:
            remediation = (
                "Grant the missing permission to the scanner's IAM identity "
                "(the AWS managed SecurityAudit policy covers every check)."
            )
    elif category is ErrorCategory.ASSUME_ROLE_FAILED:
        resource_match = _RESOURCE_PATTERN.search(provider_message)
        role = str((getattr(exc, "response", None) or {}).get("CspmRole") or "")
        role = role or (resource_match.group(1) if resource_match else "the project's role")
        message = f"The connector's identity could not assume {role} ({code}): {said}"
        remediation = REMEDIATION_ASSUME_ROLE
    elif category is ErrorCategory.TEMPORARY:
        if isinstance(exc, BotoCoreError):
            message = f"Could not reach AWS ({code}): {said}"
        else:
            message = f"AWS throttled or failed temporarily{where} ({code}): {said}"
        remediation = REMEDIATION_TEMPORARY
    else:
        message = f"Unexpected AWS error{where} ({code}): {said}"
        remediation = REMEDIATION_UNKNOWN

    detail_lines = [f"{type(exc).__name__}: {exc}"]
    if call:
        detail_lines.append("call: " + ", ".join(f"{k}={v}" for k, v in sorted(call.items()) if v))
    if status:
        detail_lines.append(f"http status: {status}")
    detail = redact(_mask_key_ids("\n".join(detail_lines)), secret_list)[:4000]
    return CloudError(
        category=category,
        code=clean(code)[:100] or "Unknown",
        message=clean(message),
        remediation=remediation,
        detail=detail,
        missing_permissions=missing,
    )


# --------------------------------------------------------------------------------------------
# Input parsing
# --------------------------------------------------------------------------------------------


def _field(raw: Mapping[str, str], name: str) -> str:
    value = raw.get(name)
    return value.strip() if isinstance(value, str) else ""


def _key_errors(key_id: str, secret: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not key_id:
        errors["access_key_id"] = "Enter the access key ID."
    elif key_id.startswith("ASIA") and _KEY_ID_RE.match(key_id):
        errors["access_key_id"] = (
            "This is a temporary key (ASIA…) that needs a session token and expires: "
            "create a long-term access key (AKIA…) for the scanner."
        )
    elif not _KEY_ID_RE.match(key_id):
        errors["access_key_id"] = (
            "An access key ID is 20 characters starting with AKIA, "
            "upper-case letters and digits only."
        )

    if not secret:
        errors["secret_access_key"] = "Enter the secret access key."
    elif len(secret) != 40:
        errors["secret_access_key"] = (
            f"A secret access key is 40 characters long; this one has {len(secret)}."
        )
    elif not _SECRET_RE.match(secret):
        errors["secret_access_key"] = (
            "A secret access key contains only letters, digits, '/' and '+'."
        )
    return errors


def role_errors(role_arn: str, external_id: str, prefix: str = "") -> dict[str, str]:
    """Problems of a role ARN and its external ID (fields named with `prefix`)."""
    errors: dict[str, str] = {}
    if role_arn and not _ROLE_ARN_RE.match(role_arn):
        errors[prefix + "role_arn"] = (
            "A role ARN looks like arn:aws:iam::123456789012:role/CspmScanner "
            "(12-digit account id, then role/ and the role name)."
        )
    if external_id:
        if not role_arn:
            errors[prefix + "external_id"] = "An external ID is only used together with a role ARN."
        elif not _EXTERNAL_ID_RE.match(external_id):
            errors[prefix + "external_id"] = (
                "An external ID is 2 to 1224 characters: letters, digits and _+=,.@:/-"
            )
    return errors


def parse_aws_credentials(raw: Mapping[str, str]) -> AwsCredentials:
    """Check raw form/CLI input; raise `InputError` listing every bad field at once.

    `identity` is "access_key" (the default: the key fields are required) or "machine" (the
    machine's own identity; no key fields). Nothing else ever uses the machine's identity."""
    key_id = _field(raw, "access_key_id")
    secret = _field(raw, "secret_access_key")
    role_arn = _field(raw, "role_arn")
    external_id = _field(raw, "external_id")
    identity = _field(raw, "identity").lower() or ACCESS_KEY
    member_role = _field(raw, "member_role_name")
    member_external_id = _field(raw, "member_external_id")
    errors: dict[str, str] = {}

    if identity not in IDENTITIES:
        errors["identity"] = 'The identity is "access_key" (the default) or "machine".'
    elif identity == MACHINE:
        if key_id or secret:
            errors["access_key_id"] = (
                "A machine-identity connector uses this machine's own credentials: leave the "
                "access key fields empty."
            )
    else:
        errors.update(_key_errors(key_id, secret))
    errors.update(role_errors(role_arn, external_id))
    if member_role and not _ROLE_NAME_RE.match(member_role):
        errors["member_role_name"] = (
            "A role name is 1 to 64 characters: letters, digits and _+=,.@- (not an ARN)."
        )
    if member_external_id and not _EXTERNAL_ID_RE.match(member_external_id):
        errors["member_external_id"] = (
            "An external ID is 2 to 1224 characters: letters, digits and _+=,.@:/-"
        )

    if errors:
        raise InputError(
            "Some AWS credential fields need fixing: " + " ".join(errors.values()), fields=errors
        )
    return AwsCredentials(
        access_key_id=key_id if identity != MACHINE else "",
        secret_access_key=secret if identity != MACHINE else "",
        role_arn=role_arn or None,
        external_id=external_id or None,
        identity=identity,
        member_role_name=member_role or None,
        member_external_id=member_external_id or None,
    )


# --------------------------------------------------------------------------------------------
# The adapter
# --------------------------------------------------------------------------------------------


def _require_aws(creds: Credentials) -> AwsCredentials:
    if not isinstance(creds, AwsCredentials):
        raise TypeError(f"AWS adapter needs AwsCredentials, got {type(creds).__name__}")
    return creds


class AwsAdapter:
    """The `CloudAdapter` for AWS."""

    provider = "aws"

    def parse_credentials(self, raw: Mapping[str, str]) -> AwsCredentials:
        """Parse `access_key_id`, `secret_access_key`, optional `role_arn`/`external_id`."""
        return parse_aws_credentials(raw)

    def validate(self, creds: Credentials, endpoints: CloudEndpoints) -> ValidationResult:
        """STS GetCallerIdentity (after AssumeRole when a role is set). Never raises for
        cloud failures: they come back classified in `error`."""
        aws = _require_aws(creds)
        secrets = aws.secret_values()
        try:
            session = _base_session(aws, endpoints)
            region = endpoints.url("aws_default_region")
            if aws.role_arn:
                got = _assume_role(_new_client(session, "sts", region, endpoints), aws)
                secrets += [got["SecretAccessKey"], got["SessionToken"]]
                session = boto3.session.Session(
                    botocore_session=_core_session(),
                    aws_access_key_id=got["AccessKeyId"],
                    aws_secret_access_key=got["SecretAccessKey"],
                    aws_session_token=got["SessionToken"],
                    region_name=region,
                )
            identity = _new_client(session, "sts", region, endpoints).get_caller_identity()
        except Exception as exc:  # every cloud failure is reported, never raised
            return ValidationResult(ok=False, error=self.classify(exc, secrets))
        return ValidationResult(
            ok=True, account_id=str(identity["Account"]), account_label=str(identity["Arn"])
        )

    def open_session(
        self, creds: Credentials, endpoints: CloudEndpoints, cancel: CancelToken
    ) -> AwsSession:
        """An `AwsSession` for the checks; no network call happens until the first check."""
        return AwsSession(_require_aws(creds), endpoints, cancel)

    def plan_units(self, session: Any, scope: Sequence[str]) -> list[str]:
        """`["global:cloudtrail", "global:iam", "global:s3", *regions]`: the account-wide
        units (`bot.providers.aws.units`), then the scope's regions or every enabled region,
        sorted."""
        if scope:
            regions = [r.strip() for r in scope if r.strip() and not is_global(r.strip())]
        else:
            regions = session.available_regions()
        return [*global_units(), *sorted(set(regions))]

    def classify(self, exc: BaseException, secrets: Sequence[str]) -> CloudError:
        """Classify and redact any exception raised by an AWS call."""
        return classify_exception(exc, secrets)

    def discover(
        self, creds: Credentials, endpoints: CloudEndpoints, parent: str | None = None
    ) -> list[DiscoveredTarget]:
        """The organization's active member accounts (AWS Organizations ListAccounts, or
        ListAccountsForParent for an OU or root id in `parent`), with the connector's identity
        (its own role, if it has one). Each target assumes `member_role_name` (default
        OrganizationAccountAccessRole) with `member_external_id`; the connector's own account
        is left out (a project without a target scans it)."""
        aws = _require_aws(creds)
        session = AwsSession(aws, endpoints, CancelToken())
        try:
            own, partition = session.account_id, session.partition
            role_name = aws.member_role_name or DEFAULT_MEMBER_ROLE
            organizations = session.client("organizations")
            if parent:
                pages = organizations.get_paginator("list_accounts_for_parent").paginate(
                    ParentId=parent
                )
            else:
                pages = organizations.get_paginator("list_accounts").paginate()
            found: dict[str, DiscoveredTarget] = {}
            for page in pages:
                for account in page.get("Accounts") or []:
                    account_id = str(account.get("Id") or "")
                    if not account_id or account_id == own:
                        continue
                    if str(account.get("Status") or "ACTIVE") != "ACTIVE":
                        continue
                    target = {
                        "account_id": account_id,
                        "role_arn": f"arn:{partition}:iam::{account_id}:role/{role_name}",
                    }
                    if aws.member_external_id:
                        target["external_id"] = aws.member_external_id
                    name = str(account.get("Name") or account_id)
                    found[account_id] = DiscoveredTarget(account_id, name, target)
        finally:
            session.close()
        return [found[k] for k in sorted(found)]


ADAPTER = AwsAdapter()
