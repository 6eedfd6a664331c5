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
