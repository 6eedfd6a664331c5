"""The provider registry: every check discovered with complete metadata, and a provider
defined outside the package working end to end from one folder plus one registry row."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from typing import Any

import pytest

from bot import providers
from bot.codec import CreateFlowState
from bot.domain import ScanStatus, Severity
from bot.errors import InputError
from bot.playground.blockkit import assert_valid_view
from bot.providers.checks import is_check_module
from bot.views.connectors import build_create_connector, provider_inputs
from tests.conftest import make_settings
from tests.providers.fakecloud import SPEC as FAKE


@pytest.mark.parametrize("spec", providers.specs(), ids=lambda s: s.name)
def test_every_check_module_is_discovered_with_complete_metadata(spec: Any) -> None:
    package = importlib.import_module(spec.checks_package)
    discovered = {c.meta.id for c in spec.checks()}
    modules = [
        importlib.import_module(f"{spec.checks_package}.{info.name}")
        for info in pkgutil.iter_modules(package.__path__)
        if not info.name.startswith("_")
    ]
    check_modules = [m for m in modules if is_check_module(m)]
    # a module that looks like a half-written check (META or run without the rest) is a bug
    for module in modules:
        if hasattr(module, "META") or hasattr(module, "run"):
            assert is_check_module(module), f"{module.__name__} lacks META, PERMISSIONS or run"
    assert check_modules, f"no checks found for {spec.name}"
    assert {m.META.id for m in check_modules} == discovered
    assert len(discovered) == len(check_modules), "check ids must be unique"
    for check in spec.checks():
        meta = check.meta
        assert meta.id.startswith(f"{spec.name}."), meta.id
        assert meta.provider == spec.name
        assert meta.title.strip() and meta.remediation.strip()
        assert isinstance(meta.severity, Severity)
        assert meta.scope in ("unit", "global", "regional")
        assert check.permissions, f"{meta.id} declares no permission"
        assert set(check.permissions) <= set(spec.required_permissions())


def test_aws_splits_checks_between_global_and_region_jobs() -> None:
    checks = providers.checks_for("aws")
    global_ids = {c.meta.id for c in providers.checks_for_unit(checks, "aws", "global")}
    regional_ids = {c.meta.id for c in providers.checks_for_unit(checks, "aws", "eu-west-1")}
    assert "aws.iam.root_mfa" in global_ids and "aws.ec2.sg_open_admin_ports" in regional_ids
    assert not global_ids & regional_ids
    assert global_ids | regional_ids == {c.meta.id for c in checks}


def test_unknown_provider_names_the_registered_ones() -> None:
    with pytest.raises(InputError, match="choose aws, azure or gcp"):
        providers.parse("oracle")
    assert providers.parse(" AWS ") == "aws"


@pytest.fixture
def fakecloud() -> Iterator[Any]:
    """The fake provider registered for one test, then removed."""
    providers.register(FAKE)
    yield FAKE
    providers.unregister(FAKE.name)


def test_a_provider_from_outside_the_package_works_end_to_end(
    fakecloud: Any, sqlite_url: str, runtime_factory: Any
) -> None:
    # it is listed wherever providers are offered
    assert "fakecloud" in providers.names()
    assert "fakecloud" in providers.choices_text()
    modal = build_create_connector(CreateFlowState(provider="fakecloud", channel_id="C1"))
    assert_valid_view(modal)
    select = next(b for b in modal["blocks"] if b.get("block_id") == "connector.field.provider")
    assert "fakecloud" in [o["value"] for o in select["element"]["options"]]
    assert [b["block_id"] for b in provider_inputs("fakecloud")] == ["connector.field.token"]

    rt = runtime_factory(make_settings(sqlite_url))
    with pytest.raises(InputError, match="fk-door:state"):
        rt.connectors.create("fakecloud", "bad", {"token": "nope"}, actor="test")
    token = "fk-front:open,back:locked"
    info = rt.connectors.create("fakecloud", "building", {"token": token}, actor="test")
    assert info.provider == "fakecloud" and token not in info.fingerprint
    rt.projects.add("hq", "building", actor="test", scope=["hq"])

    started = rt.scans.start("hq", trigger="cli", actor="test")
    assert rt.scans.wait(started.scan_id, timeout=60) is ScanStatus.COMPLETED
    report = rt.scans.findings(started.scan_id)
    assert [(f.check_id, f.resource) for f in report.failing] == [
        ("fakecloud.doors.locked", "hq/front")
    ]
    assert report.passed == 1


def test_one_bucket_listing_per_scan_for_every_s3_check(aws: Any) -> None:
    """Several S3 checks share one ListBuckets call (counted at the botocore level)."""
    from bot.domain import CancelToken
    from bot.providers.aws.adapter import ADAPTER
    from bot.providers.aws.credentials import AwsCredentials

    key_id, secret = aws.create_user("lister", admin=True)
    s3 = aws.client("s3")
    for i in range(3):
        s3.create_bucket(Bucket=f"bucket-{i}")
    session = ADAPTER.open_session(AwsCredentials(key_id, secret), aws.endpoints(), CancelToken())
    calls: list[str] = []
    session.client("s3").meta.events.register(
        "before-call.s3.ListBuckets", lambda **_: calls.append("ListBuckets")
    )
    s3_checks = [c for c in providers.checks_for("aws") if c.meta.id.startswith("aws.s3.bucket_")]
    assert len(s3_checks) >= 2
    for check in s3_checks:
        results = list(check.run(session, "global"))
        assert {r.resource for r in results} >= {f"arn:aws:s3:::bucket-{i}" for i in range(3)}
    assert calls == ["ListBuckets"]
