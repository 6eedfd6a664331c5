"""Azure adapter: service-principal credentials, live validation, ARM sessions, error classes.

Authentication goes through azure-identity's `ClientSecretCredential` (MSAL underneath) against
the configured authority host (public cloud, a sovereign cloud or a test stand-in); resource
reads go straight to Azure Resource Manager over `requests` with a bearer token and a bounded
retry budget. Every failure is turned into a redacted `CloudError` by `AzureAdapter.classify`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from functools import partial
from types import TracebackType
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.identity import ClientSecretCredential

from bot.domain import (
    CancelToken,
    CloudCallError,
    CloudEndpoints,
    CloudError,
    Credentials,
    DiscoveredTarget,
    ErrorCategory,
    ValidationResult,
)
from bot.errors import InputError
from bot.providers._errors import cloud_error, remediations, status_phrase
from bot.providers._http import BACKOFF_FACTOR, retrying_session, verify_setting
from bot.providers.azure.credentials import AzureCredentials

SUBSCRIPTIONS_API_VERSION = "2022-12-01"
MAX_PAGES = 1000  # a nextLink loop guard

REMEDIATION = remediations(
    "Assign the Reader role to the app registration on each subscription to scan, "
    "then re-run the scan."
)

# AADSTS codes that mean "these credentials cannot work": the user must replace them.
_AADSTS_INVALID = {
    7000215: "Azure rejected the client secret (a wrong value, or the secret's ID was entered "
    "instead of its value)",
    7000222: "The client secret has expired",
    700016: "No application with this client ID exists in the tenant",
    90002: "The tenant was not found: check the tenant (directory) ID",
    900023: "The tenant ID is not a valid tenant identifier",
    7000112: "The application is disabled",
    7000229: "The application has no service principal in the tenant",
    700023: "The application is not allowed to sign in to this tenant",
}
_AADSTS_PERMISSION = {
    53003: "A Conditional Access policy blocks the application's sign-in",
}
_AADSTS_TEMPORARY = {
    90033: "Microsoft Entra ID had a transient error",
    50196: "Microsoft Entra ID throttled repeated sign-ins",
}
_AADSTS_RE = re.compile(r"AADSTS(\d{5,8})")
_MSAL_HTTP_RE = re.compile(r"HTTP Error: (\d{3})")  # msal's own MsalServiceError text
_ACTION_RE = re.compile(r"perform action '([^']+)'")
_SCOPE_RE = re.compile(r"over scope '([^']+)'")
_WS_RE = re.compile(r"\s")
_TRANSIENT = (
    ServiceRequestError,
    ServiceResponseError,
    requests.exceptions.Timeout,
    requests.exceptions.ConnectionError,
)


# --------------------------------------------------------------------------------------------
# Errors raised by the session
# --------------------------------------------------------------------------------------------


class ArmError(Exception):
    """An Azure Resource Manager call answered with an HTTP error status.

    `code` and `message` come from ARM's `{"error": {"code", "message"}}` body; they are
    not redacted here (`AzureAdapter.classify` does that).
    """

    def __init__(self, status: int, code: str, message: str, url: str = "") -> None:
        super().__init__(f"HTTP {status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.url = url

    @classmethod
    def from_response(cls, response: requests.Response) -> ArmError:
        """Build from an ARM error response, whatever its body looks like."""
        code, message = "", ""
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            code = str(body["error"].get("code") or "")
            message = str(body["error"].get("message") or "")
        if not code:
            code = status_phrase(response.status_code)
        if not message:
            message = (response.text or response.reason or "")[:1000]
        url = urlsplit(response.url)._replace(query="").geturl() if response.url else ""
        return cls(response.status_code, code, message, url)


# --------------------------------------------------------------------------------------------
# HTTP plumbing
# --------------------------------------------------------------------------------------------


def _credential(creds: AzureCredentials, endpoints: CloudEndpoints) -> ClientSecretCredential:
    """A NEW credential: MSAL caches failures per application object."""
    return ClientSecretCredential(
        creds.tenant_id,
        creds.client_id,
        creds.client_secret,
        authority=endpoints.url("azure_authority_host"),
        disable_instance_discovery=True,
        connection_verify=endpoints.ca_bundle or True,
        connection_timeout=endpoints.timeout_seconds,
        read_timeout=endpoints.timeout_seconds,
        retry_total=max(0, endpoints.max_attempts - 1),
        retry_backoff_factor=BACKOFF_FACTOR,
    )


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


class AzureSession:
    """An authenticated ARM reader for the checks of one scan.

    Every call checks the scan's cancel token first, adds a bearer token (refreshed by the
    credential as needed) and raises `ArmError` for HTTP errors.
    """

    def __init__(
        self, creds: AzureCredentials, endpoints: CloudEndpoints, cancel: CancelToken
    ) -> None:
        self.tenant_id = creds.tenant_id
        self.client_id = creds.client_id
        self.arm_url = endpoints.url("azure_arm_url").rstrip("/")
        self._creds = creds
        self._endpoints = endpoints
        self._scope = f"{self.arm_url}/.default"
        self._origin = _origin(self.arm_url)
        self._timeout = endpoints.timeout_seconds
        self._verify = verify_setting(endpoints)
        self._cancel = cancel
        self._credential = _credential(creds, endpoints)
        self._http = retrying_session(endpoints)
        self._subscriptions: list[dict[str, Any]] | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        """Release the HTTP connections."""
        self._http.close()
        self._credential.close()

    def __enter__(self) -> AzureSession:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- calls -------------------------------------------------------------------------------

    def _url(self, path: str) -> str:
        url = urljoin(self.arm_url + "/", path.lstrip("/")) if "://" not in path else path
        if _origin(url) != self._origin:
            # never send the bearer token anywhere but ARM (e.g. a forged nextLink)
            raise ArmError(0, "ForeignUrl", "ARM returned a link to another host", "")
        return url

    def _get(self, url: str, params: Mapping[str, str] | None) -> requests.Response:
        token = self._credential.get_token(self._scope).token
        return self._http.get(
            url,
            params=dict(params) if params else None,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=self._timeout,
            verify=self._verify,
        )

    def get_json(self, path: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        """GET an ARM path (or a same-host absolute URL such as a nextLink) and decode it.

        Raises `ScanCancelled`, `ArmError`, `ClientAuthenticationError` or a `requests`
        exception; `AzureAdapter.classify` understands all of them.
        """
        self._cancel.checkpoint()
        url = self._url(path)
        response = self._get(url, params)
        if response.status_code == 401:
            # the cached token may have been revoked: one retry with a fresh credential, so a
            # secret deleted mid-scan surfaces as its AADSTS code rather than a bare 401
            self._credential.close()
            self._credential = _credential(self._creds, self._endpoints)
            self._cancel.checkpoint()
            response = self._get(url, params)
        if response.status_code >= 400:
            raise ArmError.from_response(response)
        try:
            body = response.json()
        except ValueError:
            raise ArmError(
                response.status_code, "InvalidResponse", "ARM answered with non-JSON", url
            ) from None
        if not isinstance(body, dict):
            raise ArmError(response.status_code, "InvalidResponse", "ARM answered a non-object")
        return body

    def iter_pages(
        self, path: str, params: Mapping[str, str] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Yield every page of a list call, following `nextLink`."""
        page = self.get_json(path, params)
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            yield page
            next_link = page.get("nextLink")
            if not next_link or next_link in seen:
                return
            seen.add(next_link)
            page = self.get_json(str(next_link))

    def get_all(self, path: str, params: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
        """Every item (`value`) of a paged ARM list call."""
        items: list[dict[str, Any]] = []
        for page in self.iter_pages(path, params):
            items.extend(v for v in page.get("value") or [] if isinstance(v, dict))
        return items

    def subscriptions(self) -> list[dict[str, Any]]:
        """The subscriptions the service principal can read (cached), minus disabled ones."""
        if self._subscriptions is None:
            subs = self.get_all("/subscriptions", {"api-version": SUBSCRIPTIONS_API_VERSION})
            self._subscriptions = [
                s
                for s in subs
                if s.get("subscriptionId") and s.get("state") not in ("Disabled", "Deleted")
            ]
        return list(self._subscriptions)

    def subscription_ids(self) -> list[str]:
        """The ids of `subscriptions()`."""
        return [str(s["subscriptionId"]) for s in self.subscriptions()]


# --------------------------------------------------------------------------------------------
# Classification
# --------------------------------------------------------------------------------------------


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, its causes and contexts (MSAL hides the AADSTS text in a context)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(seen) < 12:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _chain_text(exc: BaseException) -> str:
    texts: list[str] = []
    for link in _chain(exc):
        text = getattr(link, "message", None) or str(link)
        if text and text not in texts:
            texts.append(str(text))
    return " | ".join(texts)


def _response_status(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        return status
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def _is_tls_failure(exc: BaseException) -> bool:
    return any(
        isinstance(link, requests.exceptions.SSLError) or "CERTIFICATE_VERIFY_FAILED" in str(link)
        for link in _chain(exc)
    )


_error = partial(cloud_error, defaults=REMEDIATION)


def _classify_aad(exc: BaseException, secrets: Sequence[str]) -> CloudError:
    text = _chain_text(exc)
    match = _AADSTS_RE.search(text)
    if match:
        number = int(match.group(1))
        code = f"AADSTS{number}"
        for table, category in (
            (_AADSTS_INVALID, ErrorCategory.INVALID_CREDENTIALS),
            (_AADSTS_PERMISSION, ErrorCategory.PERMISSION_DENIED),
            (_AADSTS_TEMPORARY, ErrorCategory.TEMPORARY),
        ):
            if number in table:
                remediation = (
                    "Ask an Entra ID administrator to exempt the scanner's service principal "
                    "from the policy, then re-run the scan."
                    if category is ErrorCategory.PERMISSION_DENIED
                    else None
                )
                message = f"Authentication failed: {table[number]} ({code})."
                if category is not ErrorCategory.INVALID_CREDENTIALS:
                    message = f"{table[number]} ({code})."
                return _error(category, code, message, secrets, text, remediation)
        return _error(
            ErrorCategory.UNKNOWN,
            code,
            f"Microsoft Entra ID refused the sign-in ({code}).",
            secrets,
            text,
        )
    if _is_tls_failure(exc):
        return _error(
            ErrorCategory.UNKNOWN,
            "TLSVerificationFailed",
            "The Microsoft Entra ID certificate could not be verified (check the CA bundle).",
            secrets,
            text,
        )
    for link in _chain(exc):
        if isinstance(link, _TRANSIENT):
            timeout = "timeout" in type(link).__name__.lower() or "timed out" in str(link)
            code = "Timeout" if timeout else type(link).__name__
            what = "timed out" if timeout else "could not be reached"
            return _error(
                ErrorCategory.TEMPORARY,
                code,
                f"Microsoft Entra ID {what} while signing in.",
                secrets,
                text,
            )
    status = _response_status(exc)
    msal_status = _MSAL_HTTP_RE.search(text)
    if status is None and msal_status:
        status = int(msal_status.group(1))
    if status is not None and (status in (408, 429) or status >= 500):
        return _error(
            ErrorCategory.TEMPORARY,
            status_phrase(status),
            f"Microsoft Entra ID answered HTTP {status} while signing in.",
            secrets,
            text,
        )
    if "Unable to get authority configuration" in text:
        return _error(
            ErrorCategory.INVALID_CREDENTIALS,
            "TenantNotFound",
            "Authentication failed: the tenant could not be found: check the tenant ID.",
            secrets,
            text,
        )
    return _error(
        ErrorCategory.UNKNOWN,
        "ClientAuthenticationError",
        f"Authentication failed: {text}",
        secrets,
        text,
    )


def _classify_arm(exc: ArmError, secrets: Sequence[str]) -> CloudError:
    detail = f"HTTP {exc.status} {exc.code}: {exc.message}" + (f" ({exc.url})" if exc.url else "")
    if exc.status == 401:
        return _error(
            ErrorCategory.INVALID_CREDENTIALS,
            exc.code,
            "Azure Resource Manager rejected the credentials (HTTP 401).",
            secrets,
            detail,
        )
    if exc.status == 403:
        action = _ACTION_RE.search(exc.message)
        scope = _SCOPE_RE.search(exc.message)
        if action:
            where = f" on {scope.group(1)}" if scope else ""
            return _error(
                ErrorCategory.PERMISSION_DENIED,
                exc.code,
                f"Permission denied: the app lacks {action.group(1)}{where}.",
                secrets,
                detail,
                f"Grant the service principal {action.group(1)} (the built-in Reader role "
                "includes it) on the subscription, then re-run the scan.",
                missing_permissions=(action.group(1),),
            )
        return _error(
            ErrorCategory.PERMISSION_DENIED,
            exc.code,
            f"Permission denied: {exc.message}",
            secrets,
            detail,
        )
    if exc.status == 404 and exc.code == "SubscriptionNotFound":
        return _error(
            ErrorCategory.PERMISSION_DENIED,
            exc.code,
            "The subscription does not exist or the app cannot see it.",
            secrets,
            detail,
            "Remove the subscription from the project's scope, or assign the Reader role "
            "on it to the app registration, then re-run the scan.",
        )
    if exc.status in (408, 429) or exc.status >= 500:
        return _error(
            ErrorCategory.TEMPORARY,
            exc.code,
            f"Azure Resource Manager answered HTTP {exc.status} ({exc.code}) after retries.",
            secrets,
            detail,
        )
    return _error(
        ErrorCategory.UNKNOWN, exc.code, f"Azure Resource Manager: {exc}", secrets, detail
    )


def classify_azure(exc: BaseException, secrets: Sequence[str]) -> CloudError:
    """Map any exception from an Azure call to a classified, redacted `CloudError`."""
    secrets = [s for s in secrets if s]
    if isinstance(exc, CloudCallError):
        return exc.error
    if isinstance(exc, ClientAuthenticationError):
        return _classify_aad(exc, secrets)
    if isinstance(exc, ArmError):
        return _classify_arm(exc, secrets)
    text = _chain_text(exc)
    if _is_tls_failure(exc):
        return _error(
            ErrorCategory.UNKNOWN,
            "TLSVerificationFailed",
            "The Azure certificate could not be verified (check the CA bundle).",
            secrets,
            text,
        )
    if isinstance(exc, requests.exceptions.Timeout | ServiceResponseError) or (
        isinstance(exc, requests.exceptions.ConnectionError) and "timed out" in text
    ):
        return _error(
            ErrorCategory.TEMPORARY, "Timeout", "Azure did not answer in time.", secrets, text
        )
    if isinstance(exc, requests.exceptions.ConnectionError | ServiceRequestError):
        return _error(
            ErrorCategory.TEMPORARY,
            type(exc).__name__,
            "Azure could not be reached.",
            secrets,
            text,
        )
    if isinstance(exc, HttpResponseError):
        status = _response_status(exc)
        if status is not None and (status in (408, 429) or status >= 500):
            return _error(
                ErrorCategory.TEMPORARY, status_phrase(status), f"Azure: {text}", secrets, text
            )
    if isinstance(exc, AzureError):
        return _error(ErrorCategory.UNKNOWN, type(exc).__name__, f"Azure: {text}", secrets, text)
    return _error(
        ErrorCategory.UNKNOWN, type(exc).__name__, f"Unexpected error: {text}", secrets, text
    )


# --------------------------------------------------------------------------------------------
# Credentials input
# --------------------------------------------------------------------------------------------


def _uuid(value: str) -> str | None:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def parse_azure_credentials(raw: Mapping[str, str]) -> AzureCredentials:
    """Check a tenant id, client id and client secret; every bad field gets its own message."""
    fields: dict[str, str] = {}
    tenant = str(raw.get("tenant_id") or "").strip()
    client = str(raw.get("client_id") or "").strip()
    secret = str(raw.get("client_secret") or "").strip()

    tenant_id = _uuid(tenant) if tenant else None
    if not tenant:
        fields["tenant_id"] = "Enter the tenant (directory) ID."
    elif tenant_id is None:
        fields["tenant_id"] = (
            "The tenant ID must be a UUID such as 72f988bf-86f1-41af-91ab-2d7cd011db47 "
            "(Microsoft Entra ID → Overview → Tenant ID)."
        )
    client_id = _uuid(client) if client else None
    if not client:
        fields["client_id"] = "Enter the application (client) ID."
    elif client_id is None:
        fields["client_id"] = (
            "The client ID must be the app registration's Application (client) ID, a UUID "
            "(App registrations → your app → Overview)."
        )
    if not secret:
        fields["client_secret"] = "Enter the client secret's value."
    elif _uuid(secret) is not None:
        fields["client_secret"] = (
            "This looks like the secret's ID: paste the secret's Value instead "
            "(it is shown only once, when the secret is created)."
        )
    elif len(secret) < 8 or len(secret) > 256:
        fields["client_secret"] = "The client secret must be 8 to 256 characters long."
    elif _WS_RE.search(secret) or not secret.isprintable():
        fields["client_secret"] = (
            "The client secret contains spaces, line breaks or control characters: "
            "paste the Value exactly."
        )
    if fields:
        raise InputError("Some Azure credential fields need fixing.", fields)
    assert tenant_id is not None and client_id is not None
    return AzureCredentials(tenant_id=tenant_id, client_id=client_id, client_secret=secret)


# --------------------------------------------------------------------------------------------
# The adapter
# --------------------------------------------------------------------------------------------


def _azure(creds: Credentials) -> AzureCredentials:
    if not isinstance(creds, AzureCredentials):
        raise TypeError(f"Azure adapter got {type(creds).__name__}")
    return creds


class AzureAdapter:
    """`bot.providers.base.CloudAdapter` for Azure (service principal + client secret)."""

    provider = "azure"

    def parse_credentials(self, raw: Mapping[str, str]) -> AzureCredentials:
        """Keys `tenant_id`, `client_id`, `client_secret`; raises `InputError` with `fields`."""
        return parse_azure_credentials(raw)

    def validate(self, creds: Credentials, endpoints: CloudEndpoints) -> ValidationResult:
        """Get a token and list the subscriptions; never raises for cloud failures."""
        azure = _azure(creds)
        secrets = azure.secret_values()
        try:
            with AzureSession(azure, endpoints, CancelToken()) as session:
                subscription_ids = session.subscription_ids()
        except Exception as exc:  # every cloud failure comes back classified
            return ValidationResult(
                ok=False,
                account_id=azure.tenant_id,
                account_label=azure.client_id,
                error=self.classify(exc, secrets),
            )
        if not subscription_ids:
            return ValidationResult(
                ok=False,
                account_id=azure.tenant_id,
                account_label=azure.client_id,
                error=_error(
                    ErrorCategory.PERMISSION_DENIED,
                    "NoSubscriptions",
                    "The credentials work, but the app cannot see any subscription.",
                    secrets,
                    remediation=(
                        "Assign the Reader role to the app registration on each subscription "
                        "to scan (Subscription → Access control (IAM)), then validate again."
                    ),
                ),
            )
        return ValidationResult(
            ok=True,
            account_id=azure.tenant_id,
            account_label=azure.client_id,
            scopes=tuple(subscription_ids),
        )

    def open_session(
        self, creds: Credentials, endpoints: CloudEndpoints, cancel: CancelToken
    ) -> AzureSession:
        """An `AzureSession`; no network call happens until the first read."""
        return AzureSession(_azure(creds), endpoints, cancel)

    def plan_units(self, session: Any, scope: Sequence[str]) -> list[str]:
        """The scope's subscription ids, or every subscription the app can read."""
        units = [s.strip() for s in scope if s and s.strip()]
        if units:
            return list(dict.fromkeys(units))
        ids: list[str] = session.subscription_ids()
        return ids

    def classify(self, exc: BaseException, secrets: Sequence[str]) -> CloudError:
        """Map an exception to a classified, redacted `CloudError` (see `classify_azure`)."""
        return classify_azure(exc, secrets)

    def discover(
        self, creds: Credentials, endpoints: CloudEndpoints, parent: str | None = None
    ) -> list[DiscoveredTarget]:
        """Every enabled subscription the service principal can read (ARM GET
        /subscriptions), each scanned by a project whose scope is that subscription.
        `parent` is not used (the tenant is the connector's)."""
        with AzureSession(_azure(creds), endpoints, CancelToken()) as session:
            subscriptions = session.subscriptions()
        found = {
            str(s["subscriptionId"]): DiscoveredTarget(
                str(s["subscriptionId"]),
                str(s.get("displayName") or s["subscriptionId"]),
                {"subscription_id": str(s["subscriptionId"])},
                scope=(str(s["subscriptionId"]),),
            )
            for s in subscriptions
        }
        return [found[k] for k in sorted(found)]


ADAPTER = AzureAdapter()
