"""Roles from CSPM_OPERATORS / CSPM_ADMINS: users, user groups (cached), refusals."""

from __future__ import annotations

import logging

import pytest
from slack_sdk import WebClient

from bot.errors import PermissionDeniedError
from bot.playground.aws import refused_url
from bot.playground.slack_emulator import SlackStandIn
from bot.slack.client import BotWebClient, SlackUnreachable
from bot.slack.permissions import Permissions, Role, is_group_id, is_user_id


@pytest.fixture
def client(slack: SlackStandIn) -> WebClient:
    return WebClient(token=slack.token, base_url=slack.api_url)


def test_roles_from_users_and_groups(slack: SlackStandIn, client: WebClient) -> None:
    slack.usergroups["S0OPS"] = ["U0MEMBER"]
    slack.usergroups["S0SEC"] = ["U0SECADM"]
    perms = Permissions(client, operators=["U0OPER", "S0OPS"], admins=["W0ADMIN", "S0SEC"])
    assert perms.role_of("U0OPER") is Role.OPERATOR
    assert perms.role_of("U0MEMBER") is Role.OPERATOR
    assert perms.role_of("W0ADMIN") is Role.ADMIN
    assert perms.role_of("U0SECADM") is Role.ADMIN
    assert perms.role_of("U0OTHER") is Role.READER
    assert perms.role_of("") is Role.READER
    # admins are operators too; anyone may read
    assert perms.allows("W0ADMIN", Role.OPERATOR) and perms.allows("U0OTHER", Role.READER)


def test_group_members_are_cached_briefly(slack: SlackStandIn, client: WebClient) -> None:
    now = [0.0]
    slack.usergroups["S0OPS"] = ["U0MEMBER"]
    perms = Permissions(client, operators=["S0OPS"], cache_seconds=60, clock=lambda: now[0])
    for _ in range(5):
        assert perms.role_of("U0MEMBER") is Role.OPERATOR
    assert len(slack.calls_to("usergroups.users.list")) == 1
    slack.usergroups["S0OPS"] = []  # removed from the group
    now[0] = 61
    assert perms.role_of("U0MEMBER") is Role.READER
    assert len(slack.calls_to("usergroups.users.list")) == 2


def test_an_unreadable_group_grants_nothing(slack: SlackStandIn, client: WebClient) -> None:
    perms = Permissions(client, operators=["S0MISSING"])
    assert perms.role_of("U0ANYONE") is Role.READER


def test_refusals_name_the_role_and_the_setting(client: WebClient) -> None:
    perms = Permissions(client, operators=["U0OPER"], admins=["U0ADMIN"])
    with pytest.raises(PermissionDeniedError, match="Only CSPM operators and admins may run"):
        perms.require("U0READER", Role.OPERATOR, "run scans")
    with pytest.raises(PermissionDeniedError, match="CSPM_ADMINS"):
        perms.require("U0OPER", Role.ADMIN, "manage connectors")
    perms.require("U0ADMIN", Role.OPERATOR, "run scans")
    perms.require("U0READER", Role.READER, "read")


def test_nobody_may_change_anything_until_roles_are_configured(client: WebClient) -> None:
    perms = Permissions(client)
    with pytest.raises(PermissionDeniedError, match="none are configured"):
        perms.require("U0ANYONE", Role.OPERATOR, "run scans")


def _unreachable() -> BotWebClient:
    """A client whose every call finds nothing listening (Slack does not answer)."""
    return BotWebClient(token="xoxb-test", base_url=refused_url() + "/api/", timeout=1)


def test_blank_and_malformed_entries_are_ignored_and_named(
    client: WebClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.slack.permissions")
    perms = Permissions(client, operators=[" U0OPER ", "", "  "], admins=["W0ADMIN", "alice"])
    assert perms.operators == ["U0OPER"] and perms.admins == ["W0ADMIN", "alice"]
    assert perms.role_of("U0OPER") is Role.OPERATOR  # found although written with spaces
    warned = [r.getMessage() for r in caplog.records]
    assert warned == ["ignoring 'alice' in CSPM_OPERATORS/CSPM_ADMINS: not a U/W/S id"]
    assert not Permissions(client, operators=["", " "]).configured


@pytest.mark.parametrize(
    ("ref", "user", "group"),
    [("U0AB12", True, False), ("W0AB12", True, False), ("S0AB12", False, True),
     ("U0-AB", False, False), ("S0-AB", False, False), ("U-AB12", False, False),
     ("S-AB12", False, False),
     ("C0AB12", False, False),
     ("", False, False)],
)  # fmt: skip
def test_what_counts_as_a_user_or_a_group_id(ref: str, user: bool, group: bool) -> None:
    assert (is_user_id(ref), is_group_id(ref)) == (user, group)


def test_group_members_are_read_again_exactly_when_the_cache_expires(
    slack: SlackStandIn, client: WebClient
) -> None:
    now = [0.0]
    slack.usergroups["S0OPS"] = ["U0MEMBER"]
    perms = Permissions(client, operators=["S0OPS"], cache_seconds=60, clock=lambda: now[0])
    assert perms.role_of("U0MEMBER") is Role.OPERATOR
    now[0] = 59.9
    assert perms.role_of("U0MEMBER") is Role.OPERATOR
    assert len(slack.calls_to("usergroups.users.list")) == 1
    now[0] = 60.0
    perms.role_of("U0MEMBER")
    assert len(slack.calls_to("usergroups.users.list")) == 2


def test_a_group_that_becomes_unreadable_keeps_its_last_known_members(
    slack: SlackStandIn, client: WebClient
) -> None:
    now = [0.0]
    slack.usergroups["S0OPS"] = ["U0MEMBER"]
    perms = Permissions(client, operators=["S0OPS"], cache_seconds=60, clock=lambda: now[0])
    assert perms.role_of("U0MEMBER") is Role.OPERATOR
    del slack.usergroups["S0OPS"]  # usergroups.users.list now answers no_such_subteam
    now[0] = 120
    assert perms.role_of("U0MEMBER") is Role.OPERATOR
    assert perms.role_of("U0OTHER") is Role.READER


def test_slack_not_answering_is_not_a_refusal(slack: SlackStandIn, client: WebClient) -> None:
    perms = Permissions(_unreachable(), operators=["S0OPS"])
    with pytest.raises(SlackUnreachable):  # nothing known: the user is told Slack is down
        perms.role_of("U0MEMBER")
    now = [0.0]
    slack.usergroups["S0OPS"] = ["U0MEMBER"]
    perms = Permissions(client, operators=["S0OPS"], cache_seconds=60, clock=lambda: now[0])
    assert perms.role_of("U0MEMBER") is Role.OPERATOR
    perms.client = _unreachable()
    now[0] = 120
    assert perms.role_of("U0MEMBER") is Role.OPERATOR  # the last known members


def test_refusals_word_for_word(client: WebClient) -> None:
    perms = Permissions(client, operators=["U0OPER"], admins=["U0ADMIN"])
    with pytest.raises(PermissionDeniedError) as refused:
        perms.require("U0READER", Role.OPERATOR, "run scans")
    assert str(refused.value) == (
        "Only CSPM operators and admins may run scans. Ask an admin to add you (or one of "
        "your user groups) to CSPM_OPERATORS."
    )
    with pytest.raises(PermissionDeniedError) as refused:
        perms.require("U0OPER", Role.ADMIN, "manage connectors")
    assert str(refused.value) == (
        "Only CSPM admins may manage connectors. Ask an admin to add you (or one of your "
        "user groups) to CSPM_ADMINS."
    )
    with pytest.raises(PermissionDeniedError) as refused:
        Permissions(client).require("U0ANYONE", Role.ADMIN, "manage connectors")
    assert str(refused.value) == (
        "Only admins may manage connectors, and none are configured yet: ask whoever runs the "
        "bot to set CSPM_OPERATORS and CSPM_ADMINS (Slack user or user-group ids)."
    )
    assert [r.label for r in Role] == ["reader", "operator", "admin"]
    assert Permissions(client).allows("", Role.READER)


def test_the_cache_counts_from_when_the_group_was_read_on_any_clock(
    slack: SlackStandIn, client: WebClient
) -> None:
    now = [10_000.0]  # a monotonic clock is far from zero
    slack.usergroups["S0OPS"] = ["U0MEMBER"]
    perms = Permissions(client, operators=["S0OPS"], cache_seconds=60, clock=lambda: now[0])
    perms.role_of("U0MEMBER")
    now[0] += 30
    perms.role_of("U0MEMBER")
    assert len(slack.calls_to("usergroups.users.list")) == 1


def test_what_is_logged_when_a_group_cannot_be_read(
    slack: SlackStandIn, client: WebClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.slack.permissions")
    now = [0.0]
    perms = Permissions(client, operators=["S0OPS"], cache_seconds=60, clock=lambda: now[0])
    perms.role_of("U0MEMBER")  # never readable: nothing known
    slack.usergroups["S0OPS"] = ["U0MEMBER"]
    now[0] = 100
    perms.role_of("U0MEMBER")
    del slack.usergroups["S0OPS"]
    now[0] = 200
    perms.role_of("U0MEMBER")  # readable once: its last known members
    perms.client = _unreachable()
    now[0] = 300
    perms.role_of("U0MEMBER")
    with pytest.raises(SlackUnreachable) as unreachable:
        Permissions(_unreachable(), operators=["S0OPS"]).role_of("U0MEMBER")
    ours = [r.getMessage() for r in caplog.records if r.name == "bot.slack.permissions"]
    assert ours == [
        "cannot read user group S0OPS (no_such_subteam); treating it as empty",
        "cannot read user group S0OPS (no_such_subteam); treating it as its last known members",
        f"{unreachable.value}; using the last known members of user group S0OPS",
    ]
