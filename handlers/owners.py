"""``/cspm owner <project> <@user|@group|none>``: who a project's failure alerts mention.

Operators set it; the reply is ephemeral. The owner is stored as an id
(`bot.owners.parse_owner`) through `ProjectService.set_owner` (audited).
"""

from __future__ import annotations

from slack_bolt import App

from bot.owners import owner_mention
from bot.scheduling.config import SchedulingConfig
from bot.scheduling.incidents import normalize_mention
from bot.slack.context import SlackContext
from bot.slack.origin import Origin
from bot.slack.permissions import Role
from bot.views.owners import build_owner_reply
from handlers.command_parser import ParsedCommand, Sub, parse_owner_command
from handlers.commands import Subcommands


def owner_command(ctx: SlackContext, origin: Origin, cmd: ParsedCommand) -> None:
    """Set or clear a project's owner, then confirm."""
    parsed = parse_owner_command(cmd.argument)
    ctx.require(origin, Role.OPERATOR, "set project owners")
    info = ctx.rt.projects.set_owner(parsed.project, parsed.owner, origin.actor)
    fallback = normalize_mention(SchedulingConfig.from_settings(ctx.rt.settings).alert_mention)
    ctx.replier(origin).reply(build_owner_reply(info.name, owner_mention(info.owner), fallback))


def register(app: App, ctx: SlackContext, commands: Subcommands) -> None:
    """Register ``/cspm owner``."""
    commands.add(Sub.OWNER, owner_command)
