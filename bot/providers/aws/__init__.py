"""Amazon Web Services: boto3 adapter, checks and connector form (one registry row below)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence

from bot.errors import InputError
from bot.providers.aws.credentials import FORM_FIELDS, AwsCredentials, fingerprint
from bot.providers.aws.units import group_of, is_global, unit_group
from bot.providers.checks import Check
from bot.providers.spec import EndpointSetting, ProviderSpec


def unit_checks(checks: Sequence[Check], unit: str) -> list[Check]:
    """Account-wide checks run in their service's `global:<group>` job (all of them in a
    plain "global" job), regional ones in every region's job (`bot.providers.aws.units`)."""
    if not is_global(unit):
        return [c for c in checks if c.meta.scope == "regional"]
    group = unit_group(unit)
    return [
        c
        for c in checks
        if c.meta.scope == "global" and (group is None or group_of(c.meta.id) == group)
    ]


REGION_RE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")


def check_scope(scope: Sequence[str]) -> None:
    """A project's AWS scope is a list of region names."""
    bad = [u for u in scope if not REGION_RE.match(u)]
    if bad:
        raise InputError(
            f"Not AWS region names: {', '.join(bad)} (e.g. us-east-1, eu-west-2).",
            {"scope": "Use AWS region names such as us-east-1."},
        )


def session_name(scan_id: int) -> str:
    """The role session name of a scan's AssumeRole calls: shows in the member account's
    CloudTrail which bot scan used the role."""
    return f"cspm-bot-scan-{scan_id}"


def scan_credentials(
    creds: AwsCredentials, scan_id: int, target: Mapping[str, str] | None
) -> AwsCredentials:
    """The connector's credentials for one scan: a project with a target account assumes
    that account's role (with its external ID) instead of the connector's own role; every
    role session is named after the scan."""
    changes: dict[str, str | None] = {"session_name": session_name(scan_id)}
    if target and target.get("role_arn"):
        changes["role_arn"] = target["role_arn"]
        changes["external_id"] = target.get("external_id") or None
    return dataclasses.replace(creds, **changes)  # type: ignore[arg-type]


SPEC = ProviderSpec(
    name="aws",
    display_name="AWS",
    adapter_module="bot.providers.aws.adapter",
    checks_package="bot.providers.aws.checks",
    credentials_type=AwsCredentials,
    form_fields=FORM_FIELDS,
    fingerprint=fingerprint,
    validation_call="AWS STS GetCallerIdentity",
    credentials_file=(
        '{"access_key_id", "secret_access_key", "role_arn"?, "external_id"?, '
        '"member_role_name"?, "member_external_id"?} or {"identity": "machine", ...}'
    ),
    endpoints=(
        EndpointSetting(
            "aws_endpoint_url",
            "AWS_ENDPOINT_URL",
            None,
            "boto3's standard variable: send AWS calls elsewhere (proxy, stand-in)",
        ),
        EndpointSetting(
            "aws_default_region",
            "CSPM_AWS_DEFAULT_REGION",
            "us-east-1",
            "region for STS and global services",
        ),
    ),
    unit_checks=unit_checks,
    check_scope=check_scope,
    scan_credentials=scan_credentials,
    discovery="the organization's member accounts (AWS Organizations ListAccounts)",
)
