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

    compute_base: str
    storage_base: str
    iam_base: str

    def get_json(self, url: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        """GET one API object."""
        ...

    def get_all(
        self, url: str, items_key: str = "items", params: Mapping[str, str] | None = None
    ) -> list[dict[str, Any]]:
        """GET every item of a paged API list."""
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
