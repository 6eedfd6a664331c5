"""Scans that assume a role in the account they scan (moto with auth, on loopback): the role
session is named after the scan, and a role that can no longer be assumed fails the scan with
its own error category and next step."""

from __future__ import annotations

import json
from typing import Any

import pytest
from moto.sts.models import sts_backends

from bot.domain import ErrorCategory, ScanStatus
from tests.conftest import make_settings

EXTERNAL_ID = "cspm-hub-external-id"


@pytest.fixture
def rt(database_url: str, aws_proxy: Any, runtime_factory: Any) -> Any:
    return runtime_factory(make_settings(database_url, aws_endpoint_url=aws_proxy.url))


def _trust(principal: str, external_id: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": principal},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"sts:ExternalId": external_id}},
                }
            ],
        }
    )


@pytest.fixture
def role_project(rt: Any, aws: Any) -> str:
    """Connector "hub" (a key that assumes CspmScanRole with an external ID), project "web"."""
    key_id, secret = aws.create_user("scanner", admin=True)
    role_arn = aws.create_role(
        "CspmScanRole", trusted=[aws.user_arn("scanner")], external_id=EXTERNAL_ID
    )
    raw = {
        "access_key_id": key_id,
        "secret_access_key": secret,
        "role_arn": role_arn,
        "external_id": EXTERNAL_ID,
    }
    rt.connectors.create("aws", "hub", raw, actor="test")
    rt.projects.add("web", "hub", actor="test", scope=["us-east-1"])
    return role_arn


def run(rt: Any, project: str = "web") -> Any:
    scan = rt.scans.start(project, trigger="cli", actor="test")
    rt.scans.wait(scan.scan_id)
    return rt.scans.get(scan.scan_id)


def test_scan_assumes_the_role_with_a_session_named_after_the_scan(
    rt: Any, aws: Any, role_project: str
) -> None:
    scan = run(rt)
    assert scan.status is ScanStatus.COMPLETED, rt.scans.errors(scan.scan_id)
    sessions = {
        r.session_name
        for r in sts_backends[aws.account_id]["aws"].assumed_roles
        if r.role_arn == role_project
    }
    assert f"cspm-bot-scan-{scan.scan_id}" in sessions


def test_a_role_whose_trust_changed_fails_with_the_assume_role_step(
    rt: Any, aws: Any, role_project: str
) -> None:
    aws.client("iam").update_assume_role_policy(
        RoleName="CspmScanRole",
        PolicyDocument=_trust(aws.user_arn("scanner"), "another-external-id"),
    )
    scan = run(rt)
    assert scan.status is ScanStatus.FAILED
    assert "role assumption failed" in scan.status_message
    errors = rt.scans.errors(scan.scan_id)
    assert errors and {e.category for e in errors} == {ErrorCategory.ASSUME_ROLE_FAILED}
    # one error per job: after a failed AssumeRole no other check of the unit is tried
    assert len(errors) == len({e.job_unit for e in errors})
    first = errors[0]
    assert role_project in first.message
    assert "trust policy" in first.remediation and "external ID" in first.remediation


# --- an organization's member accounts -------------------------------------------------------

MEMBERS = ("prod", "dev", "audit")


@pytest.fixture
def org(rt: Any, aws: Any) -> dict[str, str]:
    """Connector "hub" in the management account of an organization with three members."""
    ids = aws.create_organization(MEMBERS)
    key_id, secret = aws.create_user("hub-scanner", admin=True)
    rt.connectors.create(
        "aws", "hub", {"access_key_id": key_id, "secret_access_key": secret}, actor="test"
    )
    return ids


def test_discovery_makes_one_project_per_member_and_updates_on_a_second_run(
    rt: Any, org: dict[str, str]
) -> None:
    first = rt.connectors.discover("hub", actor="test")
    assert first.count("created") == 3
    assert {p.target_id for p in first.projects} == set(org.values())
    assert {p.name for p in first.projects} == {f"hub-{m}" for m in MEMBERS}
    for project in first.projects:
        info = rt.projects.get(project.name)
        assert (info.connector_name, info.scope) == ("hub", ())

    again = rt.connectors.discover("hub", actor="test")
    assert again.count("unchanged") == 3 and again.count("created") == 0
    assert [p.project_id for p in again.projects] == [p.project_id for p in first.projects]
    assert len(rt.projects.names()) == 3


def test_a_member_project_scan_assumes_the_member_role_named_after_the_scan(
    rt: Any, aws: Any, org: dict[str, str]
) -> None:
    rt.connectors.discover("hub", actor="test")
    rt.projects.get("hub-prod")
    with rt.db.unit_of_work() as s:  # one region keeps the scan short
        from storage.models import Project

        s.query(Project).filter_by(name="hub-prod").one().scope = ["us-east-1"]
    scan = run(rt, "hub-prod")
    assert scan.status is ScanStatus.COMPLETED, rt.scans.errors(scan.scan_id)
    member = org["prod"]
    sessions = [
        (r.role_arn, r.session_name)
        for r in sts_backends[member]["aws"].assumed_roles
        if r.session_name.startswith("cspm-bot")
    ]
    expected = (
        f"arn:aws:iam::{member}:role/OrganizationAccountAccessRole",
        f"cspm-bot-scan-{scan.scan_id}",
    )
    assert expected in sessions


def test_a_member_role_that_refuses_the_hub_fails_with_the_assume_role_step(
    rt: Any, aws_proxy: Any, org: dict[str, str]
) -> None:
    rt.connectors.discover("hub", actor="test")
    denied = f"arn:aws:iam::{org['dev']}:role/OrganizationAccountAccessRole"
    aws_proxy.deny_assume_role(denied)
    with rt.db.unit_of_work() as s:
        from storage.models import Project

        s.query(Project).filter_by(name="hub-dev").one().scope = ["us-east-1"]
    scan = run(rt, "hub-dev")
    assert scan.status is ScanStatus.FAILED
    errors = rt.scans.errors(scan.scan_id)
    assert {e.category for e in errors} == {ErrorCategory.ASSUME_ROLE_FAILED}
    assert denied in errors[0].message
    assert "trust policy" in errors[0].remediation


def test_discovery_without_organizations_access_is_classified(rt: Any, aws: Any) -> None:
    from bot.errors import ValidationFailedError

    key_id, secret = aws.create_user("plain", policy_actions=["sts:GetCallerIdentity"])
    rt.connectors.create(
        "aws", "plain", {"access_key_id": key_id, "secret_access_key": secret}, actor="test"
    )
    with pytest.raises(ValidationFailedError) as caught:
        rt.connectors.discover("plain", actor="test")
    assert "permission denied" in caught.value.message
    assert "organizations:ListAccounts" in caught.value.message
    assert rt.projects.names() == []
