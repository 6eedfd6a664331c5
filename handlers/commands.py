"""``/cspm``: one listener; the parser picks the subcommand, a feature module handles it.

The command is acked at once; the subcommand runs as its work (`bot.slack.listeners`). Every
subcommand is a `CommandSpec` in `handlers.command_parser.SPECS`, and its handler is added to
the `Subcommands` router by the feature it belongs to (``/cspm history`` by
`handlers.history`, and so on); `help` lives here. Mistakes (unknown subcommand, missing
argument, mistyped project) raise `UsageError` / `NotFoundError`, which the app's error
mapping answers with usage and "did you mean".
"""

from __future__ import annotations

from collections.abc import Callable

from slack_bolt import App

from bot.slack.context import SlackContext
from bot.slack.listeners import Listeners, Request
from bot.slack.origin import Origin
from bot.views.common import help_message
from handlers.command_parser import HELP, ParsedCommand, Sub, parse

COMMAND = "/cspm"

Handler = Callable[[SlackContext, Origin, ParsedCommand], None]
"""A subcommand's handler: ``fn(ctx, origin, command)``."""


class Subcommands:
    """Which handler runs each ``/cspm`` subcommand; feature modules `add` theirs."""

    def __init__(self) -> None:
        self._handlers: dict[Sub, Handler] = {}

    def add(self, sub: Sub, handler: Handler) -> None:
        """Make `handler` run ``/cspm <sub>``; a subcommand has exactly one handler."""
        if sub in self._handlers:
            raise ValueError(f"/cspm {sub} has a handler already")
        self._handlers[sub] = handler

    def handler(self, sub: Sub) -> Handler:
        """The handler of `sub` (KeyError if no feature registered one)."""
        return self._handlers[sub]

    @property
    def registered(self) -> frozenset[Sub]:
        """Every subcommand that has a handler."""
        return frozenset(self._handlers)


def help_command(ctx: SlackContext, origin: Origin, cmd: ParsedCommand) -> None:
    """``/cspm help``: every subcommand with its arguments."""
    ctx.replier(origin).reply(help_message(COMMAND, HELP))


def register(app: App, ctx: SlackContext) -> Subcommands:
    """Register ``/cspm`` and its help; returns the router the features add their
    subcommands to."""
    on = Listeners(app, ctx)
    router = Subcommands()
    router.add(Sub.HELP, help_command)
    ctx.command_help = HELP  # usage replies list the real subcommands

    @on.command(COMMAND)
    def cspm(req: Request) -> None:
        command = parse(str(req.body.get("text") or ""))
        router.handler(command.sub)(ctx, req.origin, command)

    return router
