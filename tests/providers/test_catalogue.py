"""The check catalogue: benchmark mappings, `cspm-bot checks` (filters, counts, Markdown) and
docs/CHECKS.md kept up to date; AWS checks routed to the right job units."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot import cli, providers
from bot.domain import GLOBAL_UNIT
from bot.providers.catalogue import FRAMEWORKS, catalogue, controls_text, counts

DOC = Path(__file__).resolve().parents[2] / "docs" / "CHECKS.md"
MINIMUM = {"aws": 40, "azure": 15, "gcp": 15}
CONTROL = re.compile(r"^\d+(\.\d+)*$")


def checks_output(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(["checks", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_every_mapping_names_a_known_framework_and_control_ids() -> None:
    for meta in catalogue():
        for framework, ids in meta.frameworks.items():
            assert framework in FRAMEWORKS, meta.id
            assert framework.split("-")[1] == meta.provider, meta.id
            assert ids and all(CONTROL.match(i) for i in ids), meta.id
        assert meta.remediation.rstrip().endswith((".", ")")), meta.id


def test_enough_checks_per_provider() -> None:
    found = {c.provider: c.total for c in counts(catalogue())}
    for provider, minimum in MINIMUM.items():
        assert found.get(provider, 0) >= minimum, (provider, found)


def test_docs_are_generated_from_the_catalogue(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = checks_output(capsys, "--markdown")
    assert code == 0
    assert DOC.read_text() == out, (
        "docs/CHECKS.md is stale: run `cspm-bot checks --markdown > docs/CHECKS.md`"
    )
    assert "| `aws.s3.bucket_public_access_block` | cis-aws-3.0 2.1.4 |" in out
    assert "account-level block alone covers every bucket" in out


def test_filter_by_framework(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = checks_output(capsys, "--framework", "CIS-AWS-3.0")
    assert code == 0
    rows = [line.split()[1] for line in out.splitlines() if line.startswith("aws ")]
    mapped = [m.id for m in catalogue(["aws"]) if m.controls("cis-aws-3.0")]
    assert rows == mapped and "aws.s3.bucket_default_encryption" not in rows
    assert not [line for line in out.splitlines() if line.startswith(("azure ", "gcp "))]
    assert re.search(r"Checks: aws \d+ \(cis-aws-3\.0: \d+\)\.", out)


def test_unknown_framework_or_provider_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = checks_output(capsys, "--framework", "cis-aws-9")
    assert (code, out) == (2, "")
    assert "Unknown framework 'cis-aws-9': choose cis-aws-3.0, cis-azure-2.0" in err
    code, _, err = checks_output(capsys, "--provider", "oracle")
    assert code == 2 and "Unknown provider 'oracle'" in err


def test_json_lists_controls(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    code, out, _ = checks_output(capsys, "--provider", "aws", "--json")
    assert code == 0
    data = json.loads(out)
    by_id = {c["id"]: c for c in data["checks"]}
    assert by_id["aws.iam.password_policy"]["frameworks"] == {"cis-aws-3.0": ["1.8", "1.9"]}
    assert "s3:GetBucketLocation" in data["permissions"]["aws"]


def test_controls_sort_numerically() -> None:
    meta = providers.check_by_id("aws", "aws.iam.password_policy")
    assert meta is not None
    assert controls_text(meta.meta) == "cis-aws-3.0 1.8, 1.9"


def test_aws_checks_are_routed_to_global_or_regional_units() -> None:
    checks = providers.checks_for("aws")
    global_ids = {c.meta.id for c in providers.checks_for_unit(checks, "aws", GLOBAL_UNIT)}
    regional_ids = {c.meta.id for c in providers.checks_for_unit(checks, "aws", "eu-west-1")}
    assert not global_ids & regional_ids
    assert global_ids | regional_ids == {c.meta.id for c in checks}
    # account-wide services run once; regional services in every region
    assert {"aws.iam.user_console_mfa", "aws.s3.bucket_tls_only"} <= global_ids
    assert {
        "aws.rds.storage_encrypted",
        "aws.config.recorder_enabled",
        "aws.kms.key_rotation",
        "aws.cloudtrail.region_logging",
        "aws.ec2.vpc_flow_logs",
    } <= regional_ids
