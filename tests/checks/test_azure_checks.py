"""The Azure checks: against the loopback ARM stand-in, and their pure judge functions."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from bot.checks.azure import (
    _MODULES,
    CHECKS,
    REQUIRED_PERMISSIONS,
    SESSION_PERMISSIONS,
    keyvault_recoverable,
    nsg_admin_ports,
    sql_auditing,
    storage_min_tls,
    storage_public_blob,
    storage_secure_transfer,
)
from bot.checks.registry import check_by_id, checks_for
from bot.clouds.azure import ADAPTER, AzureSession
from bot.domain import AzureCredentials, CancelToken, CheckResult, ErrorCategory, Provider
from bot.playground.azure import AzureStandIn

SECRET = "checks-test-secret-value"
SUB = str(uuid.uuid4())
CREDS = AzureCredentials(str(uuid.uuid4()), str(uuid.uuid4()), SECRET)


@pytest.fixture
def arm() -> Iterator[AzureStandIn]:
    """A stand-in with one app reading SUB, seeded with passing and failing resources."""
    with AzureStandIn() as standin:
        standin.add_app(CREDS.tenant_id, CREDS.client_id, SECRET, subscriptions=[SUB])
        _seed(standin)
        yield standin


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
                },
            },
            {
                "name": "stbad",
                "properties": {
                    "supportsHttpsTrafficOnly": False,
                    "allowBlobPublicAccess": True,
                    "minimumTlsVersion": "TLS1_0",
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
                "properties": {"enableSoftDelete": True, "enablePurgeProtection": True},
            },
            {"name": "kv-bad", "properties": {"enableSoftDelete": True}},
        ],
    )
    standin.seed(
        SUB,
        "sql_servers",
        [
            {"name": "sql-good", "auditing": {"state": "Enabled"}},
            {"name": "sql-bad"},
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
        assert check.meta.provider is Provider.AZURE
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
    arm.page_size = 1
    for check in CHECKS:
        results = list(check.run(session, SUB))
        assert results, check.meta.id
        assert any(r.passed for r in results) and any(not r.passed for r in results)


def test_empty_subscription_has_no_findings(arm: AzureStandIn) -> None:
    other = str(uuid.uuid4())
    arm.add_app(str(uuid.uuid4()), str(uuid.uuid4()), SECRET, subscriptions=[other])
    arm.add_app(CREDS.tenant_id, CREDS.client_id, SECRET, subscriptions=[SUB, other])
    with ADAPTER.open_session(CREDS, arm.endpoints(), CancelToken()) as session:
        for check in CHECKS:
            assert list(check.run(session, other)) == []


@pytest.mark.parametrize("module", _MODULES, ids=lambda m: m.META.id)
def test_declared_permissions_are_exact(arm: AzureStandIn, module: Any) -> None:
    """With every other action denied the check runs; without one of its own it fails
    naming that action."""
    assert set(module.PERMISSIONS) <= set(REQUIRED_PERMISSIONS)
    assert SESSION_PERMISSIONS[0] in REQUIRED_PERMISSIONS
    with ADAPTER.open_session(CREDS, arm.endpoints(max_attempts=1), CancelToken()) as session:
        for action in set(REQUIRED_PERMISSIONS) - set(module.PERMISSIONS):
            arm.deny(action)
        assert module.run(session, SUB)
        for action in module.PERMISSIONS:
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
