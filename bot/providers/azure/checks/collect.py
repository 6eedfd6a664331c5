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
COMPUTE_API_VERSION = "2023-09-01"
WEB_API_VERSION = "2022-09-01"
INSIGHTS_DIAGNOSTIC_API_VERSION = "2021-05-01-preview"
INSIGHTS_ALERTS_API_VERSION = "2020-10-01"
AUTHORIZATION_API_VERSION = "2022-04-01"
SECURITY_PRICING_API_VERSION = "2023-01-01"


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


def sql_server_children(session: ArmReader, server_id: str, child: str) -> list[dict[str, Any]]:
    """A SQL server's child list, e.g. `firewallRules` or `administrators`."""
    return session.get_all(f"{server_id}/{child}", {"api-version": SQL_API_VERSION})


def virtual_machines(session: ArmReader, subscription: str) -> list[dict[str, Any]]:
    """Virtual machines of a subscription."""
    return list_resources(
        session, subscription, "Microsoft.Compute/virtualMachines", COMPUTE_API_VERSION
    )


def disks(session: ArmReader, subscription: str) -> list[dict[str, Any]]:
    """Managed disks of a subscription."""
    return list_resources(session, subscription, "Microsoft.Compute/disks", COMPUTE_API_VERSION)


def web_apps(session: ArmReader, subscription: str) -> list[dict[str, Any]]:
    """App Service apps of a subscription."""
    return list_resources(session, subscription, "Microsoft.Web/sites", WEB_API_VERSION)


def diagnostic_settings(session: ArmReader, subscription: str) -> list[dict[str, Any]]:
    """The subscription's activity-log diagnostic settings."""
    return list_resources(
        session,
        subscription,
        "Microsoft.Insights/diagnosticSettings",
        INSIGHTS_DIAGNOSTIC_API_VERSION,
    )


def activity_log_alerts(session: ArmReader, subscription: str) -> list[dict[str, Any]]:
    """The subscription's activity log alert rules."""
    return list_resources(
        session, subscription, "Microsoft.Insights/activityLogAlerts", INSIGHTS_ALERTS_API_VERSION
    )


def custom_roles(session: ArmReader, subscription: str) -> list[dict[str, Any]]:
    """Custom role definitions visible at the subscription."""
    roles = session.get_all(
        f"/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions",
        {"api-version": AUTHORIZATION_API_VERSION, "$filter": "type eq 'CustomRole'"},
    )
    return [r for r in roles if str(properties(r).get("type", "CustomRole")) == "CustomRole"]


def pricings(session: ArmReader, subscription: str) -> list[dict[str, Any]]:
    """Microsoft Defender for Cloud plans (pricing tiers) of a subscription."""
    return list_resources(
        session, subscription, "Microsoft.Security/pricings", SECURITY_PRICING_API_VERSION
    )


def resource_label(resource: Mapping[str, Any]) -> str:
    """How a finding names a resource: its ARM id (unique), else its name."""
    return str(resource.get("id") or resource.get("name") or "?")


def properties(resource: Mapping[str, Any]) -> Mapping[str, Any]:
    """A resource's `properties` object (empty when missing)."""
    props = resource.get("properties")
    return props if isinstance(props, Mapping) else {}
