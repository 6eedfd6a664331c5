"""The ``/cspm`` command line: subcommands, their arguments and "did you mean" on mistakes.

Pure: text in, a `ParsedCommand` out, or `UsageError` carrying the problem and the closest
real subcommands or status words. Names of projects may contain spaces, so a subcommand's
argument is the rest of the text (surrounding quotes removed). `parse_digest` reads the
words of ``/cspm digest …`` the same way.

Each subcommand is one `CommandSpec` in `SPECS` (its help line comes from there) and one
handler registered by a feature module in `handlers/` (``router.add(Sub.X, fn)``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from bot.domain import ScanStatus
from bot.errors import InputError, UsageError
from bot.suggest import closest
from bot.views.common import STATUS_ALIASES, CommandHelp, parse_status_filter

ARGUMENT_MAX = 200
"""Longest argument accepted (project names are at most 63 characters)."""


class Sub(StrEnum):
    """The canonical subcommands."""

    HELP = "help"
    PROJECTS = "projects"
    HISTORY = "history"
    ERRORS = "errors"
    FINDINGS = "findings"
    SCAN = "scan"
    STOP = "stop"
    CONNECTORS = "connectors"
    CONNECT = "connect"
    SUPPORT = "support"
    DIGEST = "digest"
    OWNER = "owner"
    SUBSCRIBE = "subscribe"
    SUBSCRIPTIONS = "subscriptions"
    MUTES = "mutes"


@dataclass(frozen=True)
class CommandSpec:
    """One subcommand: its argument ("" none, "[x]" optional, "<x>" required) and aliases."""

    sub: Sub
    args: str
    description: str
    aliases: tuple[str, ...] = ()

    @property
    def required(self) -> bool:
        """True when the argument must be given."""
        return self.args.startswith("<")

    @property
    def takes_argument(self) -> bool:
        """True when an argument is accepted at all."""
        return bool(self.args)


SPECS: tuple[CommandSpec, ...] = (
    CommandSpec(Sub.PROJECTS, "[status]", "Scan projects with their latest status; filter by "
                "failed, partial, running, stopped or completed.", ("list", "ls")),
    CommandSpec(Sub.HISTORY, "<project>", "A project's scans, with error logs, findings and "
                "re-run in each row's menu."),
    CommandSpec(Sub.ERRORS, "<scan>", "The error log of a scan (#id, or a project for its "
                "latest scan).", ("error", "errorlog", "log", "logs")),
    CommandSpec(Sub.FINDINGS, "<scan>", "Failing findings of a scan by severity, a page at a "
                "time, with Mute (#id, or a project for its latest scan)."),
    CommandSpec(Sub.SCAN, "<project>", "Start a scan of a project now (operators).",
                ("run", "rerun", "start")),
    CommandSpec(Sub.STOP, "<project>", "Stop a project's running scan (operators)."),
    CommandSpec(Sub.CONNECTORS, "", "Connected cloud providers: validate, replace, delete "
                "(admins).", ("connector", "integrations", "providers")),
    CommandSpec(Sub.CONNECT, "", "Connect a new cloud account (admins).", ("add-connector",)),
    CommandSpec(Sub.SUPPORT, "<scan>", "Contact support about a scan, with its redacted error "
                "log (admins)."),
    CommandSpec(Sub.DIGEST, "[subscribe|unsubscribe|list|now]", "This channel's scheduled "
                "failure digest (`/cspm digest help`; changes: operators).", ("digests",)),
    CommandSpec(Sub.OWNER, "<project> <@user|@group|none>", "Who a project's failure alerts "
                "mention (operators).", ("owners",)),
    CommandSpec(Sub.SUBSCRIBE, "<findings|failures> [project=…] [provider=…] "
                "[severity=…]", "This channel gets the matching projects' new failing findings "
                "after each scan, or their failure alerts (operators).", ("sub",)),
    CommandSpec(Sub.SUBSCRIPTIONS, "", "Every channel subscription, with Remove.",
                ("subs",)),
    CommandSpec(Sub.MUTES, "", "Muted findings, with Unmute (mute from the findings view or "
                "a findings alert).",
                ("muted",)),
    CommandSpec(Sub.HELP, "", "This help.", ("?", "usage")),
)  # fmt: skip
"""Every subcommand, in help order."""

HELP: tuple[CommandHelp, ...] = tuple(
    CommandHelp(s.sub.value, s.args, s.description) for s in SPECS
)
"""The same table in the shape the help and usage builders take."""

_BY_WORD: dict[str, CommandSpec] = {
    word: spec for spec in SPECS for word in (spec.sub.value, *spec.aliases)
}
_SCAN_ID = re.compile(r"^#?(\d{1,18})$")
_QUOTES = "\"'“”‘’`"


@dataclass(frozen=True)
class ParsedCommand:
    """A understood ``/cspm`` command.

    sub: the subcommand; argument: its text ("" if none);
    status: the filter of ``projects`` (None = every status).
    """

    sub: Sub
    argument: str = ""
    status: ScanStatus | None = None

    @property
    def scan_id(self) -> int | None:
        """The scan id when the argument is ``#12`` or ``12``; None for a project name."""
        found = _SCAN_ID.match(self.argument)
        return int(found.group(1)) if found else None


def _clean(text: str) -> str:
    text = " ".join(text.split())
    if len(text) >= 2 and text[0] in _QUOTES and text[-1] in _QUOTES:
        text = text[1:-1].strip()
    return text


def parse(text: str) -> ParsedCommand:
    """Parse the text after ``/cspm``; raises `UsageError` with suggestions."""
    words = (text or "").split(maxsplit=1)
    if not words:
        return ParsedCommand(Sub.HELP)
    word = words[0].lower()
    argument = _clean(words[1]) if len(words) > 1 else ""
    spec = _BY_WORD.get(word)
    if spec is None:
        shown = word if len(word) <= 40 else word[:39] + "…"
        raise UsageError(f"Unknown subcommand “{shown}”.", closest(word, list(_BY_WORD)))
    if len(argument) > ARGUMENT_MAX:
        raise UsageError(f"The argument of `{spec.sub}` is too long.")
    if spec.required and not argument:
        what = spec.args.strip("<>")
        raise UsageError(f"`/cspm {spec.sub}` needs a {what}: `/cspm {spec.sub} {spec.args}`.")
    if argument and not spec.takes_argument:
        raise UsageError(f"`/cspm {spec.sub}` takes no argument (got “{argument[:40]}”).")
    if spec.sub is Sub.PROJECTS:
        try:
            status = parse_status_filter(argument)
        except InputError as exc:
            raise UsageError(exc.message, closest(argument, list(STATUS_ALIASES))) from None
        return ParsedCommand(Sub.PROJECTS, argument, status)
    return ParsedCommand(spec.sub, argument)


# --------------------------------------------------------------------------------------------
# /cspm digest …
# --------------------------------------------------------------------------------------------


class DigestVerb(StrEnum):
    """What ``/cspm digest`` is asked to do."""

    SUBSCRIBE = "subscribe"
    UNSUBSCRIBE = "unsubscribe"
    LIST = "list"
    NOW = "now"
    HELP = "help"

    @property
    def changes(self) -> bool:
        """True when the verb changes something (operators only)."""
        return self in (DigestVerb.SUBSCRIBE, DigestVerb.UNSUBSCRIBE, DigestVerb.NOW)


_DIGEST_WORDS: dict[str, DigestVerb] = {
    "help": DigestVerb.HELP,
    "?": DigestVerb.HELP,
    "usage": DigestVerb.HELP,
    "subscribe": DigestVerb.SUBSCRIBE,
    "unsubscribe": DigestVerb.UNSUBSCRIBE,
    "stop": DigestVerb.UNSUBSCRIBE,
    "off": DigestVerb.UNSUBSCRIBE,
    "list": DigestVerb.LIST,
    "ls": DigestVerb.LIST,
    "now": DigestVerb.NOW,
}
QUIET_WORDS = frozenset({"quiet", "no-all-clear", "noallclear", "silent"})
"""Words that ask for no message in a period without failures."""


@dataclass(frozen=True)
class DigestCommand:
    """An understood ``/cspm digest`` command.

    verb: what to do; schedule: the words of the schedule (``daily 09:00 Europe/Berlin``);
    quiet: no all-clear message for a period without failures.
    """

    verb: DigestVerb
    schedule: tuple[str, ...] = ()
    quiet: bool = False


def parse_digest(text: str) -> DigestCommand:
    """Parse the words after ``/cspm digest`` (a leading ``digest`` is skipped too);
    raises `UsageError` on an unknown verb."""
    words = (text or "").split()
    if words and words[0].lower() == "digest":
        words = words[1:]
    if not words:
        return DigestCommand(DigestVerb.HELP)
    word = words[0].lower()
    verb = _DIGEST_WORDS.get(word)
    if verb is None:
        shown = word if len(word) <= 40 else word[:39] + "…"
        raise UsageError(
            f"Unknown digest command {shown!r}: use {', '.join(v.value for v in DigestVerb)}.",
            closest(word, list(_DIGEST_WORDS)),
        )
    rest = words[1:]
    quiet = any(w.lower() in QUIET_WORDS for w in rest)
    schedule = tuple(w for w in rest if w.lower() not in QUIET_WORDS)
    return DigestCommand(verb, schedule, quiet)


# --------------------------------------------------------------------------------------------
# /cspm owner <project> <@user|@group|none>
# --------------------------------------------------------------------------------------------

CLEAR_OWNER_WORDS = frozenset({"none", "clear", "nobody", "-"})


@dataclass(frozen=True)
class OwnerCommand:
    """An understood ``/cspm owner`` command: the project and the owner text (None: clear)."""

    project: str
    owner: str | None


def parse_owner_command(argument: str) -> OwnerCommand:
    """``web-prod <!subteam^S0123|@oncall>`` → (``web-prod``, the mention text); the last
    word is the owner (project names may contain spaces); raises `UsageError`."""
    words = (argument or "").split()
    if len(words) < 2:
        raise UsageError(
            "`/cspm owner` needs a project and who to mention: "
            "`/cspm owner <project> @group` (or `none` to clear)."
        )
    project = _clean(" ".join(words[:-1]))
    owner = words[-1]
    return OwnerCommand(project, None if owner.lower() in CLEAR_OWNER_WORDS else owner)
