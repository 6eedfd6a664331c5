"""Slack and cloud storms for the fault benchmark (see bench/bench_faults.py)."""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from bench.faults.report import Row
from bot.domain import ErrorCategory, ScanStatus
from bot.playground.slack_emulator import SlackStandIn
from bot.runtime import build_runtime
from bot.scheduling.clock import ManualClock
from bot.scheduling.delivery import Deliverer, PacedRateLimitHandler
from bot.slack.client import make_web_client
from storage.db import Database
from tests.conftest import make_settings
from tests.support.outbox import drain, outbox_service, seed_outbox, shown

ATTEMPTS = 3  # CSPM_CLOUD_MAX_ATTEMPTS' default


def slack_storm(url: str, label: str, kind: str, channels: int, per_channel: int) -> Row:
    """Digests to `channels` channels through the outbox while Slack answers a storm of 429s
    (Retry-After 2) or 503s; waits run on a manual clock (the figures say how long)."""
    db = Database(url)
    db.upgrade()
    clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
    ids = seed_outbox(db, channels, per_channel, clock.now())
    total = channels * per_channel
    storm = total * 2
    with SlackStandIn() as slack:
        if kind == "429":
            slack.rate_limit("chat.postMessage", times=storm, retry_after=2)
        else:
            slack.fail(
                503,
                times=storm,
                path_prefix="/api/chat.postMessage",
                body={"ok": False, "error": "service_unavailable"},
            )
        client = make_web_client(
            make_settings("sqlite://", slack_api_url=slack.api_url),
            slack.token,
            rate_limit=PacedRateLimitHandler(2, clock.sleep),
        )
        deliverer = Deliverer(client, now=clock.now, sleep=clock.sleep)
        service = outbox_service(db, clock, deliverer)
        start, wall = clock.now(), time.perf_counter()
        rounds = drain(service, clock, rounds=60)
        wall = time.perf_counter() - wall
        virtual = (clock.now() - start).total_seconds()
        seen = shown(slack.messages)
        answers = Counter(c.status for c in slack.calls if c.path == "/api/chat.postMessage")
        problems = list(slack.problems)
    db.dispose()
    expected = list(range(1, per_channel + 1))
    delivered = sum(len(v) for v in seen.values())
    dupes = sum(len(v) - len(set(v)) for v in seen.values())
    lost = sum(len(set(expected) - set(seen.get(ch, []))) for ch in ids)
    disordered = sum(1 for ch in ids if seen.get(ch, []) != sorted(seen.get(ch, [])))
    ok = delivered == total and not dupes and not lost and not disordered and not problems
    return Row(
        f"Slack {kind} storm ({storm} answers)",
        label,
        f"{delivered}/{total} digests to {channels} channels delivered; duplicates {dupes}, "
        f"lost {lost}, channels out of order {disordered}",
        f"Slack answered {dict(sorted(answers.items()))}; outbox rounds {rounds}; "
        f"{virtual:,.0f} s of Slack waits (manual clock), {wall:.1f} s wall",
        ok,
    )


def _scan(rt: Any, project: str) -> Any:
    scan = rt.scans.start(project, trigger="cli", actor="bench")
    rt.scans.wait(scan.scan_id, timeout=300)
    return rt.scans.get(scan.scan_id)


def _summary(
    rt: Any, scan: Any, stormed: str, calls: int, calm_calls: int
) -> tuple[str, str, bool]:
    errors = rt.scans.errors(scan.scan_id)
    categories = {e.category for e in errors}
    units = {e.job_unit for e in errors}
    codes = sorted({e.code for e in errors})
    ok = (
        scan.status is ScanStatus.PARTIALLY_COMPLETED
        and categories == {ErrorCategory.TEMPORARY}
        and units == {stormed}
        and calls > 0
        and calls % ATTEMPTS == 0
        and calls <= ATTEMPTS * max(1, calm_calls)
    )
    happened = f"{scan.status.label}: {scan.status_message}"
    figures = (
        f"{len(errors)} error entries {', '.join(c.value for c in categories)} "
        f"({', '.join(codes)[:40]}); stormed unit {calls} calls = {calls // ATTEMPTS} x "
        f"{ATTEMPTS} attempts (calm unit {calm_calls})"
    )
    return happened, figures, ok


def cloud_storm(url: str, label: str, provider: str, kind: str) -> Row:
    """One unit of a two-unit scan answers only 429 or 5xx."""
    status = 429 if kind == "429" else 503
    name = f"{provider.upper() if provider != 'azure' else 'Azure'} {kind} storm on one unit"
    if provider == "aws":
        return _aws_storm(url, label, name, kind)
    if provider == "azure":
        return _azure_storm(url, label, name, status)
    return _gcp_storm(url, label, name, status)


def _aws_storm(url: str, label: str, name: str, kind: str) -> Row:
    from bot.playground.aws import FaultProxy, MotoStandIn

    aws = MotoStandIn.shared()
    aws.reset()
    aws.enable_auth()
    with FaultProxy(aws.url) as proxy:
        rt = build_runtime(
            make_settings(url, aws_endpoint_url=proxy.url, cloud_max_attempts=ATTEMPTS)
        )
        try:
            key_id, secret = aws.create_user(f"scanner{uuid.uuid4().hex[:6]}", admin=True)
            raw = {"access_key_id": key_id, "secret_access_key": secret}
            rt.connectors.create("aws", "prod-aws", raw, actor="bench")
            rt.projects.add("web", "prod-aws", actor="bench", scope=["us-east-1", "eu-west-1"])
            if kind == "429":
                proxy.throttle(region="eu-west-1")
            else:
                proxy.fail_5xx(region="eu-west-1", status=503)
            scan = _scan(rt, "web")
            calls, calm = proxy.count(region="eu-west-1"), proxy.count(region="us-east-1")
            return Row(name, label, *_summary(rt, scan, "eu-west-1", calls, calm))
        finally:
            rt.close()


def _azure_storm(url: str, label: str, name: str, status: int) -> Row:
    from bot.playground.azure import AzureStandIn

    with AzureStandIn() as azure:
        tenant, client, secret = str(uuid.uuid4()), str(uuid.uuid4()), "an-Azure-s3cret-bench"
        calm, stormy = str(uuid.uuid4()), str(uuid.uuid4())
        azure.add_app(tenant, client, secret, subscriptions=[calm, stormy])
        rt = build_runtime(
            make_settings(
                url,
                azure_authority_host=azure.authority,
                azure_arm_url=azure.arm_url,
                ca_bundle=azure.ca_pem_path,
                cloud_max_attempts=ATTEMPTS,
            )
        )
        try:
            raw = {"tenant_id": tenant, "client_id": client, "client_secret": secret}
            rt.connectors.create("azure", "corp", raw, actor="bench")
            rt.projects.add("subs", "corp", actor="bench")
            azure.reset_calls()
            prefix = f"/subscriptions/{stormy}"
            azure.fail(status, path_prefix=prefix, retry_after="0" if status == 429 else None)
            scan = _scan(rt, "subs")
            calls, calm_calls = azure.count(prefix), azure.count(f"/subscriptions/{calm}")
            return Row(name, label, *_summary(rt, scan, stormy, calls, calm_calls))
        finally:
            rt.close()


def _gcp_storm(url: str, label: str, name: str, status: int) -> Row:
    from bot.playground.gcp import GcpStandIn

    with GcpStandIn(key_size=1024) as google:
        info = google.add_service_account("proj-a")
        google.grant_project(info["client_email"], "proj-b")
        rt = build_runtime(
            make_settings(
                url,
                gcp_token_uri=google.token_uri,
                gcp_api_base=google.api_base,
                gcp_compute_base=google.compute_base,
                gcp_storage_base=google.storage_base,
                cloud_max_attempts=ATTEMPTS,
            )
        )
        try:
            raw = {"service_account_json": json.dumps(info)}
            rt.connectors.create("gcp", "gcp-a", raw, actor="bench")
            rt.projects.add("both", "gcp-a", actor="bench", scope=["proj-a", "proj-b"])
            google.reset_calls()
            prefix = "/compute/v1/projects/proj-b"
            google.fail(status, path_prefix=prefix)
            scan = _scan(rt, "both")
            calls, calm = google.count(prefix), google.count("/compute/v1/projects/proj-a")
            return Row(name, label, *_summary(rt, scan, "proj-b", calls, calm))
        finally:
            rt.close()
