"""A failed validation is stored field by field and shown from those fields: category,
provider code and the missing permission reach the connectors list, the Validate reply, the
App Home and the CLI's JSON without any text being parsed back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from bot import ids
from bot.domain import ErrorCategory
from bot.playground.gcp import GcpStandIn
from storage.models import Connector
from tests.support.query import all_text
from tests.support.slackbot import ADMIN, READER, Bot

PROJECT = "cspm-test-project"
PERMISSION = "resourcemanager.projects.get"


@pytest.fixture
def google() -> Iterator[GcpStandIn]:
    with GcpStandIn() as standin:
        yield standin


@pytest.fixture
def gcp_bot(make_bot: Any, google: GcpStandIn) -> Bot:
    endpoints = google.endpoints()
    bot: Bot = make_bot(
        gcp_token_uri=endpoints.gcp_token_uri,
        gcp_api_base=endpoints.gcp_api_base,
        gcp_compute_base=endpoints.gcp_compute_base,
        gcp_storage_base=endpoints.gcp_storage_base,
    )
    key = google.add_service_account(PROJECT)
    bot.rt.connectors.create(
        "gcp", "prod-gcp", {"service_account_json": json.dumps(key)}, actor="test"
    )
    return bot


def test_a_denied_permission_is_stored_and_shown_field_by_field(
    gcp_bot: Bot, google: GcpStandIn
) -> None:
    bot = gcp_bot
    google.deny(PERMISSION)
    bot.driver.command("connectors", ADMIN)
    listing = bot.slack.last("response_url").body
    bot.driver.click_in_message(listing, ids.ConnectorAction.VALIDATE, ADMIN)

    with bot.rt.db.read() as s:  # one column per field, nothing to parse
        row = s.scalars(select(Connector).where(Connector.name == "prod-gcp")).one()
        assert row.last_validation_ok is False
        assert row.last_validation_category == ErrorCategory.PERMISSION_DENIED.value
        assert row.last_validation_code
        assert row.last_validation_missing == [PERMISSION]
        assert row.last_validated_at is not None
        code = row.last_validation_code

    info = bot.rt.connectors.get("prod-gcp")
    assert info.last_error is not None
    assert info.last_error.category is ErrorCategory.PERMISSION_DENIED
    assert info.last_error.missing_permissions == (PERMISSION,)

    refreshed, reply = (c.body for c in bot.slack.calls_to("response_url")[-2:])
    row_text = all_text(refreshed)  # the list, re-rendered in place
    assert "validation failed" in row_text and "Permission denied" in row_text
    assert f"`{code}`" in row_text and f"missing `{PERMISSION}`" in row_text
    reply_text = all_text(reply)
    assert "Permission denied" in reply_text and code in reply_text
    assert f"Missing permission: `{PERMISSION}`" in reply_text

    bot.driver.event({"type": "app_home_opened", "user": READER, "tab": "home"})
    home = all_text(bot.slack.last("views.publish").view)
    assert "*prod-gcp*" in home and f"missing `{PERMISSION}`" in home


def test_a_successful_validation_clears_the_stored_error(gcp_bot: Bot, google: GcpStandIn) -> None:
    bot = gcp_bot
    google.deny(PERMISSION)
    assert bot.rt.connectors.validate("prod-gcp", actor="test").last_error is not None
    google.clear_denials()  # the permission was granted meanwhile
    info = bot.rt.connectors.validate("prod-gcp", actor="test")
    assert info.last_validation_ok is True and info.last_error is None
    with bot.rt.db.read() as s:
        row = s.scalars(select(Connector).where(Connector.name == "prod-gcp")).one()
        assert (row.last_validation_category, row.last_validation_missing) == (None, None)
