"""`/cspm` through the real Bolt app: every subcommand, usage errors and "did you mean"."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import handlers
from bot import ids
from bot.domain import JobStatus, ScanStatus
from bot.slack.app import build_app, context_of
from handlers.command_parser import SPECS, Sub
from storage.models import AuditEvent
from tests.support.query import all_text, button_texts
from tests.support.slackbot import (
    ADMIN,
    AUTH_ERROR,
    OPERATOR,
    READER,
    Bot,
    JobSpec,
    seed_connector,
    seed_project,
    seed_scan,
)


def _reply(bot: Bot) -> dict:
    return bot.slack.last("response_url").body


def test_empty_text_and_help_list_every_subcommand(bot: Bot) -> None:
    for text in ("", "help"):
        result = bot.driver.command(text, READER)
        assert result.status == 200 and result.body == b""  # plain ack; the answer follows
        reply = all_text(_reply(bot)).replace("&lt;", "<").replace("&gt;", ">")
        for sub in ("projects [status]", "history <project>", "errors <scan>", "scan <project>",
                    "stop <project>", "connectors", "connect", "support <scan>"):  # fmt: skip
            assert f"/cspm {sub}" in reply
    assert _reply(bot)["response_type"] == "ephemeral"


def test_unknown_subcommand_suggests_the_closest(bot: Bot) -> None:
    bot.driver.command("histroy web", READER)
    reply = _reply(bot)
    text = all_text(reply)
    assert "Unknown subcommand “histroy”" in text
    assert "Did you mean `history`" in text
    assert "Usage:" in text
    assert reply["response_type"] == "ephemeral"


def test_missing_argument_shows_usage(bot: Bot) -> None:
    bot.driver.command("history", READER)
    assert "`/cspm history` needs a project" in all_text(_reply(bot))


def test_bad_status_filter_suggests_status_words(bot: Bot) -> None:
    bot.driver.command("projects faild", READER)
    text = all_text(_reply(bot))
    assert "Unknown status" in text and "`failed`" in text


def test_mistyped_project_suggests_the_real_one(bot: Bot) -> None:
    seed_connector(bot.rt)
    seed_project(bot.rt, "payments-prod")
    bot.driver.command("history paymnets-prod", READER)
    text = all_text(_reply(bot))
    assert "No project named 'paymnets-prod'" in text
    assert "Did you mean `payments-prod`?" in text


def test_projects_lists_rows_with_status(bot: Bot) -> None:
    seed_connector(bot.rt)
    seed_project(bot.rt, "web")
    seed_project(bot.rt, "db")
    seed_scan(bot.rt, "web", ScanStatus.FAILED, [JobSpec("global", JobStatus.FAILED, AUTH_ERROR)])
    bot.driver.command("projects", READER)
    text = all_text(_reply(bot))
    assert ":red_circle: *web*" in text and "*Failed*: 1 of 1 jobs failed" in text
    assert "*db*" in text and "never scanned" in text

    bot.driver.command("projects failed", READER)
    text = all_text(_reply(bot))
    assert "*web*" in text and "*db*" not in text


def test_history_of_a_project(bot: Bot) -> None:
    seed_connector(bot.rt)
    seed_project(bot.rt, "web")
    scan_id = seed_scan(bot.rt, "web", ScanStatus.COMPLETED, [JobSpec("global")])
    bot.driver.command("history web", READER)
    reply = _reply(bot)
    assert "History · web" in all_text(reply)
    assert f"Scan #{scan_id}" in all_text(reply)


def test_errors_opens_the_error_log_modal(bot: Bot) -> None:
    seed_connector(bot.rt)
    seed_project(bot.rt, "web")
    scan_id = seed_scan(
        bot.rt, "web", ScanStatus.FAILED, [JobSpec("global", JobStatus.FAILED, AUTH_ERROR)]
    )
    for ref in (f"#{scan_id}", "web"):
        bot.driver.command(f"errors {ref}", READER)
        view = bot.slack.last("views.open").view
        assert view["callback_id"] == ids.ErrorLogView.MODAL
        assert "Authentication failed" in all_text(view)


def test_findings_of_the_latest_scan(bot: Bot) -> None:
    seed_connector(bot.rt)
    seed_project(bot.rt, "web")
    seed_scan(bot.rt, "web", ScanStatus.COMPLETED, [JobSpec("global")], findings=3)
    bot.driver.command("findings web", READER)
    text = all_text(_reply(bot))
    assert "Findings · web" in text and "3 failing" in text


def test_connectors_lists_them_with_actions(bot: Bot) -> None:
    seed_connector(bot.rt, "prod-aws")
    bot.driver.command("connectors", READER)
    reply = _reply(bot)
    assert "prod-aws" in all_text(reply)
    assert {"New connector", "Replace", "Validate", "Delete"} <= set(button_texts(reply))


def test_connect_opens_the_new_connector_modal_for_admins(bot: Bot) -> None:
    bot.driver.command("connect", ADMIN)
    view = bot.slack.last("views.open").view
    assert view["callback_id"] == ids.ConnectorView.CREATE_SUBMIT


def test_readers_may_not_run_stop_connect_or_contact_support(bot: Bot) -> None:
    seed_connector(bot.rt)
    seed_project(bot.rt, "web")
    seed_scan(bot.rt, "web", ScanStatus.FAILED, [JobSpec("global", JobStatus.FAILED, AUTH_ERROR)])
    for text, role in (
        ("scan web", "operators"),
        ("stop web", "operators"),
        ("connect", "admins"),
        ("support web", "admins"),
    ):
        bot.driver.command(text, READER)
        reply = all_text(_reply(bot))
        assert f"Only CSPM {role}" in reply, (text, reply)
    assert not bot.slack.calls_to("views.open")
    assert not bot.slack.calls_to("chat.postMessage")
    assert bot.rt.scans.history("web").scans.total_items == 1  # no scan was started


def test_operators_may_not_connect(bot: Bot) -> None:
    bot.driver.command("connect", OPERATOR)
    assert "Only CSPM admins may connect cloud accounts" in all_text(_reply(bot))


def test_stop_of_an_idle_project_says_so(bot: Bot) -> None:
    seed_connector(bot.rt)
    seed_project(bot.rt, "web")
    bot.driver.command("stop web", OPERATOR)
    assert "Project 'web' has no scan running." in all_text(_reply(bot))


def test_stop_by_scan_id_records_the_slack_user(bot: Bot) -> None:
    seed_connector(bot.rt)
    seed_project(bot.rt, "web")
    scan_id = seed_scan(bot.rt, "web", ScanStatus.RUNNING, [JobSpec("global", JobStatus.RUNNING)])
    bot.driver.command(f"stop #{scan_id}", OPERATOR)
    assert f"Stop requested for scan #{scan_id} of web" in all_text(_reply(bot))
    assert bot.rt.scans.get(scan_id).stopped_by == f"slack:{OPERATOR}"
    with bot.rt.db.read() as s:
        actors = {(e.actor, e.action) for e in s.query(AuditEvent)}
    assert (f"slack:{OPERATOR}", "scan.stop") in actors


def test_support_needs_a_configured_channel(make_bot) -> None:
    bot = make_bot(support_channel=None)
    seed_connector(bot.rt)
    seed_project(bot.rt, "web")
    seed_scan(bot.rt, "web", ScanStatus.FAILED, [JobSpec("global", JobStatus.FAILED, AUTH_ERROR)])
    bot.driver.command("support web", ADMIN)
    assert "CSPM_SUPPORT_CHANNEL" in all_text(_reply(bot))


# --- the "new /cspm subcommand" recipe of the README stays true ---------------------------


def test_help_lists_every_subcommand_of_the_parser(bot: Bot) -> None:
    bot.driver.command("help", READER)
    reply = all_text(_reply(bot)).replace("&lt;", "<").replace("&gt;", ">")
    for spec in SPECS:
        assert f"/cspm {spec.sub.value} {spec.args}".strip() in reply
        assert spec.description.split("(")[0].strip() in reply


def test_every_subcommand_of_the_parser_has_exactly_one_handler(bot: Bot) -> None:
    app = build_app(bot.rt, bot.app.client, token_verification_enabled=False)
    try:
        router = handlers.register(app, context_of(app))
        assert router.registered == set(Sub) == {spec.sub for spec in SPECS}
        with pytest.raises(ValueError, match="has a handler already"):
            router.add(Sub.HISTORY, router.handler(Sub.HISTORY))
    finally:
        context_of(app).close()


def test_the_readme_recipe_names_files_that_exist() -> None:
    root = Path(__file__).resolve().parents[2]
    readme = (root / "README.md").read_text()
    recipe = readme.split("### Extending: a new `/cspm` subcommand", 1)[1].split("\n### ", 1)[0]
    named = set(re.findall(r"`((?:bot|handlers|tests)/[\w/]+\.py)`", recipe))
    existing = {"handlers/command_parser.py", "handlers/__init__.py", "bot/ids.py", "bot/codec.py"}
    assert existing <= named
    for path in existing | {"handlers/projects.py", "tests/handlers/test_commands.py"}:
        assert (root / path).is_file(), path
    assert "`commands.add(Sub." in recipe and "`FEATURES`" in recipe
    assert handlers.FEATURES and all(callable(f.register) for f in handlers.FEATURES)
