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
    compute_block_project_ssh_keys,
    compute_default_sa_full_access,
    compute_default_service_account,
    compute_ip_forwarding,
    compute_os_login,
    compute_public_ip,
    compute_serial_port,
    compute_shielded_vm,
    default_network,
    firewall_admin_ports,
    iam_service_account_admin,
    iam_service_account_user_project,
    kms_key_rotation,
    legacy_network,
    logging_audit_config,
    logging_sink_all,
    service_account_key_age,
    service_account_user_keys,
    sql_backups,
    sql_open_authorized_networks,
    sql_public_ip,
    sql_require_ssl,
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


DEFAULT_SA = "123456789-compute@developer.gserviceaccount.com"
CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"
HARDENED_VM = {
    "name": "hardened",
    "zone": "europe-west1-b",
    "canIpForward": False,
    "serviceAccounts": [
        {"email": f"app@{PROJECT}.iam.gserviceaccount.com", "scopes": [CLOUD_PLATFORM]}
    ],
    "metadata": {"items": [{"key": "block-project-ssh-keys", "value": "true"}]},
    "shieldedInstanceConfig": {"enableVtpm": True, "enableIntegrityMonitoring": True},
    "networkInterfaces": [{"network": "global/networks/vpc", "networkIP": "10.0.0.2"}],
}
LOOSE_VM = {
    "name": "loose",
    "zone": "us-central1-a",
    "canIpForward": True,
    "serviceAccounts": [{"email": DEFAULT_SA, "scopes": [CLOUD_PLATFORM]}],
    "metadata": {"items": [{"key": "serial-port-enable", "value": "1"}]},
    "shieldedInstanceConfig": {"enableVtpm": True, "enableIntegrityMonitoring": False},
    "networkInterfaces": [
        {"network": "global/networks/vpc", "accessConfigs": [{"natIP": "203.0.113.7"}]}
    ],
}
GKE_NODE = {**LOOSE_VM, "name": "gke-pool-1-abc", "zone": "us-central1-a"}
SAFE_DB = {
    "name": "db-safe",
    "settings": {
        "ipConfiguration": {"ipv4Enabled": False, "sslMode": "ENCRYPTED_ONLY"},
        "backupConfiguration": {"enabled": True},
    },
    "ipAddresses": [{"type": "PRIVATE", "ipAddress": "10.1.0.3"}],
}
OPEN_DB = {
    "name": "db-open",
    "settings": {
        "ipConfiguration": {
            "ipv4Enabled": True,
            "sslMode": "ALLOW_UNENCRYPTED_AND_ENCRYPTED",
            "authorizedNetworks": [{"name": "anywhere", "value": "0.0.0.0/0"}],
        },
        "backupConfiguration": {"enabled": False},
    },
    "ipAddresses": [{"type": "PRIMARY", "ipAddress": "198.51.100.9"}],
}

FULL_AUDIT = {
    "service": "allServices",
    "auditLogConfigs": [
        {"logType": "ADMIN_READ"},
        {"logType": "DATA_READ"},
        {"logType": "DATA_WRITE"},
    ],
}
PROJECT_POLICY = {
    "bindings": [
        {
            "role": "roles/editor",
            "members": [f"serviceAccount:app@{PROJECT}.iam.gserviceaccount.com"],
        },
        {
            "role": "roles/viewer",
            "members": [
                f"serviceAccount:reader@{PROJECT}.iam.gserviceaccount.com",
                "serviceAccount:service-1@gcp-sa-pubsub.iam.gserviceaccount.com",
            ],
        },
        {"role": "roles/iam.serviceAccountUser", "members": ["user:alice@example.com"]},
        {
            "role": "roles/iam.serviceAccountTokenCreator",
            "members": ["user:bob@example.com"],
            "condition": {"title": "until friday", "expression": "request.time < ..."},
        },
    ],
    "auditConfigs": [
        {
            "service": "allServices",
            "auditLogConfigs": [
                {"logType": "ADMIN_READ"},
                {"logType": "DATA_WRITE", "exemptedMembers": ["user:ci@example.com"]},
            ],
        }
    ],
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
        standin.seed(
            PROJECT,
            "networks",
            [{"name": "default"}, {"name": "vpc"}, {"name": "legacy", "IPv4Range": "10.0.0.0/16"}],
        )
        standin.seed(PROJECT, "instances", [HARDENED_VM, LOOSE_VM, GKE_NODE])
        standin.seed(EMPTY, "metadata", [{"key": "enable-oslogin", "value": "TRUE"}])
        standin.seed(PROJECT, "metadata", [{"key": "enable-oslogin", "value": "FALSE"}])
        standin.seed(PROJECT, "sql_instances", [SAFE_DB, OPEN_DB])
        standin.seed(
            PROJECT,
            "sinks",
            [
                {"name": "_Default", "destination": "logging.googleapis.com/x", "filter": ""},
                {
                    "name": "errors-only",
                    "destination": "storage.googleapis.com/b",
                    "filter": "severity>=ERROR",
                },
            ],
        )
        standin.seed(
            EMPTY, "sinks", [{"name": "everything", "destination": "storage.googleapis.com/b"}]
        )
        standin.seed(
            PROJECT,
            "crypto_keys",
            [
                {
                    "name": "rotated",
                    "location": "europe-west1",
                    "keyRing": "app",
                    "rotationPeriod": "7776000s",
                },
                {
                    "name": "yearly",
                    "location": "europe-west1",
                    "keyRing": "app",
                    "rotationPeriod": "31536000s",
                },
                {"name": "manual", "location": "global", "keyRing": "ops"},
                {
                    "name": "signing",
                    "location": "global",
                    "keyRing": "ops",
                    "purpose": "ASYMMETRIC_SIGN",
                },
            ],
        )
        standin.seed(PROJECT, "iam_policy", [PROJECT_POLICY])
        standin.seed(EMPTY, "iam_policy", [{"auditConfigs": [FULL_AUDIT]}])
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


FIRST_FIVE = {
    "gcp.compute.default_network",
    "gcp.compute.firewall_admin_ports",
    "gcp.iam.service_account_key_age",
    "gcp.storage.public_bucket",
    "gcp.storage.uniform_access",
}


def test_empty_project(session: GcpSession) -> None:
    seen = {
        check.meta.id: [(r.passed, r.resource) for r in check.run(session, EMPTY)]
        for check in CHECKS
    }
    # nothing to judge but the project itself, which has no default network
    assert {k: v for k, v in seen.items() if k in FIRST_FIVE} == {
        "gcp.compute.default_network": [(True, f"projects/{EMPTY}")],
        "gcp.compute.firewall_admin_ports": [],
        "gcp.iam.service_account_key_age": [],
        "gcp.storage.public_bucket": [],
        "gcp.storage.uniform_access": [],
    }
    # EMPTY is seeded to pass the project-wide controls (OS Login, sinks, audit config)
    assert all(passed for results in seen.values() for passed, _ in results), seen


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


# --------------------------------------------------------------------------------------------
# the CIS GCP checks added beside the first five
# --------------------------------------------------------------------------------------------

INSTANCE_CASES = [
    (compute_default_service_account, {"hardened": True, "loose": False}),
    (compute_default_sa_full_access, {"hardened": True, "loose": False}),
    (compute_ip_forwarding, {"hardened": True, "loose": False}),
    (compute_public_ip, {"hardened": True, "loose": False}),
    (compute_block_project_ssh_keys, {"hardened": True, "loose": False, "gke-pool-1-abc": False}),
    (compute_serial_port, {"hardened": True, "loose": False, "gke-pool-1-abc": False}),
    (compute_shielded_vm, {"hardened": True, "loose": False, "gke-pool-1-abc": False}),
]


@pytest.mark.parametrize(
    ("check", "expected"), INSTANCE_CASES, ids=[c.META.id for c, _ in INSTANCE_CASES]
)
def test_instance_checks(
    google: GcpStandIn, session: GcpSession, check: Any, expected: dict[str, bool]
) -> None:
    google.page_size = 1  # the aggregated list pages across zones
    results = check.run(session, PROJECT)
    assert {r.resource.rsplit("/", 1)[-1]: r.passed for r in results} == expected
    loose = next(r for r in results if r.resource.endswith("/loose"))
    assert loose.resource == f"projects/{PROJECT}/zones/us-central1-a/instances/loose"
    assert loose.region == "us-central1-a"


def test_instance_details() -> None:
    assert compute_default_sa_full_access.judge(LOOSE_VM) == (
        False,
        f"{DEFAULT_SA} has full access to all Cloud APIs.",
    )
    assert compute_shielded_vm.judge(LOOSE_VM) == (False, "Off: integrity monitoring.")
    assert compute_public_ip.judge(LOOSE_VM) == (False, "External address: 203.0.113.7.")


SQL_CASES = [sql_require_ssl, sql_open_authorized_networks, sql_public_ip, sql_backups]


@pytest.mark.parametrize("check", SQL_CASES, ids=[c.META.id for c in SQL_CASES])
def test_sql_checks(session: GcpSession, check: Any) -> None:
    assert verdicts(check.run(session, PROJECT)) == {
        f"projects/{PROJECT}/instances/db-safe": True,
        f"projects/{PROJECT}/instances/db-open": False,
    }


def test_sql_judges_older_api_fields() -> None:
    assert sql_require_ssl.judge({"settings": {"ipConfiguration": {"requireSsl": True}}})[0]
    assert not sql_require_ssl.judge({})[0]


def test_legacy_network(session: GcpSession) -> None:
    assert verdicts(legacy_network.run(session, PROJECT)) == {
        f"projects/{PROJECT}/global/networks/default": True,
        f"projects/{PROJECT}/global/networks/vpc": True,
        f"projects/{PROJECT}/global/networks/legacy": False,
    }


def test_project_wide_os_login_and_sinks(session: GcpSession) -> None:
    [off] = compute_os_login.run(session, PROJECT)
    [on] = compute_os_login.run(session, EMPTY)
    assert (off.resource, off.passed, on.passed) == (f"projects/{PROJECT}", False, True)
    [partial] = logging_sink_all.run(session, PROJECT)
    [full] = logging_sink_all.run(session, EMPTY)
    assert not partial.passed and partial.detail == "No sink exports every log entry."
    assert full.passed and full.detail == "Sink everything exports every entry."


def test_user_managed_keys(session: GcpSession) -> None:
    assert verdicts(service_account_user_keys.run(session, PROJECT)) == {
        f"cspm-scanner@{PROJECT}.iam.gserviceaccount.com": False,
        f"old@{PROJECT}.iam.gserviceaccount.com": False,
        f"new@{PROJECT}.iam.gserviceaccount.com": False,
        f"keyless@{PROJECT}.iam.gserviceaccount.com": True,
    }


def test_project_iam_policy_checks(google: GcpStandIn, session: GcpSession) -> None:
    google.reset_calls()
    assert verdicts(iam_service_account_admin.run(session, PROJECT)) == {
        f"app@{PROJECT}.iam.gserviceaccount.com": False,
        f"reader@{PROJECT}.iam.gserviceaccount.com": True,
    }  # the Pub/Sub service agent is Google's, not judged
    [granted] = iam_service_account_user_project.run(session, PROJECT)
    assert not granted.passed  # the conditional Token Creator grant is not counted
    assert granted.detail == (
        "Project-level grants: user:alice@example.com (roles/iam.serviceAccountUser)."
    )
    [clean] = iam_service_account_user_project.run(session, EMPTY)
    assert clean.passed
    [partial] = logging_audit_config.run(session, PROJECT)
    [full] = logging_audit_config.run(session, EMPTY)
    assert partial.detail == "allServices: missing DATA_READ; exempted user:ci@example.com."
    assert (partial.passed, full.passed) == (False, True)
    assert google.count(f"/v1/projects/{PROJECT}:getIamPolicy", method="POST") == 3


def test_kms_key_rotation(google: GcpStandIn, session: GcpSession) -> None:
    google.page_size = 1
    ring = f"projects/{PROJECT}/locations"
    results = {r.resource: r for r in kms_key_rotation.run(session, PROJECT)}
    assert {k: r.passed for k, r in results.items()} == {
        f"{ring}/europe-west1/keyRings/app/cryptoKeys/rotated": True,
        f"{ring}/europe-west1/keyRings/app/cryptoKeys/yearly": False,
        f"{ring}/global/keyRings/ops/cryptoKeys/manual": False,
    }  # the asymmetric signing key is not judged
    yearly = results[f"{ring}/europe-west1/keyRings/app/cryptoKeys/yearly"]
    assert (yearly.region, yearly.detail) == ("europe-west1", "Rotates every 365 days (limit 90).")
