"""Collectors for the Azure checks: the ARM reads, nothing judged here.

Each collector takes the scan's session (anything with `get_json` / `get_all`, normally
`bot.providers.azure.adapter.AzureSession`) and a subscription id, and returns ARM
resources as dicts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from bot.providers.azure.adapter import ArmError

STORAGE_API_VERSION = "2023-05-01"
NETWORK_API_VERSION = "2023-09-01"
KEYVAULT_API_VERSION = "2023-07-01"
SQL_API_VERSION = "2021-11-01"


class ArmReader(Protocol):
    """What the collectors need from a session."""

    def get_json(self, path: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        """GET one ARM object."""
        ...

    def get_all(self, path: str, params: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
        """GET every item of a paged ARM list."""
        ...


def list_resources(
    session: ArmReader, subscription: str, resource_type: str, api_version: str
) -> list[dict[str, Any]]:
    """Every resource of `resource_type` (e.g. "Microsoft.Storage/storageAccounts") in a
    subscription. A resource provider the subscription never registered has none."""
    try:
        return session.get_all(
            f"/subscriptions/{subscription}/providers/{resource_type}",
            {"api-version": api_version},
        )
    except ArmError as exc:
        if exc.code == "MissingSubscriptionRegistration":
            return []
        raise


def storage_accounts(session: ArmReader, subscription: str) -> list[dict[str, Any]]:
    """Storage accounts of a subscription."""
    return list_resources(
        session, subscription, "Microsoft.Storage/storageAccounts", STORAGE_API_VERSION
    )


def network_security_groups(session: ArmReader, subscription: str) -> list[dict[str, Any]]:
    """Network security groups of a subscription (with their security rules)."""
    return list_resources(
        session, subscription, "Microsoft.Network/networkSecurityGroups", NETWORK_API_VERSION
    )


def key_vaults(session: ArmReader, subscription: str) -> list[dict[str, Any]]:
    """Key vaults of a subscription."""
    return list_resources(session, subscription, "Microsoft.KeyVault/vaults", KEYVAULT_API_VERSION)


def sql_servers(session: ArmReader, subscription: str) -> list[dict[str, Any]]:
    """Azure SQL logical servers of a subscription."""
    return list_resources(session, subscription, "Microsoft.Sql/servers", SQL_API_VERSION)


def sql_server_auditing(session: ArmReader, server_id: str) -> dict[str, Any]:
    """A SQL server's blob auditing policy (`auditingSettings/default`)."""
    return session.get_json(
        f"{server_id}/auditingSettings/default", {"api-version": SQL_API_VERSION}
    )


def resource_label(resource: Mapping[str, Any]) -> str:
    """How a finding names a resource: its ARM id (unique), else its name."""
    return str(resource.get("id") or resource.get("name") or "?")


def properties(resource: Mapping[str, Any]) -> Mapping[str, Any]:
    """A resource's `properties` object (empty when missing)."""
    props = resource.get("properties")
    return props if isinstance(props, Mapping) else {}
