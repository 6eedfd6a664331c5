"""`/cspm digest …` and the operator CLI (`cspm-bot digest …` / `schedule …`)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.errors import PermissionDeniedError
from bot.playground.blockkit import validate_api_call
from bot.playground.slack_emulator import SlackStandIn
from bot.runtime import Runtime
from bot.scheduling.cli import add_cli
from bot.scheduling.service import SchedulingService
from bot.settings import Settings
from handlers.digest import digest_needs_operator, handle_digest_command
from tests.conftest import make_settings
from tests.scheduling._support import ScriptedRunner, add_connector, add_project, add_scan

Factory = Callable[..., SchedulingService]


@pytest.fixture
def settings(database_url: str, slack: SlackStandIn) -> Settings:
    return make_settings(
        database_url, operators=["UOPS"], slack_bot_token=slack.token, slack_api_url=slack.api_url
    )


def _say(rt: Runtime, text: str, user: str = "UOPS", channel: str = "CSEC") -> dict[str, Any]:
    payload = handle_digest_command(rt, text, channel, user)
    body = {k: v for k, v in payload.items()}
    validate_api_call("response_url", body)
    return payload


def _text(payload: dict[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False)


def test_subscribe_list_unsubscribe(rt: Runtime, service_factory: Factory) -> None:
    service = service_factory(rt)
    reply = _say(rt, "digest subscribe daily 09:00 Europe/Berlin")
    assert reply["response_type"] == "ephemeral"
    assert "Daily at 09:00 (Europe/Berlin)" in _text(reply) and "a short all-clear" in _text(reply)
    [sub] = service.ops.list_subscriptions()
    assert sub.subscription.channel_id == "CSEC" and sub.next_run is not None
    assert service.next_run_times()[f"digest:{sub.subscription.id}"] == sub.next_run

    reply = _say(rt, "subscribe weekly mon 08:30 quiet")
    assert "schedule replaced" in _text(reply) and "no message" in _text(reply)
    _say(rt, "subscribe daily 07:00", channel="COTHER")
    listing = _say(rt, "digest list")
    assert "Weekly on Monday at 08:30 (UTC)" in _text(listing) and "(this channel)" in _text(
        listing
    )
    assert "COTHER" in _text(listing)

    assert "no longer gets" in _text(_say(rt, "digest unsubscribe"))
    assert "had no digest subscription" in _text(_say(rt, "digest unsubscribe"))
    assert [s.subscription.channel_id for s in service.ops.list_subscriptions()] == ["COTHER"]


def test_without_a_running_scheduler_the_job_is_still_written(rt: Runtime) -> None:
    _say(rt, "digest subscribe daily 06:00")
    from bot.scheduling.jobs import stored_next_run_times

    [(job, when)] = stored_next_run_times(rt.db.engine).items()
    assert job.startswith("digest:") and when is not None and when.hour == 6


def test_now_posts_the_running_period_in_channel(rt: Runtime) -> None:
    pid = add_project(rt, "web", add_connector(rt))
    add_scan(rt, pid, "failed", datetime.now(UTC) - timedelta(hours=2), ["invalid_credentials"])
    reply = _say(rt, "digest now")
    assert reply["response_type"] == "in_channel"
    assert "CSPM failure digest (on demand)" in _text(reply) and "web" in _text(reply)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("digest", None),
        ("digest help", None),
        ("digest subscribe hourly 09:00", "not a cadence"),
        ("digest subscribe daily 9am", "not a time of day"),
        ("digest subscribe weekly 09:00", "not a day of the week"),
        ("digest subscribe daily 09:00 Atlantis/Capital", "Unknown time zone"),
        ("digest frobnicate", "Unknown digest command 'frobnicate'"),
    ],
)
def test_mistakes_get_usage(rt: Runtime, text: str, problem: str | None) -> None:
    reply = _say(rt, text)
    assert reply["response_type"] == "ephemeral"
    assert "/cspm digest subscribe daily 09:00" in _text(reply)
    if problem:
        assert problem in _text(reply)


def test_changes_need_an_operator(rt: Runtime) -> None:
    with pytest.raises(PermissionDeniedError, match="Only CSPM operators"):
        handle_digest_command(rt, "digest subscribe daily 09:00", "CSEC", "UNOBODY")
    assert handle_digest_command(rt, "digest list", "CSEC", "UNOBODY")["response_type"]
    seen: list[str] = []
    handle_digest_command(rt, "digest unsubscribe", "C1", "UX", authorize=seen.append)
    assert seen == ["manage failure digests"]
    assert digest_needs_operator("digest subscribe daily 09:00")
    assert not digest_needs_operator("list")


# --- the CLI --------------------------------------------------------------------------------
def _cli(rt: Runtime, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="cspm-bot")
    parser.add_argument("--actor", default="cli:test")
    add_cli(parser.add_subparsers(dest="group", required=True))
    args = parser.parse_args(list(argv))
    return int(args.fn(rt, args))


def test_cli_schedule_set_list_clear(rt: Runtime, capsys: pytest.CaptureFixture[str]) -> None:
    add_project(rt, "web", add_connector(rt))
    assert _cli(rt, "schedule", "set", "web", "0 6 * * 1-5", "--tz", "Europe/Berlin") == 0
    assert "next run" in capsys.readouterr().out
    assert _cli(rt, "schedule", "list", "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    [scan] = listed["scans"]
    assert scan["project_name"] == "web" and scan["cron"] == "0 6 * * 1-5"
    assert datetime.fromisoformat(scan["next_run"]).hour == 6
    assert _cli(rt, "schedule", "list") == 0
    assert "Europe/Berlin" in capsys.readouterr().out
    assert _cli(rt, "schedule", "clear", "web") == 0
    capsys.readouterr()
    _cli(rt, "schedule", "list", "--json")
    assert json.loads(capsys.readouterr().out)["scans"] == []


def test_cli_digest_send(
    rt: Runtime, slack: SlackStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    pid = add_project(rt, "web", add_connector(rt))
    add_scan(rt, pid, "failed", datetime.now(UTC) - timedelta(hours=1), ["temporary"])
    assert _cli(rt, "digest", "send", "--channel", "COPS", "--dry-run", "--json") == 0
    dry = json.loads(capsys.readouterr().out)
    assert dry["failing_projects"] == 1 and dry["payload"]["blocks"]
    assert slack.calls_to("chat.postMessage") == []

    slack.rate_limit("chat.postMessage", times=1, retry_after=0)
    assert _cli(rt, "digest", "send", "--channel", "COPS", "--json") == 0
    sent = json.loads(capsys.readouterr().out)
    assert sent["ok"] and sent["ts"]
    [post] = slack.calls_to("chat.postMessage")
    assert post.body["channel"] == "COPS" and "web" in post.text()

    assert _cli(rt, "digest", "list") == 0
    assert "No digest subscriptions" in capsys.readouterr().out
    _say(rt, "digest subscribe daily 09:00 Europe/Berlin", channel="COPS")
    assert _cli(rt, "digest", "list", "--json") == 0
    [listed] = json.loads(capsys.readouterr().out)["subscriptions"]
    assert listed["subscription"]["schedule"]["cadence"] == "daily"
    assert listed["next_run"] is not None
    assert _cli(rt, "schedule", "list") == 0
    assert "Daily at 09:00 (Europe/Berlin)" in capsys.readouterr().out


def test_cli_digest_send_reports_slack_errors(
    rt: Runtime, slack: SlackStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    slack.not_in_channel.add("CNOPE")
    assert _cli(rt, "digest", "send", "--channel", "CNOPE") == 1
    assert "NOT sent to CNOPE: not_in_channel" in capsys.readouterr().out


def test_cli_without_token(database_url: str, runtime_factory: Any, runner: ScriptedRunner) -> None:
    from bot.errors import InputError

    bare = runtime_factory(make_settings(database_url), runner=runner)
    with pytest.raises(InputError, match="SLACK_BOT_TOKEN is not set"):
        _cli(bare, "digest", "send", "--channel", "C1")


def test_cli_schedule_list_names_the_project_of_a_pending_retry(
    rt: Runtime,
    service_factory: Callable[..., SchedulingService],
    runner: ScriptedRunner,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tests.scheduling._support import run_scan

    add_project(rt, "payments-prod", add_connector(rt))
    service = service_factory(rt)
    runner.then("temporary")
    run_scan(rt, "payments-prod")
    service.drain()
    assert _cli(rt, "schedule", "list") == 0
    out = capsys.readouterr().out
    assert "RETRY OF PROJECT" in out and "payments-prod" in out
    assert _cli(rt, "schedule", "list", "--json") == 0
    [retry] = json.loads(capsys.readouterr().out)["retries"]
    assert retry["project"] == "payments-prod" and retry["at"]


def test_scheduling_settings_are_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bot.scheduling.config import SchedulingConfig
    from bot.settings import SettingsError, load_settings

    for name, value in {
        "CSPM_RETRY_FACTOR": "3",
        "CSPM_SUPPORT_NEW_CONNECTOR_HOURS": "6",
        "CSPM_SCHEDULER_LEASE_SECONDS": "45",
        "CSPM_SCAN_SCHEDULE_MIN_MINUTES": "30",
    }.items():
        monkeypatch.setenv(name, value)
    config = SchedulingConfig.from_settings(load_settings(database_url="sqlite://"))
    assert config.retry_factor == 3 and config.support_new_connector_hours == 6
    assert config.scheduler_lease_seconds == 45 and config.scan_schedule_min_minutes == 30
    monkeypatch.setenv("CSPM_SCHEDULER_LEASE_SECONDS", "1")
    with pytest.raises(SettingsError, match="CSPM_SCHEDULER_LEASE_SECONDS"):
        load_settings(database_url="sqlite://")
