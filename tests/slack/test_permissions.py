"""Roles from CSPM_OPERATORS / CSPM_ADMINS: users, user groups (cached), refusals."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient

from bot.errors import PermissionDeniedError
from bot.playground.slack_emulator import SlackStandIn
from bot.slack.permissions import Permissions, Role


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
