"""Discovery on Azure and Google Cloud (`ConnectorService.discover`) against the loopback
Entra ID + ARM and Google stand-ins: one project per subscription or GCP project the
credentials can read, under a folder or organization at any depth, and scans of those
projects that cover exactly their own account."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from bot.domain import ScanStatus
from bot.errors import ValidationFailedError
from bot.playground.azure import AzureStandIn
from bot.playground.gcp import GcpStandIn
from tests.conftest import make_settings

SECRET = "an-Azure-client-s3cret-for-discovery"
ORG = "organizations/1001"
TEAM = "folders/2002"  # under ORG
DEEP = "folders/3003"  # under TEAM


@pytest.fixture
def azure() -> Iterator[AzureStandIn]:
    with AzureStandIn() as standin:
        yield standin


@pytest.fixture
def google() -> Iterator[GcpStandIn]:
    with GcpStandIn(key_size=1024) as standin:
        yield standin


def _scanned_units(rt: Any, project: str) -> list[str]:
    scan = rt.scans.start(project, trigger="cli", actor="test")
    rt.scans.wait(scan.scan_id)
    assert rt.scans.get(scan.scan_id).status is ScanStatus.COMPLETED
    return sorted(j.unit for j in rt.scans.jobs(scan.scan_id))


def test_azure_discovery_makes_one_project_per_enabled_subscription(
    azure: AzureStandIn, runtime_factory: Any, sqlite_url: str
) -> None:
    tenant, client = str(uuid.uuid4()), str(uuid.uuid4())
    subs = sorted(str(uuid.uuid4()) for _ in range(3))
    azure.add_app(tenant, client, SECRET, subscriptions=subs)
    azure.add_app(tenant, str(uuid.uuid4()), "other", subscriptions=[str(uuid.uuid4())])
    azure.set_subscription_state(subs[2], "Disabled")
    rt = runtime_factory(
        make_settings(
            sqlite_url,
            azure_authority_host=azure.authority,
            azure_arm_url=azure.arm_url,
            ca_bundle=azure.ca_pem_path,
        )
    )
    raw = {"tenant_id": tenant, "client_id": client, "client_secret": SECRET}
    rt.connectors.create("azure", "corp", raw, actor="test")

    first = rt.connectors.discover("corp", actor="test")
    assert first.count("created") == 2  # the disabled one and another app's are left out
    assert sorted(p.target_id for p in first.projects) == subs[:2]
    for project in first.projects:
        assert rt.projects.get(project.name).scope == (project.target_id,)
        assert _scanned_units(rt, project.name) == [project.target_id]

    again = rt.connectors.discover("corp", actor="test")
    assert again.count("unchanged") == 2 and again.count("created") == 0
    assert len(rt.projects.names()) == 2


@pytest.fixture
def gcp(google: GcpStandIn, runtime_factory: Any, sqlite_url: str) -> tuple[Any, str]:
    """An organization ORG > TEAM > DEEP with projects at each level, a service account that
    can read all but one of them, and a connector "gcp-org" holding its key."""
    info = google.add_service_account("hub-project")
    email = str(info["client_email"])
    google.add_folder(TEAM, ORG)
    google.add_folder(DEEP, TEAM)
    google.add_folder("folders/4004", ORG)  # an empty folder
    placed = {
        "org-top": ORG,
        "team-api": TEAM,
        "team-web": TEAM,
        "deep-data": DEEP,
        "deep-gone": DEEP,
        "hidden": TEAM,  # the service account cannot read it
    }
    for project, parent in placed.items():
        state = "DELETE_REQUESTED" if project == "deep-gone" else "ACTIVE"
        google.place_project(project, parent, state)
        if project != "hidden":
            google.grant_project(email, project)
    google.place_project("hub-project", "organizations/9999")  # another organization
    rt = runtime_factory(
        make_settings(
            sqlite_url,
            gcp_token_uri=google.token_uri,
            gcp_api_base=google.api_base,
            gcp_compute_base=google.compute_base,
            gcp_storage_base=google.storage_base,
        )
    )
    rt.connectors.create("gcp", "gcp-org", {"service_account_json": json.dumps(info)}, actor="test")
    return rt, email


def _targets(result: Any) -> list[str]:
    return sorted(p.target_id for p in result.projects)


def test_gcp_discovery_under_an_organization_reaches_every_folder_depth(
    gcp: tuple[Any, str],
) -> None:
    rt, _ = gcp
    found = rt.connectors.discover("gcp-org", actor="test", parent=ORG)
    assert _targets(found) == ["deep-data", "org-top", "team-api", "team-web"]
    assert found.count("created") == 4
    assert _scanned_units(
        rt, next(p.name for p in found.projects if p.target_id == "deep-data")
    ) == ["deep-data"]


def test_gcp_discovery_under_a_folder_stays_below_it(gcp: tuple[Any, str]) -> None:
    rt, _ = gcp
    assert _targets(rt.connectors.discover("gcp-org", actor="test", parent=DEEP)) == ["deep-data"]
    assert _targets(rt.connectors.discover("gcp-org", actor="test", parent=TEAM)) == [
        "deep-data",
        "team-api",
        "team-web",
    ]
    assert sorted(rt.projects.names()) == [
        "gcp-org-Deep-Data",
        "gcp-org-Team-Api",
        "gcp-org-Team-Web",
    ]


def test_gcp_discovery_without_a_parent_lists_every_readable_project(gcp: tuple[Any, str]) -> None:
    rt, _ = gcp
    found = rt.connectors.discover("gcp-org", actor="test")
    assert _targets(found) == ["deep-data", "hub-project", "org-top", "team-api", "team-web"]


def test_gcp_discovery_refused_folder_listing_names_the_permission(
    gcp: tuple[Any, str], google: GcpStandIn
) -> None:
    rt, email = gcp
    google.deny("resourcemanager.folders.list", email)
    with pytest.raises(ValidationFailedError) as refused:
        rt.connectors.discover("gcp-org", actor="test", parent=ORG)
    assert "resourcemanager.folders.list" in str(refused.value)
    assert rt.projects.names() == []  # nothing half-made
