"""GCP adapter: service-account keys, live validation, API sessions, error classification.

google-auth signs a JWT with the key's private key and trades it for an access token at the
*configured* token endpoint (`CloudEndpoints.gcp_token_uri`): the `token_uri` inside a
user-supplied key file is dropped, because honouring it would let anyone make the service
send signed requests to a host of their choosing (SSRF). API reads go through google-auth's
`AuthorizedSession` with a bounded retry budget; `GcpAdapter.classify` turns any failure into a
redacted `CloudError`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from functools import partial
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import exceptions as gauth_exceptions
from google.auth.transport.requests import AuthorizedSession
from google.auth.transport.requests import Request as GoogleAuthRequest
from google.oauth2 import service_account

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
from bot.providers._http import retry_adapter
from bot.providers.gcp.credentials import GcpCredentials

SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
MAX_PAGES = 1000
MAX_FOLDERS = 2000  # folders walked below a discovery parent
MAX_KEY_FILE_CHARS = 20_000

# Only these keys of a key file are kept; token_uri, auth_uri, the cert URLs and
# universe_domain (which would switch google-auth to self-signed JWTs) are dropped.
_KEPT_KEYS = ("type", "project_id", "private_key_id", "private_key", "client_email", "client_id")
_REQUIRED_KEYS = ("client_email", "private_key", "private_key_id", "project_id")
_PROJECT_RE = re.compile(r"^(?:[a-z][a-z0-9.-]{0,62}:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PROJECT_GET_RE = re.compile(r"/v1/projects/[^/]+$")
_PERMISSION_RES = (
    re.compile(r"Permission '([\w.]+)' denied"),
    re.compile(r"Required '([\w.]+)' permission"),
    re.compile(r"does not have ([a-z]+\.[\w.]+) access"),
    re.compile(r"permission[s]? \(?'?([a-z]+\.[a-zA-Z]+\.[a-zA-Z]+)'?\)?"),
)

REMEDIATION = remediations(
    "Grant the service account the Viewer role (roles/viewer) and Security Reviewer "
    "(roles/iam.securityReviewer) on the project, then re-run the scan."
)


# --------------------------------------------------------------------------------------------
# Errors raised by the session
# --------------------------------------------------------------------------------------------


class GcpApiError(Exception):
    """A Google API call answered with an HTTP error status (after retries).

    Built from Google's `{"error": {"code", "message", "status", "errors", "details"}}` body;
    not redacted here (`GcpAdapter.classify` does that).
    """

    def __init__(
        self,
        status: int,
        reason: str,
        message: str,
        url: str = "",
        permission: str = "",
    ) -> None:
        super().__init__(f"HTTP {status} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.message = message
        self.url = url
        self.permission = permission

    @classmethod
    def from_response(cls, response: requests.Response) -> GcpApiError:
        """Build from an error response, whatever its body looks like."""
        try:
            body = response.json()
        except ValueError:
            body = None
        error = body.get("error") if isinstance(body, dict) else None
        reason, message, permission = "", "", ""
        if isinstance(error, dict):
            message = str(error.get("message") or "")
            reason = str(error.get("status") or "")
            for detail in error.get("details") or []:
                if not isinstance(detail, dict):
                    continue
                metadata = detail.get("metadata") or {}
                if isinstance(metadata, dict) and metadata.get("permission"):
                    permission = str(metadata["permission"])
                if detail.get("reason") in ("SERVICE_DISABLED", "ACCESS_TOKEN_SCOPE_INSUFFICIENT"):
                    reason = str(detail["reason"])
            for item in error.get("errors") or []:
                if isinstance(item, dict) and item.get("reason") == "accessNotConfigured":
                    reason = "SERVICE_DISABLED"
        elif isinstance(error, str):  # OAuth-style {"error": "...", "error_description": ...}
            reason = error
            message = str(body.get("error_description") or "") if isinstance(body, dict) else ""
        if not reason:
            reason = status_phrase(response.status_code)
        if not message:
            message = (response.text or response.reason or "")[:1000]
        url = _strip_query(response.url or "")
        if not permission:
            permission = _find_permission(message)
        if not permission and _PROJECT_GET_RE.search(url):
            permission = "resourcemanager.projects.get"  # Resource Manager never names it
        return cls(response.status_code, reason, message, url, permission)


def _strip_query(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _find_permission(message: str) -> str:
    for pattern in _PERMISSION_RES:
        match = pattern.search(message)
        if match:
            return match.group(1)
    return ""


# --------------------------------------------------------------------------------------------
# HTTP plumbing
# --------------------------------------------------------------------------------------------


def service_base_for(api_base: str, service: str) -> str:
    """A Google API's base beside the Resource Manager one: `<service>.googleapis.com` next
    to the default host, else the configured API base itself (proxies, private endpoints,
    test stand-ins)."""
    parts = urlsplit(api_base.rstrip("/"))
    host = parts.hostname or ""
    if host.startswith("cloudresourcemanager."):
        netloc = parts.netloc.replace("cloudresourcemanager.", f"{service}.", 1)
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    return api_base.rstrip("/")


def iam_base_for(api_base: str) -> str:
    """The IAM API base (see `service_base_for`)."""
    return service_base_for(api_base, "iam")


class _TokenRequest(GoogleAuthRequest):
    """google-auth's transport with our timeout, CA bundle and cancel checkpoint."""

    def __init__(
        self, session: requests.Session, timeout: float, verify: str | bool, cancel: CancelToken
    ) -> None:
        super().__init__(session)
        self._timeout = timeout
        self._verify = verify
        self._cancel = cancel

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> Any:
        self._cancel.checkpoint()
        kwargs.setdefault("verify", self._verify)  # REQUESTS_CA_BUNDLE would win otherwise
        return super().__call__(
            url,
            method=method,
            body=body,
            headers=headers,
            timeout=timeout or self._timeout,
            **kwargs,
        )


def google_credentials(
    creds: GcpCredentials, endpoints: CloudEndpoints
) -> service_account.Credentials:
    """google-auth credentials that always use the configured token endpoint."""
    info = {k: v for k, v in creds.info.items() if k in _KEPT_KEYS}
    info["token_uri"] = endpoints.url("gcp_token_uri")
    return service_account.Credentials.from_service_account_info(info, scopes=list(SCOPES))


class GcpSession:
    """An authenticated reader of the Google APIs for the checks of one scan.

    `api_base` (Resource Manager), `compute_base`, `storage_base`, `iam_base`,
    `sqladmin_base`, `logging_base` and `kms_base` are the roots the checks build URLs from.
    Every call checks the cancel token first and raises `GcpApiError` for HTTP errors
    (AuthorizedSession itself would hand them back silently).
    """

    def __init__(
        self, creds: GcpCredentials, endpoints: CloudEndpoints, cancel: CancelToken
    ) -> None:
        self.project_id = creds.project_id
        self.client_email = creds.client_email
        self.api_base = endpoints.url("gcp_api_base").rstrip("/")
        self.compute_base = endpoints.url("gcp_compute_base").rstrip("/")
        self.storage_base = endpoints.url("gcp_storage_base").rstrip("/")
        self.iam_base = endpoints.optional("gcp_iam_base") or iam_base_for(
            endpoints.url("gcp_api_base")
        )
        self.sqladmin_base = endpoints.optional("gcp_sqladmin_base") or service_base_for(
            endpoints.url("gcp_api_base"), "sqladmin"
        )
        self.logging_base = endpoints.optional("gcp_logging_base") or service_base_for(
            endpoints.url("gcp_api_base"), "logging"
        )
        self.kms_base = endpoints.optional("gcp_kms_base") or service_base_for(
            endpoints.url("gcp_api_base"), "cloudkms"
        )
        self._timeout = endpoints.timeout_seconds
        self._verify: str | bool = endpoints.ca_bundle or True
        self._cancel = cancel
        self._credentials = google_credentials(creds, endpoints)

        # token requests: connection errors retried by urllib3; 5xx by google-auth itself
        self._token_http = requests.Session()
        adapter = retry_adapter(endpoints)
        self._token_http.mount("https://", adapter)
        self._token_http.mount("http://", adapter)
        self._token_http.verify = self._verify
        self._auth_request = _TokenRequest(self._token_http, self._timeout, self._verify, cancel)

        self._http = AuthorizedSession(
            self._credentials, auth_request=self._auth_request, max_refresh_attempts=1
        )
        self._http.mount("https://", retry_adapter(endpoints))
        self._http.mount("http://", retry_adapter(endpoints))
        self._http.verify = self._verify

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        """Release the HTTP connections."""
        self._http.close()
        self._token_http.close()

    def __enter__(self) -> GcpSession:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- calls -------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Fetch a new access token now (raises google-auth's RefreshError/TransportError)."""
        self._credentials.refresh(self._auth_request)

    def get_json(self, url: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        """GET an absolute API URL and decode its JSON object."""
        self._cancel.checkpoint()
        response = self._http.get(
            url,
            params=dict(params) if params else None,
            timeout=self._timeout,
            verify=self._verify,
            headers={"Accept": "application/json"},
        )
        if not response.ok:
            raise GcpApiError.from_response(response)
        try:
            body = response.json()
        except ValueError:
            raise GcpApiError(
                response.status_code, "InvalidResponse", "non-JSON answer", _strip_query(url)
            ) from None
        if not isinstance(body, dict):
            raise GcpApiError(response.status_code, "InvalidResponse", "non-object answer")
        return body

    def post_json(self, url: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST a read-only API method that takes a JSON body (e.g. `:getIamPolicy`)."""
        self._cancel.checkpoint()
        response = self._http.post(
            url,
            json=dict(body),
            timeout=self._timeout,
            verify=self._verify,
            headers={"Accept": "application/json"},
        )
        if not response.ok:
            raise GcpApiError.from_response(response)
        try:
            answer = response.json()
        except ValueError:
            raise GcpApiError(
                response.status_code, "InvalidResponse", "non-JSON answer", _strip_query(url)
            ) from None
        if not isinstance(answer, dict):
            raise GcpApiError(response.status_code, "InvalidResponse", "non-object answer")
        return answer

    def get_all(
        self, url: str, items_key: str = "items", params: Mapping[str, str] | None = None
    ) -> list[dict[str, Any]]:
        """Every item of a paged list call (`pageToken` / `nextPageToken`)."""
        query = dict(params or {})
        items: list[dict[str, Any]] = []
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            page = self.get_json(url, query)
            items.extend(i for i in page.get(items_key) or [] if isinstance(i, dict))
            token = page.get("nextPageToken")
            if not token or token in seen:
                break
            seen.add(str(token))
            query["pageToken"] = str(token)
        return items

    def project(self) -> dict[str, Any]:
        """The key's project as Resource Manager describes it."""
        return self.get_json(f"{self.api_base}/v1/projects/{self.project_id}")


# --------------------------------------------------------------------------------------------
# Classification
# --------------------------------------------------------------------------------------------


def _chain_text(exc: BaseException) -> str:
    texts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(seen) < 12:
        seen.add(id(current))
        text = str(current)
        if text and text not in texts:
            texts.append(text)
        current = current.__cause__ or current.__context__
    return " | ".join(texts)


def _in_chain(exc: BaseException, kinds: tuple[type[BaseException], ...]) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, kinds):
            return True
        current = current.__cause__ or current.__context__
    return False


_error = partial(cloud_error, defaults=REMEDIATION)


_GRANT_MESSAGES = (
    ("account not found", "the service account no longer exists"),
    ("invalid jwt signature", "the key was deleted or disabled"),
    ("disabled", "the service account is disabled"),
    ("invalid_client", "the client is not recognised"),
)


def _classify_refresh(exc: gauth_exceptions.RefreshError, secrets: Sequence[str]) -> CloudError:
    text = _chain_text(exc)
    data = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], dict) else {}
    error = str(data.get("error") or "")
    if not error:
        match = re.match(r"\s*([a-z_]+):", str(exc.args[0]) if exc.args else "")
        error = match.group(1) if match else ""
    if error in ("invalid_grant", "invalid_client", "unauthorized_client"):
        lowered = text.lower()
        why = next((m for k, m in _GRANT_MESSAGES if k in lowered), "Google refused the key")
        return _error(
            ErrorCategory.INVALID_CREDENTIALS,
            error,
            f"Authentication failed: {why} ({error}).",
            secrets,
            text,
        )
    if exc.retryable or _in_chain(exc, (gauth_exceptions.TransportError,)):
        return _error(
            ErrorCategory.TEMPORARY,
            error or "TokenEndpointUnavailable",
            "Google's token endpoint failed temporarily after retries.",
            secrets,
            text,
        )
    return _error(
        ErrorCategory.UNKNOWN,
        error or "RefreshError",
        f"Getting an access token failed: {text}",
        secrets,
        text,
    )


def _classify_api(exc: GcpApiError, secrets: Sequence[str]) -> CloudError:
    detail = f"HTTP {exc.status} {exc.reason}: {exc.message}" + (f" ({exc.url})" if exc.url else "")
    if exc.status == 401:
        return _error(
            ErrorCategory.INVALID_CREDENTIALS,
            exc.reason,
            "Google rejected the credentials (HTTP 401).",
            secrets,
            detail,
        )
    if exc.status == 403 and exc.reason == "SERVICE_DISABLED":
        return _error(
            ErrorCategory.PERMISSION_DENIED,
            exc.reason,
            f"A Google API the scan needs is disabled: {exc.message}",
            secrets,
            detail,
            "Enable the API named in the error in the project (APIs & Services → Library), "
            "then re-run the scan.",
        )
    if exc.status == 403:
        if exc.permission:
            return _error(
                ErrorCategory.PERMISSION_DENIED,
                exc.reason,
                f"Permission denied: the service account lacks {exc.permission}.",
                secrets,
                detail,
                f"Grant the service account a role with {exc.permission} (e.g. roles/viewer "
                "or roles/iam.securityReviewer) on the project, then re-run the scan.",
                missing_permissions=(exc.permission,),
            )
        return _error(
            ErrorCategory.PERMISSION_DENIED,
            exc.reason,
            f"Permission denied: {exc.message}",
            secrets,
            detail,
        )
    if exc.status in (408, 429) or exc.status >= 500:
        return _error(
            ErrorCategory.TEMPORARY,
            exc.reason,
            f"Google answered HTTP {exc.status} ({exc.reason}) after retries.",
            secrets,
            detail,
        )
    return _error(ErrorCategory.UNKNOWN, exc.reason, f"Google API: {exc}", secrets, detail)


def classify_gcp(exc: BaseException, secrets: Sequence[str]) -> CloudError:
    """Map any exception from a GCP call to a classified, redacted `CloudError`."""
    secrets = [s for s in secrets if s]
    if isinstance(exc, CloudCallError):
        return exc.error
    text = _chain_text(exc)
    if _in_chain(exc, (requests.exceptions.SSLError,)) or "CERTIFICATE_VERIFY_FAILED" in text:
        return _error(
            ErrorCategory.UNKNOWN,
            "TLSVerificationFailed",
            "The Google endpoint's certificate could not be verified (check the CA bundle).",
            secrets,
            text,
        )
    if isinstance(exc, gauth_exceptions.RefreshError):
        return _classify_refresh(exc, secrets)
    if isinstance(exc, GcpApiError):
        return _classify_api(exc, secrets)
    if _in_chain(exc, (requests.exceptions.Timeout,)) or "timed out" in text.lower():
        return _error(
            ErrorCategory.TEMPORARY, "Timeout", "Google did not answer in time.", secrets, text
        )
    if isinstance(exc, gauth_exceptions.TransportError) or _in_chain(
        exc, (requests.exceptions.ConnectionError,)
    ):
        return _error(
            ErrorCategory.TEMPORARY,
            "ConnectionError",
            "Google could not be reached.",
            secrets,
            text,
        )
    if isinstance(exc, gauth_exceptions.GoogleAuthError):
        return _error(
            ErrorCategory.UNKNOWN, type(exc).__name__, f"google-auth: {text}", secrets, text
        )
    return _error(
        ErrorCategory.UNKNOWN, type(exc).__name__, f"Unexpected error: {text}", secrets, text
    )


# --------------------------------------------------------------------------------------------
# Credentials input
# --------------------------------------------------------------------------------------------

_FIELD = "service_account_json"


def _bad(message: str) -> InputError:
    return InputError(message, {_FIELD: message})


def parse_gcp_credentials(raw: Mapping[str, str]) -> GcpCredentials:
    """Check a pasted service-account key file; the message says exactly what is wrong.

    Never echoes key material. Keeps only the fields the scanner needs (see `_KEPT_KEYS`).
    """
    text = str(raw.get(_FIELD) or "").strip().removeprefix("\ufeff").strip()
    if not text:
        raise _bad("Paste the contents of the service account's JSON key file.")
    if len(text) > MAX_KEY_FILE_CHARS:
        raise _bad("This is too long for a service account key file: paste the JSON key only.")
    try:
        info = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _bad(
            f"The key file is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})."
        ) from None
    except RecursionError:
        raise _bad(
            "The key file's JSON is nested too deeply: paste the JSON key as downloaded."
        ) from None
    if not isinstance(info, dict):
        raise _bad("The key file must be a JSON object, as downloaded from the Google console.")
    kind = info.get("type")
    if kind != "service_account":
        shown = kind if isinstance(kind, str) and re.fullmatch(r"[a-z_]{1,40}", kind) else None
        what = f'a "{shown}" credential' if shown else "not a service account key"
        raise _bad(
            f'This JSON is {what}: a service account key (type "service_account") is needed '
            "(IAM → Service accounts → Keys → Add key → JSON)."
        )
    missing = [k for k in _REQUIRED_KEYS if not isinstance(info.get(k), str) or not info[k]]
    if missing:
        raise _bad(f"The key file is missing {', '.join(missing)}: download a new JSON key.")
    if not _EMAIL_RE.match(info["client_email"]):
        raise _bad("client_email is not an e-mail address: download a new JSON key.")
    if not _PROJECT_RE.match(info["project_id"]):
        raise _bad("project_id is not a valid Google Cloud project ID.")
    try:
        key = serialization.load_pem_private_key(info["private_key"].encode(), password=None)
    except (ValueError, TypeError):
        raise _bad(
            "private_key is not a readable PEM private key: download a new JSON key."
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise _bad("private_key must be an RSA key, as in keys Google creates.")
    return GcpCredentials(info={k: info[k] for k in _KEPT_KEYS if k in info})


# --------------------------------------------------------------------------------------------
# The adapter
# --------------------------------------------------------------------------------------------


def _gcp(creds: Credentials) -> GcpCredentials:
    if not isinstance(creds, GcpCredentials):
        raise TypeError(f"GCP adapter got {type(creds).__name__}")
    return creds


class GcpAdapter:
    """`bot.providers.base.CloudAdapter` for Google Cloud (service-account JSON keys)."""

    provider = "gcp"

    def parse_credentials(self, raw: Mapping[str, str]) -> GcpCredentials:
        """Key `service_account_json`; raises `InputError` with `fields` set."""
        return parse_gcp_credentials(raw)

    def validate(self, creds: Credentials, endpoints: CloudEndpoints) -> ValidationResult:
        """Refresh a token at the configured endpoint and read the project; never raises for
        cloud failures."""
        gcp = _gcp(creds)
        try:
            with GcpSession(gcp, endpoints, CancelToken()) as session:
                session.refresh()
                project = session.project()
        except Exception as exc:  # every cloud failure comes back classified
            return ValidationResult(
                ok=False,
                account_id=gcp.project_id,
                account_label=gcp.client_email,
                error=self.classify(exc, gcp.secret_values()),
            )
        project_id = str(project.get("projectId") or gcp.project_id)
        return ValidationResult(
            ok=True,
            account_id=project_id,
            account_label=gcp.client_email,
            scopes=(project_id,),
        )

    def open_session(
        self, creds: Credentials, endpoints: CloudEndpoints, cancel: CancelToken
    ) -> GcpSession:
        """A `GcpSession`; no network call happens until the first read."""
        return GcpSession(_gcp(creds), endpoints, cancel)

    def plan_units(self, session: Any, scope: Sequence[str]) -> list[str]:
        """The scope's project ids, or the key's own project."""
        units = [s.strip() for s in scope if s and s.strip()]
        if units:
            return list(dict.fromkeys(units))
        return [str(session.project_id)]

    def classify(self, exc: BaseException, secrets: Sequence[str]) -> CloudError:
        """Map an exception to a classified, redacted `CloudError` (see `classify_gcp`)."""
        return classify_gcp(exc, secrets)

    def discover(
        self, creds: Credentials, endpoints: CloudEndpoints, parent: str | None = None
    ) -> list[DiscoveredTarget]:
        """Every active project the service account can list (Resource Manager v3
        projects.search) or, when `parent` is given (``folders/123`` or
        ``organizations/456``), every one under it at any depth: the folders below it are
        listed (folders.list, which needs ``resourcemanager.folders.list``), then the
        projects directly under each. Each is scanned by a project whose scope is it."""
        with GcpSession(_gcp(creds), endpoints, CancelToken()) as session:
            search = f"{session.api_base}/v3/projects:search"
            if parent is None:
                projects = session.get_all(search, "projects")
            else:
                projects = [
                    project
                    for resource in _folder_tree(session, parent)
                    for project in session.get_all(
                        search, "projects", {"query": f"parent:{resource}"}
                    )
                ]
        found: dict[str, DiscoveredTarget] = {}
        for project in projects:
            project_id = str(project.get("projectId") or "")
            if not project_id or str(project.get("state") or "ACTIVE") != "ACTIVE":
                continue
            found[project_id] = DiscoveredTarget(
                project_id,
                str(project.get("displayName") or project_id),
                {"project_id": project_id},
                scope=(project_id,),
            )
        return [found[k] for k in sorted(found)]


def _folder_tree(session: GcpSession, parent: str) -> list[str]:
    """`parent` and every folder below it, breadth first (a folder seen twice is kept once)."""
    tree = [parent]
    for resource in tree:  # grows as folders are found
        if len(tree) > MAX_FOLDERS:
            raise InputError(
                f"More than {MAX_FOLDERS} folders under {parent}: give a folder lower down "
                "with --parent."
            )
        for folder in session.get_all(
            f"{session.api_base}/v3/folders", "folders", {"parent": resource}
        ):
            name = str(folder.get("name") or "")
            if name and name not in tree and str(folder.get("state") or "ACTIVE") == "ACTIVE":
                tree.append(name)
    return tree


ADAPTER = GcpAdapter()
