"""Collectors for the GCP checks: the API reads, nothing judged here.

Each collector takes the scan's session (normally `bot.providers.gcp.adapter.GcpSession`:
`get_json`, `get_all` and the API base URLs) and a project id, and returns the API's
resources as dicts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import quote


class GcpReader(Protocol):
    """What the collectors need from a session."""

    api_base: str
    compute_base: str
    storage_base: str
    iam_base: str
    sqladmin_base: str
    logging_base: str
    kms_base: str

    def get_json(self, url: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        """GET one API object."""
        ...

    def get_all(
        self, url: str, items_key: str = "items", params: Mapping[str, str] | None = None
    ) -> list[dict[str, Any]]:
        """GET every item of a paged API list."""
        ...

    def post_json(self, url: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST a read-only method that takes a JSON body."""
        ...


def _seg(value: str) -> str:
    return quote(value, safe="@")


def firewalls(session: GcpReader, project: str) -> list[dict[str, Any]]:
    """VPC firewall rules of a project (Compute API)."""
    return session.get_all(
        f"{session.compute_base}/compute/v1/projects/{_seg(project)}/global/firewalls"
    )


def networks(session: GcpReader, project: str) -> list[dict[str, Any]]:
    """VPC networks of a project (Compute API)."""
    return session.get_all(
        f"{session.compute_base}/compute/v1/projects/{_seg(project)}/global/networks"
    )


def buckets(session: GcpReader, project: str) -> list[dict[str, Any]]:
    """Cloud Storage buckets of a project."""
    return session.get_all(
        f"{session.storage_base}/storage/v1/b", params={"project": project, "projection": "noAcl"}
    )


def bucket_iam_policy(session: GcpReader, bucket: str) -> dict[str, Any]:
    """A bucket's IAM policy."""
    return session.get_json(f"{session.storage_base}/storage/v1/b/{_seg(bucket)}/iam")


def service_accounts(session: GcpReader, project: str) -> list[dict[str, Any]]:
    """Service accounts of a project (IAM API)."""
    return session.get_all(
        f"{session.iam_base}/v1/projects/{_seg(project)}/serviceAccounts", items_key="accounts"
    )


def user_managed_keys(session: GcpReader, project: str, email: str) -> list[dict[str, Any]]:
    """A service account's user-managed (downloadable) keys."""
    body = session.get_json(
        f"{session.iam_base}/v1/projects/{_seg(project)}/serviceAccounts/{_seg(email)}/keys",
        {"keyTypes": "USER_MANAGED"},
    )
    return [k for k in body.get("keys") or [] if isinstance(k, dict)]


def instances(session: GcpReader, project: str) -> list[dict[str, Any]]:
    """Every Compute instance of a project, all zones (aggregated list, paged)."""
    url = f"{session.compute_base}/compute/v1/projects/{_seg(project)}/aggregated/instances"
    found: list[dict[str, Any]] = []
    query: dict[str, str] = {}
    seen: set[str] = set()
    while True:
        page = session.get_json(url, query)
        for scoped in (page.get("items") or {}).values():
            found.extend(i for i in scoped.get("instances") or [] if isinstance(i, dict))
        token = page.get("nextPageToken")
        if not token or token in seen:
            return found
        seen.add(str(token))
        query["pageToken"] = str(token)


def compute_project(session: GcpReader, project: str) -> dict[str, Any]:
    """The Compute view of a project (its project-wide instance metadata)."""
    return session.get_json(f"{session.compute_base}/compute/v1/projects/{_seg(project)}")


def metadata_items(holder: Mapping[str, Any], key: str = "metadata") -> dict[str, str]:
    """Compute metadata items as a dict (`metadata` of an instance,
    `commonInstanceMetadata` of a project)."""
    items = (holder.get(key) or {}).get("items") or []
    return {str(i.get("key")): str(i.get("value")) for i in items if isinstance(i, Mapping)}


def sql_instances(session: GcpReader, project: str) -> list[dict[str, Any]]:
    """Cloud SQL instances of a project (SQL Admin API)."""
    return session.get_all(f"{session.sqladmin_base}/v1/projects/{_seg(project)}/instances")


def sinks(session: GcpReader, project: str) -> list[dict[str, Any]]:
    """Log sinks of a project (Cloud Logging API)."""
    return session.get_all(
        f"{session.logging_base}/v2/projects/{_seg(project)}/sinks", items_key="sinks"
    )


def project_iam_policy(session: GcpReader, project: str) -> dict[str, Any]:
    """The project's IAM policy (Resource Manager getIamPolicy, version 3)."""
    return session.post_json(
        f"{session.api_base}/v1/projects/{_seg(project)}:getIamPolicy",
        {"options": {"requestedPolicyVersion": 3}},
    )


def crypto_keys(session: GcpReader, project: str) -> list[dict[str, Any]]:
    """Every Cloud KMS key of a project: locations, then key rings, then keys."""
    base = f"{session.kms_base}/v1/projects/{_seg(project)}/locations"
    found: list[dict[str, Any]] = []
    for location in session.get_all(base, items_key="locations"):
        location_id = str(location.get("locationId") or "")
        rings = session.get_all(f"{base}/{_seg(location_id)}/keyRings", items_key="keyRings")
        for ring in rings:
            found += session.get_all(
                f"{session.kms_base}/v1/{ring['name']}/cryptoKeys", items_key="cryptoKeys"
            )
    return found
