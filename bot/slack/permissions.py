"""Who may do what, checked on the server for every action and view submission.

Three roles: anyone in the workspace may read (lists, history, error logs, findings);
operators may run, stop and re-run scans; admins manage connectors and contact support, and
are operators too. `CSPM_OPERATORS` / `CSPM_ADMINS` list Slack user ids (``U…``/``W…``) and
user-group ids (``S…``); a group's members are read with ``usergroups.users.list`` and cached
for a short while. With neither setting, nobody may change anything (a safe default: the
refusal names the settings to set).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from enum import IntEnum

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.errors import PermissionDeniedError
from bot.slack.client import SlackUnreachable

log = logging.getLogger(__name__)

GROUP_CACHE_SECONDS = 60.0
"""How long the members of a user group are trusted before they are read again."""


class Role(IntEnum):
    """Ordered roles: a higher role may do everything a lower one may."""

    READER = 0
    OPERATOR = 1
    ADMIN = 2

    @property
    def label(self) -> str:
        """Lower-case name for messages."""
        return self.name.lower()


def is_user_id(ref: str) -> bool:
    """True for a Slack user id (``U…`` or an Enterprise Grid ``W…``)."""
    return ref[:1] in ("U", "W") and ref[1:].isalnum()


def is_group_id(ref: str) -> bool:
    """True for a Slack user-group id (``S…``)."""
    return ref[:1] == "S" and ref[1:].isalnum()


class Permissions:
    """Resolves a Slack user's role from the configured users and user groups."""

    def __init__(
        self,
        client: WebClient,
        operators: Iterable[str] = (),
        admins: Iterable[str] = (),
        cache_seconds: float = GROUP_CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.operators = [r.strip() for r in operators if r.strip()]
        self.admins = [r.strip() for r in admins if r.strip()]
        for ref in self.operators + self.admins:
            if not (is_user_id(ref) or is_group_id(ref)):
                log.warning("ignoring %r in CSPM_OPERATORS/CSPM_ADMINS: not a U/W/S id", ref)
        self.cache_seconds = cache_seconds
        self._clock = clock
        self._groups: dict[str, tuple[float, frozenset[str]]] = {}
        self._lock = threading.Lock()

    @property
    def configured(self) -> bool:
        """True when at least one operator or admin is configured."""
        return bool(self.operators or self.admins)

    def _members(self, group_id: str) -> frozenset[str]:
        now = self._clock()
        with self._lock:
            cached = self._groups.get(group_id)
        if cached is not None and now - cached[0] < self.cache_seconds:
            return cached[1]
        try:
            response = self.client.usergroups_users_list(usergroup=group_id)
            members = frozenset(str(u) for u in response.get("users") or [])
        except SlackApiError as exc:
            log.warning(
                "cannot read user group %s (%s); treating it as %s",
                group_id,
                exc.response.get("error"),
                "its last known members" if cached else "empty",
            )
            return cached[1] if cached else frozenset()
        except SlackUnreachable as exc:
            if cached is None:
                raise  # nothing known: the user is told Slack did not answer, not "not allowed"
            log.warning("%s; using the last known members of user group %s", exc, group_id)
            return cached[1]
        with self._lock:
            self._groups[group_id] = (now, members)
        return members

    def _listed(self, user_id: str, refs: list[str]) -> bool:
        if user_id in refs:
            return True
        return any(is_group_id(ref) and user_id in self._members(ref) for ref in refs)

    def role_of(self, user_id: str) -> Role:
        """The highest role `user_id` holds."""
        if not user_id:
            return Role.READER
        if self._listed(user_id, self.admins):
            return Role.ADMIN
        if self._listed(user_id, self.operators):
            return Role.OPERATOR
        return Role.READER

    def allows(self, user_id: str, role: Role) -> bool:
        """True if `user_id` holds `role` or a higher one."""
        return role is Role.READER or self.role_of(user_id) >= role

    def require(self, user_id: str, role: Role, what: str) -> None:
        """Raise `PermissionDeniedError` (a clear refusal) unless `user_id` holds `role`.

        `what` completes "Only … may …", e.g. "run or stop scans".
        """
        if self.allows(user_id, role):
            return
        who = "admins" if role is Role.ADMIN else "operators and admins"
        if not self.configured:
            raise PermissionDeniedError(
                f"Only {who} may {what}, and none are configured yet: ask whoever runs the bot "
                "to set CSPM_OPERATORS and CSPM_ADMINS (Slack user or user-group ids)."
            )
        raise PermissionDeniedError(
            f"Only CSPM {who} may {what}. Ask an admin to add you (or one of your user "
            f"groups) to CSPM_{'ADMINS' if role is Role.ADMIN else 'OPERATORS'}."
        )
