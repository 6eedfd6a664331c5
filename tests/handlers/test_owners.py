"""`/cspm owner` through the real Bolt app and the Slack stand-in: set, clear, refuse."""

from __future__ import annotations

from storage.models import AuditEvent
from tests.support.query import all_text
from tests.support.slackbot import OPERATOR, READER, Bot, seed_connector, seed_project


def _reply(bot: Bot) -> str:
    return all_text(bot.slack.last("response_url").body)


def test_an_operator_sets_and_clears_the_owner_alerts_mention(bot: Bot) -> None:
    seed_connector(bot.rt)
    seed_project(bot.rt, "web prod")
    bot.driver.command("owner web prod <!subteam^S0WEBTEAM|@web-oncall>", OPERATOR)
    assert "now mention <!subteam^S0WEBTEAM>" in _reply(bot)
    assert bot.rt.projects.get("web prod").owner == "S0WEBTEAM"

    bot.driver.command("owner web prod <@U0ANA|ana>", OPERATOR)
    assert "now mention <@U0ANA>" in _reply(bot)
    assert bot.rt.projects.get("web prod").owner == "U0ANA"

    bot.driver.command("owner web prod none", OPERATOR)
    assert "has no owner" in _reply(bot)
    assert bot.rt.projects.get("web prod").owner is None
    with bot.rt.db.read() as s:
        changes = [e.detail for e in s.query(AuditEvent).filter_by(action="project.owner")]
    assert [c["to"] for c in changes] == ["S0WEBTEAM", "U0ANA", None]


def test_bad_input_and_readers_get_clear_answers(bot: Bot) -> None:
    seed_connector(bot.rt)
    seed_project(bot.rt, "web")
    bot.driver.command("owner web", OPERATOR)
    assert "needs a project and who to mention" in _reply(bot)
    bot.driver.command("owner web @someone", OPERATOR)
    assert "is not a Slack user or user group" in _reply(bot)
    bot.driver.command("owner wbe S0WEBTEAM", OPERATOR)
    assert "No project named 'wbe'" in _reply(bot)
    bot.driver.command("owner web S0WEBTEAM", READER)
    assert "operator" in _reply(bot).lower()
    assert bot.rt.projects.get("web").owner is None
