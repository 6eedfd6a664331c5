"""Cloud 429 and 5xx storms on one unit of a scan, on SQLite and PostgreSQL: each call is
tried the retry budget's number of times (CSPM_CLOUD_MAX_ATTEMPTS, 2 here) and no more, the
scan ends Partially Completed, and its error log holds temporary-error entries for the stormed
unit only."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from bot.domain import ErrorCategory, JobStatus, ScanStatus
from bot.playground.azure import AzureStandIn
from bot.playground.gcp import GcpStandIn
from bot.providers.aws.units import global_units
from tests.conftest import make_settings

ATTEMPTS = 2  # make_settings' cloud_max_attempts


@pytest.fixture
def azure() -> Iterator[AzureStandIn]:
    with AzureStandIn() as standin:
        yield standin


@pytest.fixture
def google() -> Iterator[GcpStandIn]:
    with GcpStandIn(key_size=1024) as standin:
        yield standin


def _scan(rt: Any, project: str) -> Any:
    scan = rt.scans.start(project, trigger="cli", actor="test")
    rt.scans.wait(scan.scan_id)
    return rt.scans.get(scan.scan_id)


def _assert_partial(rt: Any, scan: Any, stormed: str, others: list[str]) -> None:
    assert scan.status is ScanStatus.PARTIALLY_COMPLETED, rt.scans.errors(scan.scan_id)
    assert scan.status_message.startswith(f"1 of {1 + len(others)} jobs failed: temporary")
    assert stormed in scan.status_message
    jobs = {j.unit: j.status for j in rt.scans.jobs(scan.scan_id)}
    assert jobs == {stormed: JobStatus.FAILED, **{u: JobStatus.SUCCEEDED for u in others}}
    errors = rt.scans.errors(scan.scan_id)
    assert errors and {e.category for e in errors} == {ErrorCategory.TEMPORARY}
    assert {e.job_unit for e in errors} == {stormed}
    assert all(e.remediation for e in errors), [(e.code, e.remediation) for e in errors]


def test_aws_5xx_storm_on_one_region(
    database_url: str, aws: Any, aws_proxy: Any, runtime_factory: Any
) -> None:
    rt = runtime_factory(make_settings(database_url, aws_endpoint_url=aws_proxy.url))
    key_id, secret = aws.create_user("scanner", admin=True)
    raw = {"access_key_id": key_id, "secret_access_key": secret}
    rt.connectors.create("aws", "prod-aws", raw, actor="test")
    rt.projects.add("web", "prod-aws", actor="test", scope=["us-east-1", "eu-west-1"])
    aws_proxy.fail_5xx(region="eu-west-1", status=503)

    scan = _scan(rt, "web")

    _assert_partial(rt, scan, "eu-west-1", [*global_units(), "us-east-1"])
    stormed = aws_proxy.count(region="eu-west-1")
    assert stormed and stormed % ATTEMPTS == 0  # every call tried exactly the budget
    assert stormed <= ATTEMPTS * aws_proxy.count(region="us-east-1")
    assert {e.code for e in rt.scans.errors(scan.scan_id)} <= {
        "ServiceUnavailable",
        "ServiceUnavailableException",  # JSON-protocol services (Config, KMS, EFS…)
        "Unavailable",
        "InternalError",
        "503",
        "HTTP503",
    }


def test_aws_429_storm_on_one_region_is_retried_by_every_service(
    database_url: str, aws: Any, aws_proxy: Any, runtime_factory: Any
) -> None:
    rt = runtime_factory(make_settings(database_url, aws_endpoint_url=aws_proxy.url))
    key_id, secret = aws.create_user("scanner", admin=True)
    raw = {"access_key_id": key_id, "secret_access_key": secret}
    rt.connectors.create("aws", "prod-aws", raw, actor="test")
    rt.projects.add("web", "prod-aws", actor="test", scope=["us-east-1", "eu-west-1"])
    aws_proxy.throttle(region="eu-west-1")

    scan = _scan(rt, "web")

    _assert_partial(rt, scan, "eu-west-1", [*global_units(), "us-east-1"])
    # each service's throttling answer (query, JSON, EC2 and REST-JSON such as EFS) is one
    # botocore retries: every call of every service tried exactly the budget
    per_service = {s: n for (s, r), n in aws_proxy.calls.items() if r == "eu-west-1"}
    assert per_service and all(n % ATTEMPTS == 0 for n in per_service.values()), per_service
    assert {e.code for e in rt.scans.errors(scan.scan_id)} <= {
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
    }


def test_azure_429_storm_on_one_subscription(
    database_url: str, azure: AzureStandIn, runtime_factory: Any
) -> None:
    tenant, client, secret = str(uuid.uuid4()), str(uuid.uuid4()), "an-Azure-s3cret-for-storms"
    calm, stormy = str(uuid.uuid4()), str(uuid.uuid4())
    azure.add_app(tenant, client, secret, subscriptions=[calm, stormy])
    rt = runtime_factory(
        make_settings(
            database_url,
            azure_authority_host=azure.authority,
            azure_arm_url=azure.arm_url,
            ca_bundle=azure.ca_pem_path,
        )
    )
    raw = {"tenant_id": tenant, "client_id": client, "client_secret": secret}
    rt.connectors.create("azure", "corp", raw, actor="test")
    rt.projects.add("subs", "corp", actor="test")
    azure.reset_calls()
    prefix = f"/subscriptions/{stormy}"
    azure.fail(429, path_prefix=prefix, retry_after="0")

    scan = _scan(rt, "subs")

    _assert_partial(rt, scan, stormy, [calm])
    assert azure.count(prefix) % ATTEMPTS == 0
    assert azure.count(prefix) <= ATTEMPTS * azure.count(f"/subscriptions/{calm}")


def test_gcp_5xx_storm_on_one_project(
    database_url: str, google: GcpStandIn, runtime_factory: Any
) -> None:
    info = google.add_service_account("proj-a")
    google.grant_project(info["client_email"], "proj-b")
    rt = runtime_factory(
        make_settings(
            database_url,
            gcp_token_uri=google.token_uri,
            gcp_api_base=google.api_base,
            gcp_compute_base=google.compute_base,
            gcp_storage_base=google.storage_base,
        )
    )
    rt.connectors.create("gcp", "gcp-a", {"service_account_json": json.dumps(info)}, actor="t")
    rt.projects.add("both", "gcp-a", actor="test", scope=["proj-a", "proj-b"])
    google.reset_calls()
    prefix = "/compute/v1/projects/proj-b"
    google.fail(503, path_prefix=prefix)

    scan = _scan(rt, "both")

    _assert_partial(rt, scan, "proj-b", ["proj-a"])
    assert google.count(prefix) % ATTEMPTS == 0
    assert google.count(prefix) <= ATTEMPTS * google.count("/compute/v1/projects/proj-a")
