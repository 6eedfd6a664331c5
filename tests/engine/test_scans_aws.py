"""Real scans against AWS on loopback (moto with auth + fault proxy): every status, Stop,
one active scan per project, replacement, and secrets kept out of storage."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.domain import ErrorCategory, JobStatus, ScanStatus
from bot.errors import ConflictError, InputError, ValidationFailedError
from bot.providers.aws.units import global_units
from storage.models import AuditEvent, Connector
from tests.conftest import make_settings

REGIONS = ["us-east-1", "eu-west-1", "us-west-2"]


@pytest.fixture
def rt(database_url: str, aws_proxy: Any, runtime_factory: Any) -> Any:
    return runtime_factory(make_settings(database_url, aws_endpoint_url=aws_proxy.url))


@pytest.fixture
def project(rt: Any, aws: Any) -> dict[str, str]:
    key_id, secret = aws.create_user("scanner", admin=True)
    rt.connectors.create(
        "aws", "prod-aws", {"access_key_id": key_id, "secret_access_key": secret}, actor="test"
    )
    rt.projects.add("web", "prod-aws", actor="test", scope=REGIONS)
    return {"key_id": key_id, "secret": secret}


def run(rt: Any, project_name: str = "web") -> Any:
    scan = rt.scans.start(project_name, trigger="cli", actor="test")
    rt.scans.wait(scan.scan_id)
    return rt.scans.get(scan.scan_id)


def test_completed_scan_records_findings(rt: Any, project: dict[str, str], aws: Any) -> None:
    ec2 = aws.client("ec2", "eu-west-1")
    group = ec2.create_security_group(GroupName="ssh-open", Description="open")["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 22,
                "ToPort": 22,
                "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
            }
        ],
    )
    scan = run(rt)
    assert scan.status is ScanStatus.COMPLETED
    assert scan.status_message == "All 6 jobs succeeded"  # 3 account-wide units, 3 regions
    assert sorted(j.unit for j in rt.scans.jobs(scan.scan_id)) == sorted(
        [*global_units(), *REGIONS]
    )
    assert rt.scans.errors(scan.scan_id) == []
    report = rt.scans.findings(scan.scan_id)
    assert report.passed + sum(report.failed_counts.values()) > 0
    # the account has no password policy, no multi-region trail, and SSH open in eu-west-1
    failing = {(f.check_id, f.region) for f in report.failing}
    assert ("aws.iam.password_policy", "") in failing or any(
        c == "aws.iam.password_policy" for c, _ in failing
    )
    assert any(c == "aws.cloudtrail.multi_region" for c, _ in failing)
    assert any(
        f.check_id == "aws.ec2.sg_open_admin_ports" and group in f.resource for f in report.failing
    )
    assert rt.projects.get("web").last_status is ScanStatus.COMPLETED


def test_one_region_throttled_past_the_budget_is_partially_completed(
    rt: Any, project: dict[str, str], aws_proxy: Any
) -> None:
    aws_proxy.throttle(region="eu-west-1")
    scan = run(rt)
    assert scan.status is ScanStatus.PARTIALLY_COMPLETED
    assert scan.status_message.startswith("1 of 6 jobs failed: temporary cloud error")
    assert "eu-west-1" in scan.status_message
    jobs = {j.unit: j for j in rt.scans.jobs(scan.scan_id)}
    assert jobs["eu-west-1"].status is JobStatus.FAILED
    assert jobs["us-east-1"].status is JobStatus.SUCCEEDED
    errors = rt.scans.errors(scan.scan_id)
    assert errors and {e.category for e in errors} == {ErrorCategory.TEMPORARY}
    assert all(e.job_unit == "eu-west-1" for e in errors)
    assert {e.code for e in errors} <= {
        "Throttling",
        "RequestLimitExceeded",
        "SlowDown",
        "ThrottlingException",
    }
    # the retry budget (2 attempts) was spent on each call, no more
    assert aws_proxy.count(region="eu-west-1") % 2 == 0


def test_revoked_key_fails_every_job_with_invalid_credentials(
    rt: Any, project: dict[str, str], aws: Any
) -> None:
    aws.client("iam").delete_access_key(UserName="scanner", AccessKeyId=project["key_id"])
    scan = run(rt)
    assert scan.status is ScanStatus.FAILED
    assert "authentication failed" in scan.status_message
    errors = rt.scans.errors(scan.scan_id)
    assert errors and {e.category for e in errors} == {ErrorCategory.INVALID_CREDENTIALS}
    assert errors[0].code == "InvalidClientTokenId" or errors[0].code == "AuthFailure"
    assert "Replace the connector" in errors[0].remediation


def test_stop_mid_scan_keeps_results_and_ends_stopped(
    rt: Any, project: dict[str, str], aws_proxy: Any
) -> None:
    aws_proxy.delay(0.4, region="us-west-2")
    aws_proxy.delay(0.4, region="eu-west-1")
    scan = rt.scans.start("web", trigger="manual", actor="test")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        jobs = rt.scans.jobs(scan.scan_id)
        if any(j.status is JobStatus.SUCCEEDED for j in jobs):
            break
        time.sleep(0.05)
    with pytest.raises(ConflictError, match=f"scan #{scan.scan_id}"):
        rt.scans.start("web", trigger="manual", actor="someone-else")
    rt.scans.stop("web", actor="U42")
    deadline = time.monotonic() + 20
    while rt.scans.get(scan.scan_id).status.is_active and time.monotonic() < deadline:
        time.sleep(0.05)
    final = rt.scans.get(scan.scan_id)
    assert final.status is ScanStatus.STOPPED
    assert final.stopped_by == "U42" and final.status_message.startswith("Stopped by <@U42> after")
    statuses = {j.status for j in rt.scans.jobs(scan.scan_id)}
    assert JobStatus.SUCCEEDED in statuses  # results so far are kept
    assert JobStatus.CANCELLED in statuses
    assert rt.scans.findings(scan.scan_id).passed + len(rt.scans.findings(scan.scan_id).failing) > 0


def test_second_scan_is_refused_naming_the_running_one(rt: Any, project: dict[str, str]) -> None:
    first = rt.scans.start("web", trigger="manual", actor="alice")
    with pytest.raises(ConflictError) as err:
        rt.scans.start("web", trigger="manual", actor="bob")
    assert f"scan #{first.scan_id}" in err.value.message and "alice" in err.value.message


def test_replace_with_bad_credentials_loses_nothing(
    rt: Any, project: dict[str, str], aws: Any
) -> None:
    rt.projects.add("api", "prod-aws", actor="test", scope=["us-east-1"])
    with pytest.raises(InputError) as bad_shape:
        rt.connectors.replace("prod-aws", {"access_key_id": "", "secret_access_key": ""}, "t")
    assert bad_shape.value.fields
    with pytest.raises(ValidationFailedError, match="authentication failed"):
        rt.connectors.replace(
            "prod-aws",
            {"access_key_id": "AKIA" + "Z" * 16, "secret_access_key": "x" * 40},
            actor="test",
        )
    info = rt.connectors.get("prod-aws")
    assert not info.deleted and set(info.projects) == {"web", "api"}
    assert run(rt).status is ScanStatus.COMPLETED  # the old credentials still work


def test_replace_with_good_credentials_repoints_every_project(
    rt: Any, project: dict[str, str], aws: Any
) -> None:
    rt.projects.add("api", "prod-aws", actor="test", scope=["us-east-1"])
    old = rt.connectors.get("prod-aws")
    key_id, secret = aws.create_user("scanner2", admin=True)
    result = rt.connectors.replace(
        "prod-aws", {"access_key_id": key_id, "secret_access_key": secret}, actor="U1"
    )
    assert set(result.projects) == {"web", "api"}
    assert result.new.name == "prod-aws" and result.new.connector_id != old.connector_id
    assert result.new.fingerprint.startswith(key_id[:4]) and key_id[-4:] in result.new.fingerprint
    with rt.db.read() as s:
        tomb = s.get(Connector, old.connector_id)
        assert tomb.deleted_at is not None and tomb.secret_ciphertext is None
        assert tomb.replaced_by_id == result.new.connector_id
        actions = [e.action for e in s.scalars(select(AuditEvent))]
        assert "connector.replace" in actions
    assert run(rt, "api").status is ScanStatus.COMPLETED


def test_secrets_never_stored_in_plain_text(
    rt: Any, project: dict[str, str], aws: Any, database_url: str
) -> None:
    aws.client("iam").delete_access_key(UserName="scanner", AccessKeyId=project["key_id"])
    run(rt)
    if database_url.startswith("sqlite"):
        rt.db.dispose()
        raw = b"".join(
            p.read_bytes() for p in Path(database_url.split("///")[1]).parent.glob("cspm.db*")
        )
        assert project["secret"].encode() not in raw
    with rt.db.read() as s:
        for row in s.execute(select(Connector.__table__)).all():
            assert project["secret"] not in repr(row)


def test_concurrent_starts_admit_exactly_one(rt: Any, project: dict[str, str]) -> None:
    results: list[Any] = []

    def start() -> None:
        try:
            results.append(rt.scans.start("web", trigger="manual", actor="t"))
        except ConflictError as exc:
            results.append(exc)

    threads = [threading.Thread(target=start) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(1 for r in results if not isinstance(r, Exception)) == 1
    assert sum(1 for r in results if isinstance(r, ConflictError)) == 5


def test_shutdown_interrupts_running_scans_with_their_true_status(
    rt: Any, project: dict[str, str], aws_proxy: Any
) -> None:
    aws_proxy.delay(0.5, region="us-west-2")
    aws_proxy.delay(0.5, region="eu-west-1")
    scan = rt.scans.start("web", trigger="manual", actor="test")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if any(j.status is JobStatus.SUCCEEDED for j in rt.scans.jobs(scan.scan_id)):
            break
        time.sleep(0.05)
    rt.engine.shutdown(wait_for_scans=False)  # returns once the jobs stopped
    final = rt.scans.get(scan.scan_id)
    assert final.status is ScanStatus.PARTIALLY_COMPLETED  # not Stopped: nobody stopped it
    statuses = {j.status for j in rt.scans.jobs(scan.scan_id)}
    assert JobStatus.INTERRUPTED in statuses and JobStatus.SUCCEEDED in statuses
    assert any(e.code == "Interrupted" for e in rt.scans.errors(scan.scan_id))


def test_scan_queued_before_a_replacement_runs_with_the_new_connector(
    rt: Any, project: dict[str, str], aws: Any
) -> None:
    key_id, secret = aws.create_user("scanner-2", admin=True)
    new = {"access_key_id": key_id, "secret_access_key": secret}

    def replace_while_queued(_: Any) -> None:
        rt.connectors.replace("prod-aws", new, actor="test", new_name="prod-aws-2")

    scan = rt.scans.start("web", "schedule", "test", before_run=replace_while_queued)
    rt.scans.wait(scan.scan_id)
    done = rt.scans.get(scan.scan_id)
    assert done.status is ScanStatus.COMPLETED, done.status_message
    assert rt.scans.errors(scan.scan_id) == []


def test_scan_whose_connector_is_gone_fails_with_the_replace_step(
    rt: Any, project: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    def vanish(_: Any) -> None:
        with rt.db.unit_of_work() as s:  # the connector vanished, and nothing replaced it
            connector = s.scalars(select(Connector)).one()
            connector.secret_ciphertext = None

    scan = rt.scans.start("web", trigger="schedule", actor="test", before_run=vanish)
    rt.scans.wait(scan.scan_id)
    done = rt.scans.get(scan.scan_id)
    assert done.status is ScanStatus.FAILED
    assert "authentication failed" in done.status_message
    (error,) = rt.scans.errors(scan.scan_id)
    assert error.category is ErrorCategory.INVALID_CREDENTIALS
    assert error.code == "ConnectorDeleted"
    assert "Replace the connector" in error.remediation
    assert "crashed" not in caplog.text and "Traceback" not in caplog.text
