"""The Azure checks: against the loopback ARM stand-in, and their pure judge functions."""

from __future__ import annotations

import importlib
import pkgutil
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from bot.domain import CancelToken, CheckResult, ErrorCategory
from bot.playground.azure import AzureStandIn
from bot.providers import check_by_id, checks_for
from bot.providers.azure import checks as azure_checks
from bot.providers.azure.adapter import ADAPTER, AzureSession
from bot.providers.azure.checks import (
    CHECKS,
    REQUIRED_PERMISSIONS,
    SESSION_PERMISSIONS,
    appservice_https_only,
    compute_managed_disks,
    compute_unattached_disk_cmk,
    defender_resource_manager,
    defender_servers,
    iam_custom_owner_roles,
    keyvault_private_endpoint,
    keyvault_rbac,
    keyvault_recoverable,
    monitor_alert_nsg_write,
    monitor_alert_policy_assignment_write,
    monitor_diagnostic_setting,
    nsg_admin_ports,
    nsg_udp_internet,
    sql_auditing,
    sql_entra_admin,
    sql_firewall_open,
    storage_default_network_deny,
    storage_infrastructure_encryption,
    storage_min_tls,
    storage_public_blob,
    storage_secure_transfer,
    storage_trusted_services,
)
from bot.providers.azure.checks._alerts import watches
from bot.providers.azure.credentials import AzureCredentials

SECRET = "checks-test-secret-value"
SUB = str(uuid.uuid4())
SUB2 = str(uuid.uuid4())  # a second subscription: the other side of subscription-wide checks
CREDS = AzureCredentials(str(uuid.uuid4()), str(uuid.uuid4()), SECRET)


@pytest.fixture
def arm() -> Iterator[AzureStandIn]:
    """A stand-in with one app reading SUB, seeded with passing and failing resources."""
    with AzureStandIn() as standin:
        standin.add_app(CREDS.tenant_id, CREDS.client_id, SECRET, subscriptions=[SUB, SUB2])
        _seed(standin)
        yield standin


ALERTED_OPERATIONS = [
    importlib.import_module(f"{azure_checks.__name__}.{info.name}").OPERATION
    for info in pkgutil.iter_modules(azure_checks.__path__)
    if info.name.startswith("monitor_alert_")
]
"""Every operation an activity-log alert check looks for: all watched in SUB, none in SUB2."""

DEFENDER_PLANS = [
    importlib.import_module(f"{azure_checks.__name__}.{info.name}").PLAN
    for info in pkgutil.iter_modules(azure_checks.__path__)
    if info.name.startswith("defender_")
]
"""Every Defender plan a check looks for: all on in SUB, off or unlisted in SUB2."""


def _rule(name: str, priority: int, **props: Any) -> dict[str, Any]:
    base = {
        "protocol": "Tcp",
        "sourcePortRange": "*",
        "destinationAddressPrefix": "*",
        "access": "Allow",
        "priority": priority,
        "direction": "Inbound",
    }
    return {"name": name, "properties": {**base, **props}}


def _seed(standin: AzureStandIn) -> None:
    standin.seed(
        SUB,
        "storage_accounts",
        [
            {
                "name": "stgood",
                "properties": {
                    "supportsHttpsTrafficOnly": True,
                    "allowBlobPublicAccess": False,
                    "minimumTlsVersion": "TLS1_2",
                    "networkAcls": {"defaultAction": "Deny", "bypass": "Logging, AzureServices"},
                    "encryption": {"requireInfrastructureEncryption": True},
                },
            },
            {
                "name": "stbad",
                "properties": {
                    "supportsHttpsTrafficOnly": False,
                    "allowBlobPublicAccess": True,
                    "minimumTlsVersion": "TLS1_0",
                    "networkAcls": {"defaultAction": "Allow", "bypass": "None"},
                    "encryption": {"requireInfrastructureEncryption": False},
                },
            },
            {"name": "stlegacy", "properties": {}},
        ],
    )
    standin.seed(
        SUB,
        "network_security_groups",
        [
            {
                "name": "nsg-internal",
                "properties": {
                    "securityRules": [
                        _rule(
                            "ssh-vnet",
                            100,
                            sourceAddressPrefix="10.0.0.0/8",
                            destinationPortRange="22",
                        )
                    ]
                },
            },
            {
                "name": "nsg-ssh-open",
                "properties": {
                    "securityRules": [
                        _rule("ssh-any", 100, sourceAddressPrefix="*", destinationPortRange="22")
                    ]
                },
            },
            {
                "name": "nsg-rdp-range",
                "properties": {
                    "securityRules": [
                        _rule(
                            "wide",
                            300,
                            protocol="*",
                            sourceAddressPrefix="Internet",
                            destinationPortRanges=["80", "3000-4000"],
                        )
                    ]
                },
            },
            {
                "name": "nsg-deny-first",
                "properties": {
                    "securityRules": [
                        _rule("allow-ssh", 200, sourceAddressPrefix="*", destinationPortRange="22"),
                        _rule(
                            "deny-ssh",
                            100,
                            access="Deny",
                            sourceAddressPrefix="Internet",
                            destinationPortRange="22",
                        ),
                    ]
                },
            },
        ],
        resource_group="rg-net",
    )
    standin.seed(
        SUB,
        "key_vaults",
        [
            {
                "name": "kv-good",
                "properties": {
                    "enableSoftDelete": True,
                    "enablePurgeProtection": True,
                    "enableRbacAuthorization": True,
                    "privateEndpointConnections": [
                        {
                            "properties": {
                                "privateLinkServiceConnectionState": {"status": "Approved"}
                            }
                        }
                    ],
                },
            },
            {"name": "kv-bad", "properties": {"enableSoftDelete": True}},
        ],
    )
    standin.seed(
        SUB,
        "sql_servers",
        [
            {
                "name": "sql-good",
                "auditing": {"state": "Enabled"},
                "children": {
                    "firewallRules": [
                        {
                            "name": "office",
                            "properties": {
                                "startIpAddress": "203.0.113.0",
                                "endIpAddress": "203.0.113.255",
                            },
                        }
                    ],
                    "administrators": [
                        {
                            "name": "ActiveDirectory",
                            "properties": {
                                "administratorType": "ActiveDirectory",
                                "login": "dba-group",
                            },
                        }
                    ],
                },
            },
            {
                "name": "sql-bad",
                "children": {
                    "firewallRules": [
                        {
                            "name": "AllowAllWindowsAzureIps",
                            "properties": {
                                "startIpAddress": "0.0.0.0",
                                "endIpAddress": "0.0.0.0",
                            },
                        }
                    ]
                },
            },
        ],
    )
    standin.seed(
        SUB,
        "virtual_machines",
        [
            {
                "name": "vm-managed",
                "properties": {
                    "storageProfile": {
                        "osDisk": {"name": "os1", "managedDisk": {"id": "/x/disks/os1"}},
                        "dataDisks": [],
                    }
                },
            },
            {
                "name": "vm-vhd",
                "properties": {
                    "storageProfile": {
                        "osDisk": {"name": "os2", "vhd": {"uri": "https://st/vhds/os2.vhd"}}
                    }
                },
            },
        ],
    )
    standin.seed(
        SUB,
        "disks",
        [
            {
                "name": "disk-cmk",
                "properties": {
                    "diskState": "Unattached",
                    "encryption": {"type": "EncryptionAtRestWithCustomerKey"},
                },
            },
            {
                "name": "disk-platform",
                "properties": {
                    "diskState": "Unattached",
                    "encryption": {"type": "EncryptionAtRestWithPlatformKey"},
                },
            },
            {"name": "disk-attached", "properties": {"diskState": "Attached"}},
        ],
    )
    standin.seed(
        SUB,
        "web_sites",
        [
            {"name": "app-https", "properties": {"httpsOnly": True}},
            {"name": "app-http", "properties": {"httpsOnly": False}},
        ],
    )
    standin.seed(
        SUB,
        "role_definitions",
        [
            {
                "name": "narrow-role",
                "properties": {
                    "roleName": "Reader plus",
                    "type": "CustomRole",
                    "permissions": [{"actions": ["*/read"]}],
                    "assignableScopes": [f"/subscriptions/{SUB}"],
                },
            },
            {
                "name": "owner-like",
                "properties": {
                    "roleName": "Everything",
                    "type": "CustomRole",
                    "permissions": [{"actions": ["*"]}],
                    "assignableScopes": [f"/subscriptions/{SUB}"],
                },
            },
        ],
    )
    categories = ("Administrative", "Alert", "Policy", "Security")
    standin.seed(
        SUB,
        "diagnostic_settings",
        [
            {
                "name": "to-workspace",
                "properties": {"logs": [{"category": c, "enabled": True} for c in categories]},
            }
        ],
    )
    standin.seed(
        SUB2,
        "diagnostic_settings",
        [
            {
                "name": "partial",
                "properties": {"logs": [{"category": "Administrative", "enabled": True}]},
            }
        ],
    )
    standin.seed(
        SUB,
        "pricings",
        [{"name": plan, "properties": {"pricingTier": "Standard"}} for plan in DEFENDER_PLANS],
    )
    standin.seed(
        SUB2,
        "pricings",
        [
            {"name": plan, "properties": {"pricingTier": "Free"}}
            for plan in DEFENDER_PLANS
            if plan != "Arm"  # left out of the list altogether
        ],
    )
    standin.seed(
        SUB,
        "activity_log_alerts",
        [
            {
                "name": f"alert-{i}",
                "location": "global",
                "properties": {
                    "enabled": True,
                    "scopes": [f"/subscriptions/{SUB}"],
                    "condition": {
                        "allOf": [
                            {"field": "category", "equals": "Administrative"},
                            {"field": "operationName", "equals": operation},
                        ]
                    },
                    "actions": {"actionGroups": [{"actionGroupId": "/x/actionGroups/sec"}]},
                },
            }
            for i, operation in enumerate(ALERTED_OPERATIONS)
        ],
    )


@pytest.fixture
def session(arm: AzureStandIn) -> Iterator[AzureSession]:
    """A session on the stand-in."""
    with ADAPTER.open_session(CREDS, arm.endpoints(), CancelToken()) as opened:
        yield opened


def verdicts(results: list[CheckResult]) -> dict[str, bool]:
    """resource name (last id segment) → passed."""
    return {r.resource.rsplit("/", 1)[-1]: r.passed for r in results}


# --------------------------------------------------------------------------------------------
# the catalogue
# --------------------------------------------------------------------------------------------


def test_catalogue() -> None:
    ids = [c.meta.id for c in CHECKS]
    assert len(ids) >= 4
    assert len(set(ids)) == len(ids)
    for check in CHECKS:
        assert check.meta.provider == "azure"
        assert re.fullmatch(r"azure\.[a-z]+\.[a-z_]+", check.meta.id)
        assert len(check.meta.id) <= 75  # fits a Slack option value
        assert check.meta.title and check.meta.remediation
    assert [c.meta.id for c in checks_for("azure")] == ids
    found = check_by_id("azure", "azure.sql.auditing")
    assert found is not None
    assert found.run is sql_auditing.run


# --------------------------------------------------------------------------------------------
# against the stand-in
# --------------------------------------------------------------------------------------------


def test_storage_checks(session: AzureSession) -> None:
    assert verdicts(storage_secure_transfer.run(session, SUB)) == {
        "stgood": True,
        "stbad": False,
        "stlegacy": False,
    }
    assert verdicts(storage_public_blob.run(session, SUB)) == {
        "stgood": True,
        "stbad": False,
        "stlegacy": False,
    }
    assert verdicts(storage_min_tls.run(session, SUB)) == {
        "stgood": True,
        "stbad": False,
        "stlegacy": False,
    }
    result = storage_secure_transfer.run(session, SUB)[0]
    assert result.resource == (
        f"/subscriptions/{SUB}/resourceGroups/rg-cspm/providers/"
        "Microsoft.Storage/storageAccounts/stgood"
    )
    assert result.region == "westeurope"


def test_nsg_check(session: AzureSession) -> None:
    results = nsg_admin_ports.run(session, SUB)
    assert verdicts(results) == {
        "nsg-internal": True,
        "nsg-ssh-open": False,
        "nsg-rdp-range": False,
        "nsg-deny-first": True,
    }
    by_name = {r.resource.rsplit("/", 1)[-1]: r for r in results}
    assert "SSH (22/tcp)" in by_name["nsg-ssh-open"].detail
    assert "ssh-any" in by_name["nsg-ssh-open"].detail
    assert "RDP (3389/tcp)" in by_name["nsg-rdp-range"].detail


def test_key_vault_check(session: AzureSession) -> None:
    results = keyvault_recoverable.run(session, SUB)
    assert verdicts(results) == {"kv-good": True, "kv-bad": False}
    assert "purge protection" in next(r for r in results if not r.passed).detail


def test_sql_auditing_check_reads_each_server(arm: AzureStandIn, session: AzureSession) -> None:
    arm.reset_calls()
    assert verdicts(sql_auditing.run(session, SUB)) == {"sql-good": True, "sql-bad": False}
    assert arm.count("/subscriptions/", method="GET") == 3  # list + one policy per server


def test_every_check_runs_through_the_catalogue_with_paging(
    arm: AzureStandIn, session: AzureSession
) -> None:
    """Each check finds a passing and a failing resource (subscription-wide checks: one
    subscription each)."""
    arm.page_size = 1
    for check in CHECKS:
        results = list(check.run(session, SUB))
        assert results, check.meta.id
        if all(r.resource == f"/subscriptions/{SUB}" for r in results):
            results += check.run(session, SUB2)
        assert any(r.passed for r in results), check.meta.id
        assert any(not r.passed for r in results), check.meta.id


def test_empty_subscription_has_no_findings(arm: AzureStandIn) -> None:
    other = str(uuid.uuid4())
    arm.add_app(str(uuid.uuid4()), str(uuid.uuid4()), SECRET, subscriptions=[other])
    arm.add_app(CREDS.tenant_id, CREDS.client_id, SECRET, subscriptions=[SUB, other])
    with ADAPTER.open_session(CREDS, arm.endpoints(), CancelToken()) as session:
        for check in CHECKS:
            results = list(check.run(session, other))
            if results:  # subscription-wide controls judge the subscription itself
                assert [(r.resource, r.passed) for r in results] == [
                    (f"/subscriptions/{other}", False)
                ], check.meta.id


@pytest.mark.parametrize("module", CHECKS, ids=lambda c: c.meta.id)
def test_declared_permissions_are_exact(arm: AzureStandIn, module: Any) -> None:
    """With every other action denied the check runs; without one of its own it fails
    naming that action."""
    assert set(module.permissions) <= set(REQUIRED_PERMISSIONS)
    assert SESSION_PERMISSIONS[0] in REQUIRED_PERMISSIONS
    with ADAPTER.open_session(CREDS, arm.endpoints(max_attempts=1), CancelToken()) as session:
        for action in set(REQUIRED_PERMISSIONS) - set(module.permissions):
            arm.deny(action)
        assert module.run(session, SUB), module.meta.id
        for action in module.permissions:
            arm.clear_denials()
            arm.deny(action)
            with pytest.raises(Exception) as caught:
                module.run(session, SUB)
            error = ADAPTER.classify(caught.value, [SECRET])
            assert error.category is ErrorCategory.PERMISSION_DENIED
            assert action in error.message


# --------------------------------------------------------------------------------------------
# judges
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "port", "expected"),
    [
        ("*", 22, True),
        ("22", 22, True),
        ("21", 22, False),
        ("20-25", 22, True),
        ("3390-4000", 3389, False),
        ("junk", 22, False),
    ],
)
def test_port_matches(spec: str, port: int, expected: bool) -> None:
    assert nsg_admin_ports.port_matches(spec, port) is expected


def test_open_admin_ports_rules() -> None:
    judge = nsg_admin_ports.open_admin_ports
    assert judge([_rule("a", 100, sourceAddressPrefix="*", destinationPortRange="*")]) == {
        22: "a",
        3389: "a",
    }
    assert judge([_rule("udp", 100, protocol="Udp", sourceAddressPrefix="*")]) == {}
    assert judge([_rule("out", 100, direction="Outbound", sourceAddressPrefix="*")]) == {}
    prefixes = _rule(
        "p", 100, sourceAddressPrefixes=["10.0.0.0/8", "0.0.0.0/0"], destinationPortRange="3389"
    )
    assert judge([prefixes]) == {3389: "p"}
    # a deny for another source does not close the port to the Internet
    deny_vnet = _rule(
        "d", 50, access="Deny", sourceAddressPrefix="VirtualNetwork", destinationPortRange="22"
    )
    allow_any = _rule("a", 100, sourceAddressPrefix="Any", destinationPortRange="22")
    assert judge([deny_vnet, allow_any]) == {22: "a"}
    assert judge([]) == {}


def test_storage_judges() -> None:
    account = {"id": "/x/st", "location": "eastus", "properties": {"minimumTlsVersion": "TLS1_3"}}
    assert storage_min_tls.judge(account).passed
    assert not storage_secure_transfer.judge(account).passed
    public = storage_public_blob.judge(account)
    assert not public.passed and "not explicitly" in public.detail
    assert storage_secure_transfer.judge({"name": "n"}).resource == "n"


def test_key_vault_and_sql_judges() -> None:
    assert not keyvault_recoverable.judge({"properties": {"enablePurgeProtection": True}}).passed
    assert sql_auditing.judge({"id": "s"}, {"properties": {"state": "Enabled"}}).passed
    assert not sql_auditing.judge({"id": "s"}, {}).passed


# --------------------------------------------------------------------------------------------
# the CIS Azure checks added beside the first six
# --------------------------------------------------------------------------------------------


def test_storage_network_and_encryption(session: AzureSession) -> None:
    for check in (
        storage_default_network_deny,
        storage_trusted_services,
        storage_infrastructure_encryption,
    ):
        assert verdicts(check.run(session, SUB)) == {
            "stgood": True,
            "stbad": False,
            "stlegacy": False,
        }, check.META.id
    bypass = {r.resource.rsplit("/", 1)[-1]: r for r in storage_trusted_services.run(session, SUB)}
    assert bypass["stgood"].detail == "Network rule bypass: Logging, AzureServices."


def test_key_vault_rbac_and_private_endpoint(session: AzureSession) -> None:
    assert verdicts(keyvault_rbac.run(session, SUB)) == {"kv-good": True, "kv-bad": False}
    assert verdicts(keyvault_private_endpoint.run(session, SUB)) == {
        "kv-good": True,
        "kv-bad": False,
    }


def test_sql_firewall_and_admin_read_each_server(arm: AzureStandIn, session: AzureSession) -> None:
    firewall = {r.resource.rsplit("/", 1)[-1]: r for r in sql_firewall_open.run(session, SUB)}
    assert (firewall["sql-good"].passed, firewall["sql-bad"].passed) == (True, False)
    assert firewall["sql-bad"].detail == ("Open rules: AllowAllWindowsAzureIps (0.0.0.0–0.0.0.0).")
    admins = {r.resource.rsplit("/", 1)[-1]: r for r in sql_entra_admin.run(session, SUB)}
    assert admins["sql-good"].passed and admins["sql-good"].detail == "Entra ID admin: dba-group."
    assert not admins["sql-bad"].passed


def test_nsg_udp(session: AzureSession) -> None:
    results = verdicts(nsg_udp_internet.run(session, SUB))
    assert results["nsg-internal"] is True
    assert results["nsg-rdp-range"] is False  # protocol * from Internet


def test_compute_and_app_service(session: AzureSession) -> None:
    assert verdicts(compute_managed_disks.run(session, SUB)) == {
        "vm-managed": True,
        "vm-vhd": False,
    }
    # the attached disk is not judged
    assert verdicts(compute_unattached_disk_cmk.run(session, SUB)) == {
        "disk-cmk": True,
        "disk-platform": False,
    }
    assert verdicts(appservice_https_only.run(session, SUB)) == {
        "app-https": True,
        "app-http": False,
    }


def test_custom_owner_roles(session: AzureSession) -> None:
    results = {r.resource.rsplit("/", 1)[-1]: r for r in iam_custom_owner_roles.run(session, SUB)}
    assert (results["narrow-role"].passed, results["owner-like"].passed) == (True, False)
    assert results["owner-like"].detail == f"Everything allows '*' at /subscriptions/{SUB}."


def test_subscription_wide_logging(session: AzureSession) -> None:
    [good] = monitor_diagnostic_setting.run(session, SUB)
    [partial] = monitor_diagnostic_setting.run(session, SUB2)
    assert (good.resource, good.passed) == (f"/subscriptions/{SUB}", True)
    assert not partial.passed
    assert partial.detail == "Setting partial misses: Alert, Policy, Security."
    for check in (monitor_alert_nsg_write, monitor_alert_policy_assignment_write):
        [watched] = check.run(session, SUB)
        [unwatched] = check.run(session, SUB2)
        assert watched.passed and not unwatched.passed, check.META.id
        assert check.OPERATION in unwatched.detail


@pytest.mark.parametrize(
    ("change", "watched"),
    [
        ({}, True),
        ({"enabled": False}, False),
        ({"scopes": ["/subscriptions/other"]}, False),
        ({"actions": {"actionGroups": []}}, False),
    ],
)
def test_alert_judge(change: dict[str, Any], watched: bool) -> None:
    operation = "Microsoft.Network/networkSecurityGroups/write"
    alert = {
        "properties": {
            "enabled": True,
            "scopes": [f"/subscriptions/{SUB}"],
            "condition": {"allOf": [{"field": "operationName", "equals": operation}]},
            "actions": {"actionGroups": [{"actionGroupId": "g"}]},
            **change,
        }
    }
    assert watches(alert, operation, SUB) is watched


def test_defender_plans(session: AzureSession) -> None:
    plans = [c for c in CHECKS if c.meta.id.startswith("azure.defender.")]
    assert len(plans) == len(DEFENDER_PLANS) >= 6
    for check in plans:
        [on] = check.run(session, SUB)
        [off] = check.run(session, SUB2)
        assert on.passed and not off.passed, check.meta.id
    [unlisted] = defender_resource_manager.run(session, SUB2)
    assert unlisted.detail == "Defender plan Arm: not listed."
    [free] = defender_servers.run(session, SUB2)
    assert free.detail == "Defender plan VirtualMachines: Free."
