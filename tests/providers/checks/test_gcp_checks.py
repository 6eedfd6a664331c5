"""The GCP checks: against the loopback Google APIs stand-in, and their pure judge functions."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.domain import CancelToken, CheckResult, ErrorCategory
from bot.playground.gcp import GcpStandIn
from bot.providers import checks_for
from bot.providers.gcp.adapter import ADAPTER, GcpSession
from bot.providers.gcp.checks import (
    CHECKS,
    REQUIRED_PERMISSIONS,
    bucket_public,
    bucket_uniform_access,
    default_network,
    firewall_admin_ports,
    service_account_key_age,
)

PROJECT = "cspm-checks-project"
EMPTY = "cspm-empty-project"
NOW = datetime(2025, 6, 1, tzinfo=UTC)


def _ago(days: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _fw(
    name: str, ranges: list[str], allowed: list[dict[str, Any]], **extra: Any
) -> dict[str, Any]:
    return {
        "name": name,
        "network": "global/networks/vpc",
        "direction": "INGRESS",
        "priority": 1000,
        "sourceRanges": ranges,
        "allowed": allowed,
        **extra,
    }


PUBLIC_POLICY = {"bindings": [{"role": "roles/storage.objectViewer", "members": ["allUsers"]}]}


@dataclass
class Seeded:
    """The seeded stand-in and the scanner's key file."""

    standin: GcpStandIn
    info: dict[str, Any]


@pytest.fixture
def seeded() -> Iterator[Seeded]:
    """A stand-in with a service account in PROJECT (reader of EMPTY too), seeded."""
    with GcpStandIn(key_size=1024) as standin:
        info = standin.add_service_account(PROJECT)
        standin.grant_project(info["client_email"], EMPTY)
        standin.seed(
            PROJECT,
            "firewalls",
            [
                _fw("ssh-world", ["0.0.0.0/0"], [{"IPProtocol": "tcp", "ports": ["22"]}]),
                _fw("rdp-range", ["0.0.0.0/0"], [{"IPProtocol": "tcp", "ports": ["3000-4000"]}]),
                _fw("all-proto", ["::/0"], [{"IPProtocol": "all"}]),
                _fw("internal-ssh", ["10.0.0.0/8"], [{"IPProtocol": "tcp", "ports": ["22"]}]),
                _fw("https-world", ["0.0.0.0/0"], [{"IPProtocol": "tcp", "ports": ["443"]}]),
                _fw("off", ["0.0.0.0/0"], [{"IPProtocol": "tcp"}], disabled=True),
                _fw("udp-world", ["0.0.0.0/0"], [{"IPProtocol": "udp", "ports": ["22"]}]),
                {
                    "name": "deny-ssh",
                    "direction": "INGRESS",
                    "sourceRanges": ["0.0.0.0/0"],
                    "denied": [{"IPProtocol": "tcp", "ports": ["22"]}],
                },
            ],
        )
        standin.seed(PROJECT, "networks", [{"name": "default"}, {"name": "vpc"}])
        standin.seed(EMPTY, "networks", [{"name": "vpc"}])
        standin.seed(
            PROJECT,
            "buckets",
            [
                {
                    "name": "b-uniform",
                    "iamConfiguration": {"uniformBucketLevelAccess": {"enabled": True}},
                },
                {"name": "b-acl", "iamConfiguration": {}},
                {
                    "name": "b-public",
                    "iamConfiguration": {"uniformBucketLevelAccess": {"enabled": True}},
                    "iam": PUBLIC_POLICY,
                },
                {
                    "name": "b-pap",
                    "iamConfiguration": {
                        "uniformBucketLevelAccess": {"enabled": True},
                        "publicAccessPrevention": "enforced",
                    },
                    "iam": PUBLIC_POLICY,
                },
            ],
        )
        standin.seed(
            PROJECT,
            "service_accounts",
            [
                {
                    "email": f"old@{PROJECT}.iam.gserviceaccount.com",
                    "keys": [
                        {"validAfterTime": _ago(200)},
                        {"validAfterTime": _ago(300), "disabled": True},
                        {"validAfterTime": _ago(400), "keyType": "SYSTEM_MANAGED"},
                    ],
                },
                {
                    "email": f"new@{PROJECT}.iam.gserviceaccount.com",
                    "keys": [{"validAfterTime": _ago(10)}],
                },
                {"email": f"keyless@{PROJECT}.iam.gserviceaccount.com", "keys": []},
            ],
        )
        yield Seeded(standin, info)


@pytest.fixture
def google(seeded: Seeded) -> GcpStandIn:
    """The seeded stand-in."""
    return seeded.standin


@pytest.fixture
def session(seeded: Seeded) -> Iterator[GcpSession]:
    """A session on the stand-in."""
    creds = ADAPTER.parse_credentials({"service_account_json": json.dumps(seeded.info)})
    with ADAPTER.open_session(creds, seeded.standin.endpoints(), CancelToken()) as opened:
        yield opened


def verdicts(results: list[CheckResult]) -> dict[str, bool]:
    """resource → passed."""
    return {r.resource: r.passed for r in results}


# --------------------------------------------------------------------------------------------
# the catalogue
# --------------------------------------------------------------------------------------------


def test_catalogue() -> None:
    ids = [c.meta.id for c in CHECKS]
    assert len(ids) >= 4
    assert len(set(ids)) == len(ids)
    for check in CHECKS:
        assert check.meta.provider == "gcp"
        assert re.fullmatch(r"gcp\.[a-z]+\.[a-z_]+", check.meta.id)
        assert len(check.meta.id) <= 75
        assert check.meta.title and check.meta.remediation
    assert [c.meta.id for c in checks_for("gcp")] == ids


# --------------------------------------------------------------------------------------------
# against the stand-in
# --------------------------------------------------------------------------------------------


def test_firewall_check(session: GcpSession) -> None:
    results = firewall_admin_ports.run(session, PROJECT)
    assert verdicts(results) == {
        "ssh-world": False,
        "rdp-range": False,
        "all-proto": False,
        "internal-ssh": True,
        "https-world": True,
        "off": True,
        "udp-world": True,
        "deny-ssh": True,
    }
    all_proto = next(r for r in results if r.resource == "all-proto")
    assert "SSH (22/tcp)" in all_proto.detail and "RDP (3389/tcp)" in all_proto.detail


def test_default_network_check(session: GcpSession) -> None:
    [present] = default_network.run(session, PROJECT)
    assert not present.passed
    assert present.resource == f"projects/{PROJECT}/global/networks/default"
    [absent] = default_network.run(session, EMPTY)
    assert absent.passed


def test_uniform_access_check(session: GcpSession) -> None:
    assert verdicts(bucket_uniform_access.run(session, PROJECT)) == {
        "gs://b-uniform": True,
        "gs://b-acl": False,
        "gs://b-public": True,
        "gs://b-pap": True,
    }


def test_public_bucket_check(google: GcpStandIn, session: GcpSession) -> None:
    google.reset_calls()
    results = bucket_public.run(session, PROJECT)
    assert verdicts(results) == {
        "gs://b-uniform": True,
        "gs://b-acl": True,
        "gs://b-public": False,
        "gs://b-pap": True,  # public access prevention overrides the binding
    }
    public = next(r for r in results if r.resource == "gs://b-public")
    assert "allUsers" in public.detail
    iam_reads = [c.path for c in google.calls if c.path.endswith("/iam")]
    assert "/storage/v1/b/b-pap/iam" not in iam_reads
    assert len(iam_reads) == 3


def test_key_age_check(session: GcpSession) -> None:
    results = service_account_key_age.run(session, PROJECT)
    by_account: dict[str, list[bool]] = {}
    for r in results:
        by_account.setdefault(r.resource.split("/keys/")[0], []).append(r.passed)
    assert by_account == {
        f"cspm-scanner@{PROJECT}.iam.gserviceaccount.com": [True],  # the scanner's own new key
        f"old@{PROJECT}.iam.gserviceaccount.com": [False, True],  # old key, disabled old key
        f"new@{PROJECT}.iam.gserviceaccount.com": [True],
    }


def test_every_check_runs_through_the_catalogue_with_paging(
    google: GcpStandIn, session: GcpSession
) -> None:
    google.page_size = 1
    for check in CHECKS:
        results = list(check.run(session, PROJECT))
        assert results, check.meta.id
        assert any(not r.passed for r in results), check.meta.id


def test_empty_project(session: GcpSession) -> None:
    seen = {
        check.meta.id: [(r.passed, r.resource) for r in check.run(session, EMPTY)]
        for check in CHECKS
    }
    # nothing to judge but the project itself, which has no default network
    assert seen == {
        "gcp.compute.default_network": [(True, f"projects/{EMPTY}")],
        "gcp.compute.firewall_admin_ports": [],
        "gcp.iam.service_account_key_age": [],
        "gcp.storage.public_bucket": [],
        "gcp.storage.uniform_access": [],
    }


@pytest.mark.parametrize("module", CHECKS, ids=lambda c: c.meta.id)
def test_declared_permissions_are_exact(
    google: GcpStandIn, session: GcpSession, module: Any
) -> None:
    """With every other permission denied the check runs; without one of its own it fails
    naming that permission."""
    assert set(module.permissions) <= set(REQUIRED_PERMISSIONS)
    for permission in set(REQUIRED_PERMISSIONS) - set(module.permissions):
        google.deny(permission)
    assert module.run(session, PROJECT)
    for permission in module.permissions:
        google.clear_denials()
        google.deny(permission)
        with pytest.raises(Exception) as caught:
            module.run(session, PROJECT)
        error = ADAPTER.classify(caught.value, [])
        assert error.category is ErrorCategory.PERMISSION_DENIED
        assert permission in error.message


# --------------------------------------------------------------------------------------------
# judges
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ports", "port", "expected"),
    [
        (None, 22, True),
        ([], 3389, True),
        (["22"], 22, True),
        (["21", "23"], 22, False),
        (["1-1024"], 22, True),
        (["3390-4000"], 3389, False),
        (["x"], 22, False),
    ],
)
def test_port_covered(ports: list[str] | None, port: int, expected: bool) -> None:
    assert firewall_admin_ports.port_covered(ports, port) is expected


def test_firewall_judge_directions() -> None:
    rule = _fw("r", ["0.0.0.0/0"], [{"IPProtocol": "6", "ports": ["22"]}])
    assert firewall_admin_ports.exposed_ports(rule) == [22]
    assert firewall_admin_ports.exposed_ports({**rule, "direction": "EGRESS"}) == []
    assert firewall_admin_ports.exposed_ports({k: v for k, v in rule.items() if k != "direction"})
    assert firewall_admin_ports.exposed_ports({**rule, "sourceRanges": ["1.2.3.4/32"]}) == []


def test_public_bucket_judge() -> None:
    bucket = {"name": "b", "location": "EU"}
    auth = {"bindings": [{"role": "roles/storage.admin", "members": ["allAuthenticatedUsers"]}]}
    result = bucket_public.judge(bucket, auth)
    assert not result.passed and "allAuthenticatedUsers" in result.detail
    assert bucket_public.judge(bucket, None).passed
    assert bucket_public.judge(bucket, {"bindings": [{"members": ["user:a@b.c"]}]}).passed


def test_key_age_judge() -> None:
    email = "sa@p.iam.gserviceaccount.com"

    def key(days: int) -> dict[str, Any]:
        created = NOW - timedelta(days=days)
        return {"name": f"x/keys/k{days}", "validAfterTime": created.isoformat()}

    assert service_account_key_age.judge(email, key(90), NOW).passed
    old = service_account_key_age.judge(email, key(91), NOW)
    assert not old.passed
    assert old.resource == f"{email}/keys/k91"
    assert "91 days" in old.detail
    assert not service_account_key_age.judge(email, {"name": "k"}, NOW).passed
    assert service_account_key_age.parse_time("2024-01-02T03:04:05.678Z") == datetime(
        2024, 1, 2, 3, 4, 5, 678000, tzinfo=UTC
    )


def test_default_network_and_uniform_judges() -> None:
    assert default_network.judge("p", []).passed
    assert not default_network.judge("p", [{"name": "default"}]).passed
    assert not bucket_uniform_access.judge({"name": "b"}).passed
