"""A loopback stand-in for Google's OAuth token endpoint and the APIs the GCP checks read.

Plain HTTP on 127.0.0.1 (google-auth accepts any token_uri). Routes:

- `POST /token`: JWT-bearer grant; the assertion's RS256 signature is verified against the
  public key of the registered service-account key named by its `kid`; unknown account →
  400 `invalid_grant` "account not found", revoked/unknown key or bad signature → 400
  `invalid_grant` "Invalid JWT Signature.".
- Resource Manager `GET /v1/projects/{id}`, `POST /v1/projects/{id}:getIamPolicy`
- Compute `GET /compute/v1/projects/{p}` (project metadata),
  `GET /compute/v1/projects/{p}/global/firewalls|networks`,
  `GET /compute/v1/projects/{p}/aggregated/instances` (instances grouped by zone)
- Storage `GET /storage/v1/b?project=p`, `GET /storage/v1/b/{bucket}/iam`
- IAM `GET /v1/projects/{p}/serviceAccounts`, `GET /v1/projects/{p}/serviceAccounts/{e}/keys`
- Cloud SQL Admin `GET /v1/projects/{p}/instances`
- Cloud Logging `GET /v2/projects/{p}/sinks`
- Cloud KMS `GET /v1/projects/{p}/locations`, `GET /v1/projects/{p}/locations/{l}/keyRings`,
  `GET /v1/projects/{p}/locations/{l}/keyRings/{r}/cryptoKeys`

API calls need a bearer token issued here; a denied permission or another project gives a
403 shaped like Google's (naming the permission). Keys are generated at runtime.

    with GcpStandIn() as gcp:
        info = gcp.add_service_account("proj-1")
        gcp.seed("proj-1", "firewalls", [{"name": "allow-ssh", ...}])
        endpoints = gcp.endpoints()
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from bot.domain import CloudEndpoints
from bot.playground.loopback import Call, LoopbackServer, Reply, Request, cloud_endpoints

__all__ = ["KINDS", "Call", "GcpStandIn"]

KINDS = (
    "firewalls",
    "networks",
    "buckets",
    "service_accounts",
    "instances",
    "sql_instances",
    "sinks",
    "metadata",
    "iam_policy",
    "crypto_keys",
)
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"  # what google-auth signs for


def _unb64(data: str) -> bytes:
    return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class _Account:
    email: str
    project_id: str
    keys: dict[str, rsa.RSAPublicKey] = field(default_factory=dict)
    projects: set[str] = field(default_factory=set)
    denied: set[str] = field(default_factory=set)
    created: datetime = field(default_factory=lambda: datetime.now(UTC))


class GcpStandIn(LoopbackServer):
    """Token endpoint + Resource Manager, Compute, Storage and IAM on one loopback port."""

    def __init__(self, page_size: int = 100, key_size: int = 2048) -> None:
        super().__init__()
        self.page_size = page_size
        self.key_size = key_size
        self._accounts: dict[str, _Account] = {}
        self._tokens: dict[str, tuple[str, float]] = {}
        self._projects: set[str] = set()
        self._resources: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._denied_everywhere: set[str] = set()
        self._disabled_apis: set[str] = set()
        self._parents: dict[str, str] = {}  # project id or folder -> its parent resource
        self._states: dict[str, str] = {}  # project id -> lifecycle state (default ACTIVE)
        self.tokens_issued = 0

    # -- addresses ---------------------------------------------------------------------------

    @property
    def token_uri(self) -> str:
        """The token endpoint."""
        return f"{self.base_url}/token"

    @property
    def api_base(self) -> str:
        """Resource Manager (and IAM) base."""
        return self.base_url

    @property
    def compute_base(self) -> str:
        """Compute base (same server)."""
        return self.base_url

    @property
    def storage_base(self) -> str:
        """Storage base (same server)."""
        return self.base_url

    def endpoints(self, **overrides: Any) -> CloudEndpoints:
        """`CloudEndpoints` aimed at this stand-in (short timeout, 3 attempts by default)."""
        values: dict[str, Any] = {
            "gcp_token_uri": self.token_uri,
            "gcp_api_base": self.api_base,
            "gcp_compute_base": self.compute_base,
            "gcp_storage_base": self.storage_base,
            "timeout_seconds": 5.0,
            "max_attempts": 3,
        }
        values.update(overrides)
        return cloud_endpoints(values)

    # -- knobs -------------------------------------------------------------------------------

    def add_service_account(self, project_id: str, name: str = "cspm-scanner") -> dict[str, Any]:
        """Create a service account with a fresh RSA key; returns its JSON key file as a dict
        (its `token_uri` points here)."""
        email = f"{name}@{project_id}.iam.gserviceaccount.com"
        self._projects.add(project_id)
        account = self._accounts.setdefault(email, _Account(email, project_id))
        account.projects.add(project_id)
        private_key = rsa.generate_private_key(public_exponent=65537, key_size=self.key_size)
        key_id = secrets.token_hex(20)
        account.keys[key_id] = private_key.public_key()
        pem = private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        return {
            "type": "service_account",
            "project_id": project_id,
            "private_key_id": key_id,
            "private_key": pem,
            "client_email": email,
            "client_id": str(secrets.randbelow(10**21)).zfill(21),
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": self.token_uri,
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_x509_cert_url": f"https://www.googleapis.com/robot/v1/metadata/x509/{email}",
            "universe_domain": "googleapis.com",
        }

    def revoke(self, client_email: str) -> None:
        """Delete every key of the account and invalidate its tokens (→ invalid_grant)."""
        self._accounts[client_email].keys.clear()
        self._tokens = {t: v for t, v in self._tokens.items() if v[0] != client_email}

    def delete_service_account(self, client_email: str) -> None:
        """The account is gone (→ invalid_grant "account not found")."""
        self._accounts.pop(client_email, None)
        self._tokens = {t: v for t, v in self._tokens.items() if v[0] != client_email}

    def grant_project(self, client_email: str, project_id: str) -> None:
        """Let the account read another project."""
        self._projects.add(project_id)
        self._accounts[client_email].projects.add(project_id)

    def add_folder(self, folder: str, parent: str) -> None:
        """A folder (``folders/N``) under `parent` (``organizations/N`` or ``folders/N``)."""
        self._parents[folder] = parent

    def place_project(self, project_id: str, parent: str, state: str = "ACTIVE") -> None:
        """Put a project under `parent` (a folder or organization), in a lifecycle `state`
        (ACTIVE or DELETE_REQUESTED)."""
        self._projects.add(project_id)
        self._parents[project_id] = parent
        self._states[project_id] = state

    def deny(self, permission: str, client_email: str | None = None) -> None:
        """403 for calls needing `permission` (for one account or all)."""
        if client_email is None:
            self._denied_everywhere.add(permission)
        else:
            self._accounts[client_email].denied.add(permission)

    def clear_denials(self) -> None:
        """Undo every `deny` and `disable_api`."""
        self._denied_everywhere.clear()
        self._disabled_apis.clear()
        for account in self._accounts.values():
            account.denied.clear()

    def disable_api(self, service: str) -> None:
        """E.g. "compute.googleapis.com": its calls answer 403 SERVICE_DISABLED."""
        self._disabled_apis.add(service)

    def seed(self, project_id: str, kind: str, resources: list[dict[str, Any]]) -> None:
        """Add resources to a project. Kinds:

        - "firewalls", "networks": Compute resources (a `name` each; `selfLink` filled in)
        - "buckets": Storage buckets; an optional `"iam": {"bindings": [...]}` is served by
          the bucket's IAM policy route instead of the listing
        - "service_accounts": `{"email": ..., "keys": [{"validAfterTime": ..., "keyType":
          "USER_MANAGED"}]}`; keys are served by the keys route
        - "instances": Compute instances (`name`, `zone` such as "us-central1-a"; `selfLink`
          and the zone URL filled in), served grouped by zone
        - "sql_instances": Cloud SQL instances (`name`; `project` filled in)
        - "sinks": log sinks (`name`, `destination`, `filter`)
        - "metadata": project-wide Compute metadata items (`{"key": ..., "value": ...}`)
        - "iam_policy": the project's IAM policy: `bindings` and `auditConfigs` (one item;
          the last one seeded wins)
        - "crypto_keys": Cloud KMS keys (`name` relative to their ring, `location`, `keyRing`,
          and key fields such as `purpose`, `rotationPeriod`); their locations and key rings
          are served from them
        """
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}; use one of {KINDS}")
        self._projects.add(project_id)
        stored = self._resources.setdefault((project_id, kind), [])
        for resource in resources:
            item = json.loads(json.dumps(resource))
            if kind in ("firewalls", "networks"):
                item.setdefault(
                    "selfLink",
                    f"{self.base_url}/compute/v1/projects/{project_id}/global/{kind}/"
                    f"{item['name']}",
                )
                item.setdefault("kind", f"compute#{kind[:-1]}")
            if kind == "instances":
                zone = item.setdefault("zone", "us-central1-a").rsplit("/", 1)[-1]
                item["zone"] = f"{self.base_url}/compute/v1/projects/{project_id}/zones/{zone}"
                item.setdefault(
                    "selfLink",
                    f"{self.base_url}/compute/v1/projects/{project_id}/zones/{zone}/instances/"
                    f"{item['name']}",
                )
                item.setdefault("kind", "compute#instance")
                item.setdefault("status", "RUNNING")
            if kind == "sql_instances":
                item.setdefault("project", project_id)
                item.setdefault("kind", "sql#instance")
                item.setdefault("region", "us-central1")
            if kind == "crypto_keys":
                ring = (
                    f"projects/{project_id}/locations/{item.pop('location', 'global')}/"
                    f"keyRings/{item.pop('keyRing', 'ring')}"
                )
                item["name"] = f"{ring}/cryptoKeys/{item['name']}"
                item.setdefault("purpose", "ENCRYPT_DECRYPT")
                item.setdefault("primary", {"state": "ENABLED"})
            if kind == "buckets":
                item.setdefault("id", item["name"])
                item.setdefault("kind", "storage#bucket")
                item.setdefault("location", "US")
            stored.append(item)

    # -- token endpoint ----------------------------------------------------------------------

    @staticmethod
    def _grant_error(description: str) -> Reply:
        return Reply(400, {"error": "invalid_grant", "error_description": description})

    def _token(self, request: Request) -> Reply:
        form = request.form()
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return Reply(400, {"error": "unsupported_grant_type", "error_description": ""})
        try:
            header_b64, payload_b64, signature_b64 = form.get("assertion", "").split(".")
            header = json.loads(_unb64(header_b64))
            claims = json.loads(_unb64(payload_b64))
            signature = _unb64(signature_b64)
        except ValueError:
            return self._grant_error("Invalid JWT: malformed assertion.")
        account = self._accounts.get(str(claims.get("iss")))
        if account is None:
            return self._grant_error("Invalid grant: account not found")
        public_key = account.keys.get(str(header.get("kid")))
        if public_key is None or header.get("alg") != "RS256":
            return self._grant_error("Invalid JWT Signature.")
        try:
            public_key.verify(
                signature,
                f"{header_b64}.{payload_b64}".encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except InvalidSignature:
            return self._grant_error("Invalid JWT Signature.")
        now = time.time()
        if not claims.get("iat", 0) - 300 <= now <= claims.get("exp", 0) + 300:
            return self._grant_error(
                "Invalid JWT: Token must be a short-lived token (60 minutes) and in a "
                "reasonable timeframe. Check your iat and exp values in the JWT claim."
            )
        if claims.get("aud") != GOOGLE_TOKEN_AUDIENCE:
            return self._grant_error("Invalid JWT: audience is not the token endpoint.")
        token = "ya29.c." + secrets.token_urlsafe(48)
        self._tokens[token] = (account.email, now + 3600)
        self.tokens_issued += 1
        return Reply(200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"})

    # -- API helpers -------------------------------------------------------------------------

    @staticmethod
    def _api_error(status: int, state: str, message: str, **extra: Any) -> Reply:
        reason = {401: "authError", 403: "forbidden", 404: "notFound"}.get(status, "backendError")
        error: dict[str, Any] = {
            "code": status,
            "message": message,
            "errors": [{"message": message, "domain": "global", "reason": reason}],
            "status": state,
        }
        error.update(extra)
        return Reply(status, {"error": error})

    def fault_body(self, request: Request, status: int) -> Any:
        """Injected errors look like Google's."""
        if request.path == "/token":
            return {"error": "internal_failure", "error_description": f"HTTP {status}"}
        return self._api_error(status, "UNAVAILABLE", f"Injected HTTP {status}.").body

    def _caller(self, request: Request) -> _Account | Reply:
        auth = request.header("authorization")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        email, expiry = self._tokens.get(token, ("", 0.0))
        account = self._accounts.get(email)
        if account is None or expiry < time.time():
            return self._api_error(
                401,
                "UNAUTHENTICATED",
                "Request had invalid authentication credentials. Expected OAuth 2 access "
                "token, login cookie or other valid authentication credential. See "
                "https://developers.google.com/identity/sign-in/web/devconsole-project.",
            )
        return account

    def _check(
        self, account: _Account, project: str, permission: str, service: str, style: str
    ) -> Reply | None:
        if service in self._disabled_apis:
            return self._api_error(
                403,
                "PERMISSION_DENIED",
                f"{service} API has not been used in project {project} before or it is "
                f"disabled. Enable it by visiting https://console.developers.google.com/apis/"
                f"api/{service}/overview?project={project} then retry.",
                details=[
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "SERVICE_DISABLED",
                        "domain": "googleapis.com",
                        "metadata": {"service": service, "consumer": f"projects/{project}"},
                    }
                ],
            )
        allowed = (
            project in account.projects
            and permission not in account.denied
            and permission not in self._denied_everywhere
        )
        if allowed:
            return None
        if style == "compute":
            message = f"Required '{permission}' permission for 'projects/{project}'"
        elif style == "storage":
            message = (
                f"{account.email} does not have {permission} access to the Google Cloud "
                f"project. Permission '{permission}' denied on resource (or it may not exist)."
            )
        elif style == "crm":
            message = "The caller does not have permission"
        else:
            message = f"Permission '{permission}' denied on resource (or it may not exist)."
        details = [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "IAM_PERMISSION_DENIED",
                "domain": "iam.googleapis.com",
                "metadata": {"permission": permission},
            }
        ]
        if style in ("compute", "storage", "crm"):
            return self._api_error(403, "PERMISSION_DENIED", message)
        return self._api_error(403, "PERMISSION_DENIED", message, details=details)

    def _page(self, request: Request, items: list[dict[str, Any]], key: str, **extra: Any) -> Reply:
        start = int(request.query.get("pageToken", "0") or 0)
        size = int(request.query.get("maxResults") or request.query.get("pageSize") or 0)
        size = min(size, self.page_size) if size else self.page_size
        body: dict[str, Any] = dict(extra)
        if items[start : start + size]:
            body[key] = items[start : start + size]
        if start + size < len(items):
            body["nextPageToken"] = str(start + size)
        return Reply(200, body)

    # -- routing -----------------------------------------------------------------------------

    def route(self, request: Request) -> Reply:
        """Dispatch to the token endpoint or one of the APIs."""
        if request.path == "/token":
            if request.method != "POST":
                return Reply(405, {"error": "invalid_request"})
            return self._token(request)
        caller = self._caller(request)
        if isinstance(caller, Reply):
            return caller
        parts = [unquote(p) for p in request.path.strip("/").split("/")]
        if (
            request.method == "POST"
            and len(parts) == 3
            and parts[:2] == ["v1", "projects"]
            and parts[2].endswith(":getIamPolicy")
        ):
            return self._project_policy(caller, parts[2].rsplit(":", 1)[0])
        if request.method != "GET":
            return self._api_error(405, "METHOD_NOT_ALLOWED", "Read-only stand-in.")
        # Resource Manager
        if parts == ["v3", "projects:search"]:
            return self._search_projects(request, caller)
        if parts == ["v3", "folders"]:
            return self._list_folders(request, caller)
        if len(parts) == 3 and parts[:2] == ["v1", "projects"]:
            return self._project(caller, parts[2])
        # Compute
        if len(parts) == 4 and parts[:3] == ["compute", "v1", "projects"]:
            return self._compute_project(caller, parts[3])
        if len(parts) == 6 and parts[:3] == ["compute", "v1", "projects"] and parts[4] == "global":
            return self._compute(request, caller, parts[3], parts[5])
        if parts[:3] == ["compute", "v1", "projects"] and parts[4:] == ["aggregated", "instances"]:
            return self._instances(request, caller, parts[3])
        # Cloud SQL Admin
        if len(parts) == 4 and parts[:2] == ["v1", "projects"] and parts[3] == "instances":
            return self._listing(
                request,
                caller,
                parts[2],
                "sql_instances",
                "items",
                "cloudsql.instances.list",
                "sqladmin.googleapis.com",
            )
        # Cloud KMS
        if parts[:2] == ["v1", "projects"] and len(parts) in (4, 6, 8) and parts[3] == "locations":
            return self._kms(request, caller, parts)
        # Cloud Logging
        if len(parts) == 4 and parts[:2] == ["v2", "projects"] and parts[3] == "sinks":
            return self._listing(
                request,
                caller,
                parts[2],
                "sinks",
                "sinks",
                "logging.sinks.list",
                "logging.googleapis.com",
            )
        # Storage
        if parts[:3] == ["storage", "v1", "b"]:
            return self._storage(request, caller, parts[3:])
        # IAM
        if len(parts) >= 4 and parts[:2] == ["v1", "projects"] and parts[3] == "serviceAccounts":
            return self._iam(request, caller, parts[2], parts[4:])
        return self._api_error(404, "NOT_FOUND", f"No route for {request.path}.")

    def _project(self, caller: _Account, project: str) -> Reply:
        denied = self._check(
            caller,
            project,
            "resourcemanager.projects.get",
            "cloudresourcemanager.googleapis.com",
            "crm",
        )
        if denied is not None or project not in self._projects:
            return denied or self._api_error(
                403, "PERMISSION_DENIED", "The caller does not have permission"
            )
        return Reply(
            200,
            {
                "projectNumber": str(abs(hash(project)) % 10**12),
                "projectId": project,
                "lifecycleState": "ACTIVE",
                "name": project,
                "createTime": "2024-01-01T00:00:00.000Z",
            },
        )

    def _search_projects(self, request: Request, caller: _Account) -> Reply:
        """v3 projects.search: the projects the caller may get, optionally ``parent:X``."""
        query = request.query.get("query", "").strip()
        if query and not query.startswith("parent:"):
            return self._api_error(400, "INVALID_ARGUMENT", f"Unsupported query: {query}")
        parent = query.removeprefix("parent:").strip() or None
        listed = [
            {
                "name": f"projects/{abs(hash(project)) % 10**12}",
                "parent": self._parents.get(project, ""),
                "projectId": project,
                "state": self._states.get(project, "ACTIVE"),
                "displayName": project.replace("-", " ").title(),
            }
            for project in sorted(caller.projects)
            if parent is None or self._parents.get(project) == parent
        ]
        return self._page(request, listed, "projects")

    def _list_folders(self, request: Request, caller: _Account) -> Reply:
        """v3 folders.list: the folders directly under ``?parent=``."""
        parent = request.query.get("parent", "")
        permission = "resourcemanager.folders.list"
        if permission in caller.denied or permission in self._denied_everywhere:
            denied = self._check(
                caller, "", permission, "cloudresourcemanager.googleapis.com", "iam"
            )
            if denied is not None:  # always: "" is nobody's project
                return denied
        listed = [
            {"name": folder, "parent": parent, "displayName": folder, "state": "ACTIVE"}
            for folder, above in sorted(self._parents.items())
            if folder.startswith("folders/") and above == parent
        ]
        return self._page(request, listed, "folders")

    def _project_policy(self, caller: _Account, project: str) -> Reply:
        denied = self._check(
            caller,
            project,
            "resourcemanager.projects.getIamPolicy",
            "cloudresourcemanager.googleapis.com",
            "iam",  # v3 answers with an ErrorInfo naming the permission
        )
        if denied is not None or project not in self._projects:
            return denied or self._api_error(
                403, "PERMISSION_DENIED", "The caller does not have permission"
            )
        seeded = self._resources.get((project, "iam_policy"), [])
        policy = dict(seeded[-1]) if seeded else {}
        return Reply(200, {"version": 3, "etag": "BwX=", **policy})

    def _kms(self, request: Request, caller: _Account, parts: list[str]) -> Reply:
        project = parts[2]
        keys = self._resources.get((project, "crypto_keys"), [])
        if len(parts) == 4:
            denied = self._check(
                caller, project, "cloudkms.locations.list", "cloudkms.googleapis.com", "iam"
            )
            if denied is not None:
                return denied
            ids = sorted({k["name"].split("/")[3] for k in keys} | {"global"})
            listed = [{"name": f"projects/{project}/locations/{i}", "locationId": i} for i in ids]
            return self._page(request, listed, "locations")
        if len(parts) == 6 and parts[5] == "keyRings":
            denied = self._check(
                caller, project, "cloudkms.keyRings.list", "cloudkms.googleapis.com", "iam"
            )
            if denied is not None:
                return denied
            prefix = "/".join(parts[:5]).removeprefix("v1/") + "/keyRings/"
            rings = sorted({k["name"].split("/cryptoKeys/")[0] for k in keys})
            listed = [{"name": r} for r in rings if r.startswith(prefix)]
            return self._page(request, listed, "keyRings")
        if len(parts) == 8 and parts[7] == "cryptoKeys":
            denied = self._check(
                caller, project, "cloudkms.cryptoKeys.list", "cloudkms.googleapis.com", "iam"
            )
            if denied is not None:
                return denied
            ring = "/".join(parts[1:7])
            listed = [k for k in keys if k["name"].startswith(ring + "/cryptoKeys/")]
            return self._page(request, listed, "cryptoKeys")
        return self._api_error(404, "NOT_FOUND", "No such KMS route.")

    def _compute_project(self, caller: _Account, project: str) -> Reply:
        denied = self._check(
            caller, project, "compute.projects.get", "compute.googleapis.com", "compute"
        )
        if denied is not None:
            return denied
        items = list(self._resources.get((project, "metadata"), []))
        return Reply(
            200,
            {
                "kind": "compute#project",
                "name": project,
                "selfLink": f"{self.base_url}/compute/v1/projects/{project}",
                "commonInstanceMetadata": {"kind": "compute#metadata", "items": items},
            },
        )

    def _instances(self, request: Request, caller: _Account, project: str) -> Reply:
        denied = self._check(
            caller, project, "compute.instances.list", "compute.googleapis.com", "compute"
        )
        if denied is not None:
            return denied
        flat = self._resources.get((project, "instances"), [])
        start = int(request.query.get("pageToken", "0") or 0)
        page = flat[start : start + self.page_size]
        grouped: dict[str, dict[str, Any]] = {}
        for instance in page:
            zone = "zones/" + instance["zone"].rsplit("/", 1)[-1]
            grouped.setdefault(zone, {"instances": []})["instances"].append(instance)
        body: dict[str, Any] = {
            "kind": "compute#instanceAggregatedList",
            "items": grouped
            or {"zones/us-central1-a": {"warning": {"code": "NO_RESULTS_ON_PAGE"}}},
        }
        if start + self.page_size < len(flat):
            body["nextPageToken"] = str(start + self.page_size)
        return Reply(200, body)

    def _listing(
        self,
        request: Request,
        caller: _Account,
        project: str,
        kind: str,
        key: str,
        permission: str,
        service: str,
    ) -> Reply:
        denied = self._check(caller, project, permission, service, "iam")
        if denied is not None:
            return denied
        return self._page(request, self._resources.get((project, kind), []), key)

    def _compute(self, request: Request, caller: _Account, project: str, kind: str) -> Reply:
        if kind not in ("firewalls", "networks"):
            return self._api_error(404, "NOT_FOUND", f"Unknown compute collection {kind}.")
        denied = self._check(
            caller, project, f"compute.{kind}.list", "compute.googleapis.com", "compute"
        )
        if denied is not None:
            return denied
        items = self._resources.get((project, kind), [])
        return self._page(
            request,
            items,
            "items",
            kind=f"compute#{kind[:-1]}List",
            selfLink=f"{self.base_url}{request.path}",
        )

    def _storage(self, request: Request, caller: _Account, rest: list[str]) -> Reply:
        if not rest:
            project = request.query.get("project", "")
            denied = self._check(
                caller, project, "storage.buckets.list", "storage.googleapis.com", "storage"
            )
            if denied is not None:
                return denied
            buckets = [
                {k: v for k, v in b.items() if k != "iam"}
                for b in self._resources.get((project, "buckets"), [])
            ]
            return self._page(request, buckets, "items", kind="storage#buckets")
        if len(rest) == 2 and rest[1] == "iam":
            for (project, kind), items in self._resources.items():
                for bucket in items:
                    if kind == "buckets" and bucket["name"] == rest[0]:
                        denied = self._check(
                            caller,
                            project,
                            "storage.buckets.getIamPolicy",
                            "storage.googleapis.com",
                            "storage",
                        )
                        if denied is not None:
                            return denied
                        policy = bucket.get("iam") or {"bindings": []}
                        return Reply(
                            200,
                            {
                                "kind": "storage#policy",
                                "resourceId": f"projects/_/buckets/{rest[0]}",
                                "version": 1,
                                "etag": "CAE=",
                                **policy,
                            },
                        )
            return self._api_error(404, "NOT_FOUND", "The specified bucket does not exist.")
        return self._api_error(404, "NOT_FOUND", "No such storage route.")

    def _accounts_in(self, project: str) -> list[dict[str, Any]]:
        seeded = self._resources.get((project, "service_accounts"), [])
        real = [
            {
                "email": a.email,
                "keys": [{"_id": k, "validAfterTime": _rfc3339(a.created)} for k in a.keys],
            }
            for a in self._accounts.values()
            if a.project_id == project
        ]
        return real + seeded

    def _iam(self, request: Request, caller: _Account, project: str, rest: list[str]) -> Reply:
        accounts = self._accounts_in(project)
        if not rest:
            denied = self._check(
                caller, project, "iam.serviceAccounts.list", "iam.googleapis.com", "iam"
            )
            if denied is not None:
                return denied
            listed = [
                {
                    "name": f"projects/{project}/serviceAccounts/{a['email']}",
                    "projectId": project,
                    "email": a["email"],
                    "uniqueId": str(abs(hash(a["email"])) % 10**21),
                    **{k: v for k, v in a.items() if k not in ("keys", "email")},
                }
                for a in accounts
            ]
            return self._page(request, listed, "accounts")
        if len(rest) == 2 and rest[1] == "keys":
            denied = self._check(
                caller, project, "iam.serviceAccountKeys.list", "iam.googleapis.com", "iam"
            )
            if denied is not None:
                return denied
            for account in accounts:
                if account["email"] == rest[0]:
                    wanted = request.query.get("keyTypes", "")
                    keys = []
                    for i, key in enumerate(account.get("keys") or []):
                        key_type = key.get("keyType", "USER_MANAGED")
                        if wanted and key_type != wanted:
                            continue
                        key_id = key.get("_id") or f"{i:040x}"
                        keys.append(
                            {
                                "name": f"projects/{project}/serviceAccounts/{rest[0]}/keys/"
                                f"{key_id}",
                                "validAfterTime": key["validAfterTime"],
                                "validBeforeTime": key.get(
                                    "validBeforeTime", "9999-12-31T23:59:59Z"
                                ),
                                "keyAlgorithm": "KEY_ALG_RSA_2048",
                                "keyOrigin": "GOOGLE_PROVIDED",
                                "keyType": key_type,
                                **({"disabled": True} if key.get("disabled") else {}),
                            }
                        )
                    return Reply(200, {"keys": keys} if keys else {})
            return self._api_error(404, "NOT_FOUND", f"Unknown service account {rest[0]}")
        return self._api_error(404, "NOT_FOUND", "No such IAM route.")
