"""The projects list: the Jobs accordion in place (response_url and chat.update), the status
filter, paging, History and the first troubleshooting step (status icon, status message, jobs)."""

from __future__ import annotations

from bot import ids
from bot.codec import FilterRef, ProjectRef, encode, encode_option
from bot.domain import JobStatus, ScanStatus
from bot.views.projects import PAGE_SIZE
from tests.support.query import all_text, button_texts
from tests.support.slackbot import (
    AUTH_ERROR,
    READER,
    Bot,
    JobSpec,
    seed_connector,
    seed_project,
    seed_scan,
)

JOBS = [
    JobSpec("global", JobStatus.FAILED, AUTH_ERROR),
    JobSpec("us-east-1"),
    JobSpec("eu-west-1"),
]


def _world(bot: Bot) -> int:
    seed_connector(bot.rt)
    seed_project(bot.rt, "web")
    seed_project(bot.rt, "db")
    return seed_scan(bot.rt, "web", ScanStatus.PARTIALLY_COMPLETED, JOBS)


def test_jobs_expands_and_collapses_an_ephemeral_list_in_place(bot: Bot) -> None:
    _world(bot)
    bot.driver.command("projects", READER)
    listing = bot.slack.last("response_url").body
    assert "Jobs of the latest scan" not in all_text(listing)

    bot.driver.click_in_message(listing, ids.ProjectAction.JOBS, READER)
    expanded = bot.slack.last("response_url").body
    assert expanded["replace_original"] is True
    text = all_text(expanded)
    assert "*Jobs of the latest scan:* 2 succeeded, 1 failed, 3 in all" in text
    assert ":x: Failed `global` — authentication failed:" in text
    assert "Hide jobs" in button_texts(expanded)

    bot.driver.click_in_message(expanded, ids.ProjectAction.JOBS, READER)
    collapsed = bot.slack.last("response_url").body
    assert collapsed["replace_original"] is True
    assert "Jobs of the latest scan" not in all_text(collapsed)
    assert "Hide jobs" not in button_texts(collapsed)


def test_jobs_updates_a_posted_list_with_chat_update(bot: Bot) -> None:
    _world(bot)
    # Home's "Projects" button posts the list to the user's DM (a real message with a ts)
    bot.driver.event({"type": "app_home_opened", "user": READER, "tab": "home"})
    bot.driver.click_in_view(READER, ids.ProjectAction.SHOW, READER, match=lambda e: True)
    posted = bot.slack.last("chat.postMessage")
    assert posted.body["channel"] == READER
    channel, ts = "D" + READER[1:], next(iter(bot.slack.messages))[1]
    message = bot.slack.message(channel, ts)

    bot.driver.click_in_message(message, ids.ProjectAction.JOBS, READER, channel=channel, ts=ts)
    update = bot.slack.last("chat.update")
    assert update.body["channel"] == channel and update.body["ts"] == ts
    assert "Jobs of the latest scan" in all_text(bot.slack.message(channel, ts))


def test_status_filter_and_show_all(bot: Bot) -> None:
    _world(bot)
    bot.driver.command("projects", READER)
    listing = bot.slack.last("response_url").body
    bot.driver.click_in_message(
        listing,
        ids.ProjectAction.FILTER,
        READER,
        option_value=encode_option(FilterRef(ScanStatus.FAILED)),
    )
    filtered = bot.slack.last("response_url").body
    assert "No project's latest scan is *Failed*." in all_text(filtered)
    bot.driver.click_in_message(
        filtered, ids.ProjectAction.REFRESH, READER, match=lambda e: e["text"]["text"] == "Show all"
    )
    everything = all_text(bot.slack.last("response_url").body)
    assert "*web*" in everything and "*db*" in everything


def test_paging_moves_in_place(bot: Bot) -> None:
    seed_connector(bot.rt)
    names = [f"p{i:02d}" for i in range(PAGE_SIZE + 3)]
    for name in names:
        seed_project(bot.rt, name)
    bot.driver.command("projects", READER)
    first = bot.slack.last("response_url").body
    assert f"Page 1 of 2 · {len(names)} projects" in all_text(first)
    bot.driver.click_in_message(first, ids.PageAction.NEXT, READER)
    second = bot.slack.last("response_url").body
    assert second["replace_original"] is True
    assert f"*{names[-1]}*" in all_text(second) and f"*{names[0]}*" not in all_text(second)
    bot.driver.click_in_message(second, ids.PageAction.PREV, READER)
    assert f"*{names[0]}*" in all_text(bot.slack.last("response_url").body)


def test_history_button_answers_with_a_new_message(bot: Bot) -> None:
    scan_id = _world(bot)
    bot.driver.command("projects", READER)
    listing = bot.slack.last("response_url").body
    web = encode(ProjectRef(bot.rt.projects.get("web").project_id))
    bot.driver.click_in_message(
        listing, ids.ProjectAction.HISTORY, READER, match=lambda e: e["value"] == web
    )
    history = bot.slack.last("response_url").body
    assert history["replace_original"] is False and history["response_type"] == "ephemeral"
    assert "History · web" in all_text(history)
    assert f"Scan #{scan_id}" in all_text(history)


def test_a_tampered_button_value_is_refused_clearly(bot: Bot) -> None:
    _world(bot)
    bot.driver.command("projects", READER)
    listing = bot.slack.last("response_url").body
    for block in listing["blocks"]:
        for el in block.get("elements", []):
            if el.get("action_id") == ids.ProjectAction.JOBS:
                el["value"] = '{"t":"r","project_id":"1; DROP TABLE"}'
    bot.driver.click_in_message(listing, ids.ProjectAction.JOBS, READER)
    answer = bot.slack.last("response_url").body
    assert answer["replace_original"] is False
    assert "carries data the bot cannot read" in all_text(answer)
