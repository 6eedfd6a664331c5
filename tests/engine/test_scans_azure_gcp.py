"""Real scans against Azure and Google Cloud on loopback: the engine with their adapters."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from bot.domain import ErrorCategory, ScanStatus
from bot.errors import ValidationFailedError
from bot.playground.azure import AzureStandIn
from bot.playground.gcp import GcpStandIn
from tests.conftest import make_settings

SECRET = "an-Azure-client-s3cret-for-tests"


@pytest.fixture
def azure() -> Iterator[AzureStandIn]:
    with AzureStandIn() as standin:
        yield standin


@pytest.fixture
def google() -> Iterator[GcpStandIn]:
    with GcpStandIn(key_size=1024) as standin:
        yield standin


def _runtime(runtime_factory: Any, sqlite_url: str, **endpoints: Any) -> Any:
    return runtime_factory(make_settings(sqlite_url, **endpoints))


def _scan(rt: Any, project: str) -> Any:
    scan = rt.scans.start(project, trigger="cli", actor="test")
    rt.scans.wait(scan.scan_id)
    return rt.scans.get(scan.scan_id)


def test_azure_scan_per_subscription(
    azure: AzureStandIn, runtime_factory: Any, sqlite_url: str
) -> None:
    tenant, client = str(uuid.uuid4()), str(uuid.uuid4())
    subs = [str(uuid.uuid4()), str(uuid.uuid4())]
    azure.add_app(tenant, client, SECRET, subscriptions=subs)
    azure.seed(
        subs[0],
        "storage_accounts",
        [
            {
                "name": "stbad",
                "properties": {
                    "supportsHttpsTrafficOnly": False,
                    "allowBlobPublicAccess": True,
                    "minimumTlsVersion": "TLS1_0",
                },
            }
        ],
    )
    rt = _runtime(
        runtime_factory,
        sqlite_url,
        azure_authority_host=azure.authority,
        azure_arm_url=azure.arm_url,
        ca_bundle=azure.ca_pem_path,
    )
    raw = {"tenant_id": tenant, "client_id": client, "client_secret": SECRET}
    info = rt.connectors.create("azure", "corp-azure", raw, actor="test")
    assert info.account_id == tenant
    rt.projects.add("subs", "corp-azure", actor="test")
    scan = _scan(rt, "subs")
    assert scan.status is ScanStatus.COMPLETED
    assert sorted(j.unit for j in rt.scans.jobs(scan.scan_id)) == sorted(subs)
    failing = {
        (f.check_id, f.resource.rsplit("/", 1)[-1]) for f in rt.scans.findings(scan.scan_id).failing
    }
    assert ("azure.storage.secure_transfer", "stbad") in failing

    # the secret is rotated in Entra ID: the next scan fails with invalid credentials
    azure.rotate_secret(tenant, client, "a-new-secret-value-000000000")
    scan = _scan(rt, "subs")
    assert scan.status is ScanStatus.FAILED
    errors = rt.scans.errors(scan.scan_id)
    assert {e.category for e in errors} == {ErrorCategory.INVALID_CREDENTIALS}
    assert errors[0].code.startswith("AADSTS")
    assert all(SECRET not in e.message + e.detail for e in errors)


def test_azure_wrong_secret_is_refused_before_saving(
    azure: AzureStandIn, runtime_factory: Any, sqlite_url: str
) -> None:
    tenant, client = str(uuid.uuid4()), str(uuid.uuid4())
    azure.add_app(tenant, client, SECRET, subscriptions=[str(uuid.uuid4())])
    rt = _runtime(
        runtime_factory,
        sqlite_url,
        azure_authority_host=azure.authority,
        azure_arm_url=azure.arm_url,
        ca_bundle=azure.ca_pem_path,
    )
    with pytest.raises(ValidationFailedError, match="AADSTS7000215"):
        rt.connectors.create(
            "azure",
            "x",
            {"tenant_id": tenant, "client_id": client, "client_secret": "wrong-secret-000"},
            actor="t",
        )
    assert rt.connectors.list() == []


def test_gcp_scan_and_revoked_key(
    google: GcpStandIn, runtime_factory: Any, sqlite_url: str
) -> None:
    info = google.add_service_account("proj-a")
    google.seed("proj-a", "networks", [{"name": "default"}])
    rt = _runtime(
        runtime_factory,
        sqlite_url,
        gcp_token_uri=google.token_uri,
        gcp_api_base=google.api_base,
        gcp_compute_base=google.compute_base,
        gcp_storage_base=google.storage_base,
    )
    rt.connectors.create("gcp", "gcp-a", {"service_account_json": json.dumps(info)}, actor="test")
    rt.projects.add("proj-a", "gcp-a", actor="test")
    scan = _scan(rt, "proj-a")
    assert scan.status is ScanStatus.COMPLETED, rt.scans.errors(scan.scan_id)
    assert [j.unit for j in rt.scans.jobs(scan.scan_id)] == ["proj-a"]
    assert any(
        f.check_id == "gcp.compute.default_network" for f in rt.scans.findings(scan.scan_id).failing
    )

    google.revoke(info["client_email"])
    scan = _scan(rt, "proj-a")
    assert scan.status is ScanStatus.FAILED
    errors = rt.scans.errors(scan.scan_id)
    assert {e.category for e in errors} == {ErrorCategory.INVALID_CREDENTIALS}
    key_line = info["private_key"].splitlines()[2]
    assert all(key_line not in e.detail for e in errors)
