"""A loopback stand-in for Microsoft Entra ID (token service) and Azure Resource Manager.

One HTTPS server (self-signed via a `trustme` CA; point `connection_verify` / `ca_bundle`
at `.ca_pem_path`) serves both:

- `GET  /{tenant}/v2.0/.well-known/openid-configuration` (unknown tenant → 400 AADSTS90002)
- `GET  /common/discovery/instance` (only if MSAL instance discovery is on)
- `POST /{tenant}/oauth2/v2.0/token`, client_credentials: unknown tenant → 400 AADSTS90002,
  unknown app → 400 AADSTS700016, wrong secret → 401 AADSTS7000215, expired secret →
  401 AADSTS7000222, wrong scope → 400 AADSTS500011; the error JSON is shaped like Entra ID's.
- ARM, bearer token required (the ones issued above, HMAC-signed): `GET /subscriptions`,
  `GET /subscriptions/{id}/providers/{Namespace}/{type}` for seeded kinds,
  `GET {sql server id}/auditingSettings/default`, and a seeded resource's child lists
  `GET {resource id}/{child}` (e.g. a SQL server's `firewallRules`, `administrators`). No
  role on a subscription or a denied action → 403 AuthorizationFailed naming the action
  (`{type}/{child}/read` for child lists); unknown subscription → 404, unknown resource or
  child → 404 ResourceNotFound.

    with AzureStandIn() as azure:
        azure.add_app(TENANT, CLIENT, SECRET, subscriptions=[SUB])
        azure.seed(SUB, "storage_accounts", [{"name": "st1", "properties": {...}}])
        endpoints = azure.endpoints(max_attempts=2)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import ssl
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import trustme

from bot.domain import CloudEndpoints
from bot.playground.loopback import Call, LoopbackServer, Reply, Request, cloud_endpoints

__all__ = ["KINDS", "AzureStandIn", "Call"]

# short kind name → (ARM resource type, read action)
KINDS: dict[str, str] = {
    "storage_accounts": "Microsoft.Storage/storageAccounts",
    "network_security_groups": "Microsoft.Network/networkSecurityGroups",
    "key_vaults": "Microsoft.KeyVault/vaults",
    "sql_servers": "Microsoft.Sql/servers",
    "virtual_machines": "Microsoft.Compute/virtualMachines",
    "disks": "Microsoft.Compute/disks",
    "web_sites": "Microsoft.Web/sites",
    "diagnostic_settings": "Microsoft.Insights/diagnosticSettings",
    "activity_log_alerts": "Microsoft.Insights/activityLogAlerts",
    "role_definitions": "Microsoft.Authorization/roleDefinitions",
    "pricings": "Microsoft.Security/pricings",
}
_SUBSCRIPTION_LEVEL = {
    "Microsoft.Insights/diagnosticSettings",
    "Microsoft.Authorization/roleDefinitions",
    "Microsoft.Security/pricings",
}  # resources ARM keeps on the subscription itself, not in a resource group
_CHILDREN = {"microsoft.sql/servers": ("firewallrules", "administrators")}
"""Child collections a resource type has (empty when nothing was seeded)."""
_TYPES = {t.lower(): t for t in KINDS.values()}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class _App:
    tenant: str
    client_id: str
    secret: str
    subscriptions: list[str]
    expired: bool = False
    denied: set[str] = field(default_factory=set)


class AzureStandIn(LoopbackServer):
    """Entra ID token service + ARM on one loopback HTTPS port."""

    def __init__(self, page_size: int = 100) -> None:
        self._ca = trustme.CA()
        cert = self._ca.issue_cert("127.0.0.1", "localhost")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        cert.configure_cert(context)
        super().__init__(tls=context)
        self._dir = tempfile.TemporaryDirectory(prefix="azure-standin-")
        self.ca_pem_path = str(Path(self._dir.name) / "ca.pem")
        self._ca.cert_pem.write_to_path(self.ca_pem_path)
        self.page_size = page_size
        self._key = secrets.token_bytes(32)
        self._apps: dict[tuple[str, str], _App] = {}
        self._tenants: set[str] = set()
        self._subscriptions: dict[str, dict[str, Any]] = {}
        self._resources: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._denied_everywhere: set[str] = set()
        self._revoked_before = 0.0
        self.tokens_issued = 0

    def close(self) -> None:
        """Stop serving and delete the CA file."""
        super().close()
        self._dir.cleanup()

    # -- addresses ---------------------------------------------------------------------------

    @property
    def authority(self) -> str:
        """The authority host, e.g. https://127.0.0.1:53123."""
        return self.base_url

    @property
    def arm_url(self) -> str:
        """The ARM base URL (same server)."""
        return self.base_url

    def endpoints(self, **overrides: Any) -> CloudEndpoints:
        """`CloudEndpoints` aimed at this stand-in (short timeout, 3 attempts by default)."""
        values: dict[str, Any] = {
            "azure_authority_host": self.authority,
            "azure_arm_url": self.arm_url,
            "ca_bundle": self.ca_pem_path,
            "timeout_seconds": 5.0,
            "max_attempts": 3,
        }
        values.update(overrides)
        return cloud_endpoints(values)

    # -- knobs -------------------------------------------------------------------------------

    def add_app(
        self,
        tenant: str,
        client_id: str,
        secret: str,
        subscriptions: list[str] | tuple[str, ...] = (),
    ) -> None:
        """Register a tenant (if new), an app registration with `secret`, and give it the
        Reader role on `subscriptions` (created if new)."""
        self._tenants.add(tenant)
        for sub in subscriptions:
            self._subscriptions.setdefault(
                sub,
                {
                    "id": f"/subscriptions/{sub}",
                    "subscriptionId": sub,
                    "tenantId": tenant,
                    "displayName": f"Subscription {sub[:8]}",
                    "state": "Enabled",
                },
            )
        self._apps[(tenant, client_id)] = _App(tenant, client_id, secret, list(subscriptions))

    def add_tenant(self, tenant: str) -> None:
        """A tenant with no apps yet."""
        self._tenants.add(tenant)

    def expire_secret(self, tenant: str, client_id: str) -> None:
        """The app's secret expires: token requests get AADSTS7000222."""
        self._apps[(tenant, client_id)].expired = True

    def rotate_secret(self, tenant: str, client_id: str, secret: str) -> None:
        """Replace the app's secret (the old one now gets AADSTS7000215)."""
        app = self._apps[(tenant, client_id)]
        app.secret, app.expired = secret, False

    def revoke_tokens(self) -> None:
        """Every token issued so far is rejected by ARM (401 InvalidAuthenticationToken)."""
        self._revoked_before = time.time() + 0.001
        time.sleep(0.002)

    def deny(self, action: str, client_id: str | None = None) -> None:
        """ARM answers 403 AuthorizationFailed for `action` (for one app, or for all)."""
        if client_id is None:
            self._denied_everywhere.add(action.lower())
        else:
            for app in self._apps.values():
                if app.client_id == client_id:
                    app.denied.add(action.lower())

    def clear_denials(self) -> None:
        """Undo every `deny`."""
        self._denied_everywhere.clear()
        for app in self._apps.values():
            app.denied.clear()

    def set_subscription_state(self, subscription: str, state: str) -> None:
        """E.g. "Disabled" (validation skips those)."""
        self._subscriptions[subscription]["state"] = state

    def seed(
        self,
        subscription: str,
        kind: str,
        resources: list[dict[str, Any]],
        resource_group: str = "rg-cspm",
    ) -> list[dict[str, Any]]:
        """Add resources of `kind` (a `KINDS` key or an ARM type) to a subscription.

        Each resource needs a `name`; `id`, `type` and `location` are filled in. A SQL server
        may carry `"auditing": {"state": "Enabled"}`, served as its auditingSettings/default;
        any resource may carry `"children": {"firewallRules": [{"name": ..., "properties":
        {...}}]}`, served as the list `{id}/firewallRules`. Returns the stored resources.
        """
        arm_type = KINDS.get(kind) or _TYPES.get(kind.lower())
        if arm_type is None:
            raise ValueError(f"unknown kind {kind!r}; use one of {sorted(KINDS)}")
        stored = []
        for resource in resources:
            item = json.loads(json.dumps(resource))
            group = item.pop("resourceGroup", resource_group)
            item.setdefault("type", arm_type)
            item.setdefault("location", "westeurope")
            if arm_type in _SUBSCRIPTION_LEVEL:
                item.setdefault(
                    "id", f"/subscriptions/{subscription}/providers/{arm_type}/{item['name']}"
                )
            else:
                item.setdefault(
                    "id",
                    f"/subscriptions/{subscription}/resourceGroups/{group}/providers/"
                    f"{arm_type}/{item['name']}",
                )
            item.setdefault("properties", {})
            for child, listed in (item.get("children") or {}).items():
                for entry in listed:
                    entry.setdefault("id", f"{item['id']}/{child}/{entry['name']}")
                    entry.setdefault("type", f"{arm_type}/{child}")
                    entry.setdefault("properties", {})
            stored.append(item)
        self._resources.setdefault((subscription, arm_type.lower()), []).extend(stored)
        return stored

    # -- tokens ------------------------------------------------------------------------------

    def _issue(self, app: _App) -> str:
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        now = time.time()
        claims = {
            "aud": self.arm_url,
            "iss": f"{self.authority}/{app.tenant}/",
            "tid": app.tenant,
            "appid": app.client_id,
            "iat": now,
            "exp": now + 3600,
            "jti": secrets.token_hex(8),
        }
        payload = _b64(json.dumps(claims).encode())
        signature = hmac.new(self._key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        self.tokens_issued += 1
        return f"{header}.{payload}.{_b64(signature)}"

    def _verify(self, request: Request) -> _App | None:
        auth = request.header("authorization")
        if not auth.lower().startswith("bearer "):
            return None
        token = auth[7:].strip()
        try:
            header, payload, signature = token.split(".")
            expected = hmac.new(self._key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
            if not hmac.compare_digest(_b64(expected), signature):
                return None
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except (ValueError, json.JSONDecodeError):
            return None
        if claims["exp"] < time.time() or claims["iat"] < self._revoked_before:
            return None
        return self._apps.get((claims["tid"], claims["appid"]))

    # -- Entra ID ----------------------------------------------------------------------------

    @staticmethod
    def _aad_error(status: int, error: str, code: int, text: str) -> Reply:
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
        return Reply(
            status,
            {
                "error": error,
                "error_description": f"AADSTS{code}: {text} Trace ID: {trace} "
                f"Correlation ID: {correlation} Timestamp: {now}",
                "error_codes": [code],
                "timestamp": now,
                "trace_id": trace,
                "correlation_id": correlation,
                "error_uri": f"https://login.microsoftonline.com/error?code={code}",
            },
        )

    def _tenant_not_found(self, tenant: str) -> Reply:
        return self._aad_error(
            400,
            "invalid_tenant",
            90002,
            f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID "
            "and are signing into the correct cloud.",
        )

    def _openid(self, tenant: str) -> Reply:
        if tenant not in self._tenants:
            return self._tenant_not_found(tenant)
        base = f"{self.authority}/{tenant}"
        return Reply(
            200,
            {
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                "issuer": f"{base}/v2.0",
                "jwks_uri": f"{self.authority}/{tenant}/discovery/v2.0/keys",
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "client_secret_basic",
                ],
                "tenant_region_scope": "EU",
            },
        )

    def _token(self, tenant: str, request: Request) -> Reply:
        form = request.form()
        client_id = form.get("client_id", "")
        secret = form.get("client_secret", "")
        auth = request.header("authorization")
        if auth.lower().startswith("basic "):
            from urllib.parse import unquote_plus

            user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
            client_id, secret = unquote_plus(user) or client_id, unquote_plus(password)
        if form.get("grant_type") != "client_credentials":
            return self._aad_error(
                400, "unsupported_grant_type", 70003, "The app requested an unsupported grant."
            )
        if tenant not in self._tenants:
            return self._tenant_not_found(tenant)
        app = self._apps.get((tenant, client_id))
        if app is None:
            return self._aad_error(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory "
                f"'{tenant}'. This can happen if the application has not been installed by the "
                "administrator of the tenant or consented to by any user in the tenant.",
            )
        if not hmac.compare_digest(secret.encode(), app.secret.encode()):
            return self._aad_error(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is "
                "the client secret value, not the client secret ID, for a secret added to app "
                f"'{client_id}'.",
            )
        if app.expired:
            return self._aad_error(
                401,
                "invalid_client",
                7000222,
                f"The provided client secret keys for app '{client_id}' are expired. Visit the "
                "Azure portal to create new keys for your app.",
            )
        scope = form.get("scope", "")
        if f"{self.arm_url}/.default" not in scope.split():
            return self._aad_error(
                400,
                "invalid_resource",
                500011,
                f"The resource principal named {scope} was not found in the tenant.",
            )
        return Reply(
            200,
            {
                "token_type": "Bearer",
                "expires_in": 3599,
                "ext_expires_in": 3599,
                "access_token": self._issue(app),
            },
        )

    # -- ARM ---------------------------------------------------------------------------------

    @staticmethod
    def _arm_error(status: int, code: str, message: str) -> Reply:
        return Reply(status, {"error": {"code": code, "message": message}})

    def fault_body(self, request: Request, status: int) -> Any:
        """Injected errors look like ARM's (or Entra ID's on login paths)."""
        if request.path.startswith("/subscriptions"):
            code = {429: "TooManyRequests", 500: "InternalServerError"}.get(
                status, "ServiceUnavailable"
            )
            return {"error": {"code": code, "message": f"Injected HTTP {status}."}}
        return {
            "error": "temporarily_unavailable",
            "error_description": f"AADSTS90033: A transient error has occurred (HTTP {status}).",
        }

    def _page(self, request: Request, items: list[dict[str, Any]]) -> Reply:
        start = int(request.query.get("$skiptoken", "0") or 0)
        page = items[start : start + self.page_size]
        body: dict[str, Any] = {"value": page}
        if start + self.page_size < len(items):
            version = request.query.get("api-version", "")
            body["nextLink"] = (
                f"{self.arm_url}{request.path}?api-version={version}"
                f"&$skiptoken={start + self.page_size}"
            )
        return Reply(200, body)

    def _authorize(self, app: _App, subscription: str, action: str) -> Reply | None:
        if subscription not in self._subscriptions:
            return self._arm_error(
                404,
                "SubscriptionNotFound",
                f"The subscription '{subscription}' could not be found.",
            )
        denied = action.lower() in self._denied_everywhere or action.lower() in app.denied
        if subscription not in app.subscriptions or denied:
            object_id = uuid.uuid5(uuid.NAMESPACE_URL, app.client_id)
            return self._arm_error(
                403,
                "AuthorizationFailed",
                f"The client '{app.client_id}' with object id '{object_id}' does not have "
                f"authorization to perform action '{action}' over scope "
                f"'/subscriptions/{subscription}' or the scope is invalid. If access was "
                "recently granted, please refresh your credentials.",
            )
        return None

    def _arm(self, request: Request) -> Reply:
        app = self._verify(request)
        if app is None:
            if not request.header("authorization"):
                return self._arm_error(
                    401,
                    "AuthenticationFailed",
                    "Authentication failed. The 'Authorization' header is missing.",
                )
            return self._arm_error(
                401, "InvalidAuthenticationToken", "The access token is invalid."
            )
        if not request.query.get("api-version"):
            return self._arm_error(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            )
        parts = [unquote(p) for p in request.path.strip("/").split("/")]
        if parts == ["subscriptions"]:
            subs = [self._subscriptions[s] for s in app.subscriptions if s in self._subscriptions]
            return self._page(request, subs)
        # /subscriptions/{sub}/providers/{ns}/{type}
        if len(parts) == 5 and parts[2].lower() == "providers":
            sub, arm_type = parts[1], f"{parts[3]}/{parts[4]}"
            denied = self._authorize(app, sub, f"{arm_type}/read")
            if denied is not None:
                return denied
            items = [
                {k: v for k, v in r.items() if k not in ("auditing", "children")}
                for r in self._resources.get((sub, arm_type.lower()), [])
            ]
            return self._page(request, items)
        # /subscriptions/{s}/resourceGroups/{rg}/providers/{ns}/{type}/{name}/{child}
        if len(parts) == 9 and parts[2].lower() == "resourcegroups" and parts[4] == "providers":
            sub, arm_type, child = parts[1], f"{parts[5]}/{parts[6]}", parts[8]
            denied = self._authorize(app, sub, f"{arm_type}/{child}/read")
            if denied is not None:
                return denied
            parent_id = "/" + "/".join(parts[:8])
            for resource in self._resources.get((sub, arm_type.lower()), []):
                if resource["id"].lower() == parent_id.lower():
                    children = resource.get("children") or {}
                    if child not in children and child.lower() not in _CHILDREN.get(
                        arm_type.lower(), ()
                    ):
                        break
                    return self._page(request, list(children.get(child, [])))
            return self._arm_error(
                404, "ResourceNotFound", f"The Resource '{parent_id}/{child}' was not found."
            )
        # /subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Sql/servers/{n}/
        #   auditingSettings/default
        if len(parts) == 10 and parts[8].lower() == "auditingsettings":
            sub = parts[1]
            denied = self._authorize(app, sub, "Microsoft.Sql/servers/auditingSettings/read")
            if denied is not None:
                return denied
            server_id = "/" + "/".join(parts[:8])
            for server in self._resources.get((sub, "microsoft.sql/servers"), []):
                if server["id"].lower() == server_id.lower():
                    settings = server.get("auditing") or {"state": "Disabled"}
                    return Reply(
                        200,
                        {
                            "id": f"{server_id}/auditingSettings/Default",
                            "name": "Default",
                            "type": "Microsoft.Sql/servers/auditingSettings",
                            "properties": {"retentionDays": 0, **settings},
                        },
                    )
            return self._arm_error(
                404, "ResourceNotFound", f"The Resource '{server_id}' was not found."
            )
        return self._arm_error(404, "InvalidResourceType", f"No route for {request.path}.")

    # -- routing -----------------------------------------------------------------------------

    def route(self, request: Request) -> Reply:
        """Dispatch to Entra ID or ARM."""
        parts = request.path.strip("/").split("/")
        if parts[0] == "subscriptions":
            if request.method != "GET":
                return self._arm_error(405, "MethodNotAllowed", "Read-only stand-in.")
            return self._arm(request)
        if parts[:3] == ["common", "discovery", "instance"]:
            endpoint = request.query.get("authorization_endpoint", "")
            tenant = endpoint.split("/")[3] if endpoint.count("/") >= 4 else "common"
            return Reply(
                200,
                {
                    "tenant_discovery_endpoint": (
                        f"{self.authority}/{tenant}/v2.0/.well-known/openid-configuration"
                    ),
                    "api-version": "1.1",
                    "metadata": [],
                },
            )
        if len(parts) == 4 and parts[1:] == ["v2.0", ".well-known", "openid-configuration"]:
            return self._openid(parts[0])
        if len(parts) == 4 and parts[1:] == ["oauth2", "v2.0", "token"]:
            if request.method != "POST":
                return Reply(405, {"error": "invalid_request"})
            return self._token(parts[0], request)
        return Reply(404, {"error": "not_found", "error_description": request.path})
