"""Project owners: the Slack user or user group an alert mentions.

An owner is stored as a plain id: ``U…``/``W…`` (a user) or ``S…`` (a user group). People type
it in many shapes: the id itself, ``@``-less ids, or the escaped mention Slack sends in a slash
command's text (``<@U0123|ana>``, ``<!subteam^S0123|@oncall>``). `parse_owner` accepts those
and nothing else; `owner_mention` renders the stored id back as a mention.
"""

from __future__ import annotations

import re

from bot.errors import InputError

_ID = re.compile(r"^[USW][A-Z0-9]{2,20}$")
_USER = re.compile(r"^<@([UW][A-Z0-9]{2,20})(?:\|[^<>]{0,80})?>$")
_GROUP = re.compile(r"^<!subteam\^(S[A-Z0-9]{2,20})(?:\|[^<>]{0,80})?>$")

OWNER_HINT = (
    "Give a user or a user group: `@ana` / `@oncall` in Slack, or an id such as "
    "`U0123ABCD` (user) or `S0123ABCD` (user group)."
)


def parse_owner(text: str) -> str:
    """The owner id in `text` (``U…``, ``W…`` or ``S…``); `InputError` when it is none."""
    value = (text or "").strip()
    for pattern in (_USER, _GROUP):
        match = pattern.match(value)
        if match:
            return match.group(1)
    if _ID.match(value):
        return value
    shown = value[:60] or "(nothing)"
    raise InputError(f"{shown!r} is not a Slack user or user group. {OWNER_HINT}")


def owner_mention(owner: str | None) -> str | None:
    """``U…`` → ``<@U…>``, ``S…`` → ``<!subteam^S…>``; None for no (or an unusable) owner."""
    if not owner or not _ID.match(owner):
        return None
    if owner.startswith("S"):
        return f"<!subteam^{owner}>"
    return f"<@{owner}>"
