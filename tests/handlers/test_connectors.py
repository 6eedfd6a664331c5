"""Connected providers: the plain new-connector modal (provider select, inline errors, live
validation after the ack), Validate, and Delete behind a confirm dialog."""

from __future__ import annotations

from typing import Any

from bot import ids
from bot.codec import ConnectorRef, encode
from tests.support.query import all_text, button_texts, buttons_with
from tests.support.slackbot import ADMIN, OPERATOR, Bot, seed_connector, seed_project

ACCESS_KEY_ID = ids.connector_field("access_key_id")
SECRET_ACCESS_KEY = ids.connector_field("secret_access_key")

F = ids.ConnectorInput


def _new_connector_modal(bot: Bot) -> str:
    bot.driver.command("connect", ADMIN)
    view_id = bot.slack.last("views.open").view_id
    assert ACCESS_KEY_ID not in str(bot.slack.views[view_id])  # no provider chosen yet
    bot.driver.click_in_view(view_id, F.PROVIDER, ADMIN, option_value="aws")
    update = bot.slack.last("views.update")
    assert update.body["hash"]  # the update is checked against the view the user saw
    assert SECRET_ACCESS_KEY in str(bot.slack.views[view_id])
    return view_id


def test_create_validates_live_and_saves(make_bot: Any, aws: Any) -> None:
    bot = make_bot(aws_endpoint_url=aws.url)
    key_id, secret = aws.create_user("scanner", admin=True)
    view_id = _new_connector_modal(bot)
    ack = bot.driver.submit(
        view_id,
        {F.NAME: "prod-aws", F.PROVIDER: "aws", ACCESS_KEY_ID: key_id,
         SECRET_ACCESS_KEY: secret},
        ADMIN,
    ).json()  # fmt: skip
    assert ack["response_action"] == "update" and ack["view"]["title"]["text"] == "Validating…"
    saved = bot.slack.views[view_id]
    assert "*prod-aws* works and was saved" in all_text(saved)
    info = bot.rt.connectors.get("prod-aws")
    assert info.created_by == f"slack:{ADMIN}" and info.account_id == aws.account_id


def test_create_refuses_bad_input_inline_and_rejected_keys_save_nothing(
    make_bot: Any, aws: Any
) -> None:
    bot = make_bot(aws_endpoint_url=aws.url)
    seed_connector(bot.rt, "taken")
    view_id = _new_connector_modal(bot)
    ack = bot.driver.submit(
        view_id,
        {
            F.NAME: "taken",
            F.PROVIDER: "aws",
            ACCESS_KEY_ID: "AKIA",
            SECRET_ACCESS_KEY: "",
        },
        ADMIN,
    ).json()
    assert ack["response_action"] == "errors"
    assert {
        F.NAME,
        ACCESS_KEY_ID,
        SECRET_ACCESS_KEY,
    } <= set(ack["errors"])
    assert "already exists" in ack["errors"][F.NAME]

    ack = bot.driver.submit(
        view_id,
        {F.NAME: "new-one", F.PROVIDER: "aws", ACCESS_KEY_ID: "AKIA" + "Q" * 16,
         SECRET_ACCESS_KEY: "k" * 40},
        ADMIN,
    ).json()  # fmt: skip
    assert ack["response_action"] == "update"
    assert "Nothing was saved" in all_text(bot.slack.views[view_id])
    assert [c.name for c in bot.rt.connectors.list()] == ["taken"]


def test_delete_asks_first_refuses_when_used_and_deletes_when_unused(bot: Bot) -> None:
    used = seed_connector(bot.rt, "used")
    unused = seed_connector(bot.rt, "unused")
    seed_project(bot.rt, "web", "used")
    bot.driver.command("connectors", ADMIN)
    listing = bot.slack.last("response_url").body
    delete = buttons_with(listing, ids.ConnectorAction.DELETE)
    assert all(b.confirm is not None and b.style == "danger" for b in delete)
    assert "secret is destroyed" in all_text({"blocks": [delete[0].confirm]})

    used_value = encode(ConnectorRef(used))
    bot.driver.click_in_message(
        listing, ids.ConnectorAction.DELETE, ADMIN, match=lambda e: e["value"] == used_value
    )
    refusal = all_text(bot.slack.last("response_url").body)
    assert "Connector 'used' is used by 1 project(s): web" in refusal and "Replace it" in refusal

    value = encode(ConnectorRef(unused))
    bot.driver.click_in_message(
        listing, ids.ConnectorAction.DELETE, ADMIN, match=lambda e: e["value"] == value
    )
    posts = bot.slack.calls_to("response_url")
    assert posts[-2].body["replace_original"] is True  # the list, re-rendered in place
    assert "*unused*" not in all_text(posts[-2].body)
    assert "*unused* was deleted and its secret destroyed" in all_text(posts[-1].body)
    assert [c.name for c in bot.rt.connectors.list()] == ["used"]


def test_validate_reports_a_broken_connector_with_fix_credentials(make_bot: Any, aws: Any) -> None:
    bot = make_bot(aws_endpoint_url=aws.url)
    key_id, secret = aws.create_user("scanner", admin=True)
    bot.rt.connectors.create(
        "aws", "prod-aws", {"access_key_id": key_id, "secret_access_key": secret}, actor="test"
    )
    bot.driver.command("connectors", ADMIN)
    listing = bot.slack.last("response_url").body
    bot.driver.click_in_message(listing, ids.ConnectorAction.VALIDATE, ADMIN)
    assert "*prod-aws* works" in all_text(bot.slack.last("response_url").body)

    aws.client("iam").delete_access_key(UserName="scanner", AccessKeyId=key_id)
    bot.driver.click_in_message(listing, ids.ConnectorAction.VALIDATE, ADMIN)
    result = bot.slack.calls_to("response_url")[-1].body
    text = all_text(result)
    assert "rejected the saved credentials" in text and "InvalidClientTokenId" in text
    assert "Fix credentials" in button_texts(result)
    assert bot.rt.connectors.get("prod-aws").last_validation_ok is False


def test_connector_buttons_need_an_admin(bot: Bot) -> None:
    seed_connector(bot.rt, "prod-aws")
    bot.driver.command("connectors", OPERATOR)
    listing = bot.slack.last("response_url").body
    for action in (ids.ConnectorAction.CREATE, ids.ConnectorAction.DELETE):
        bot.driver.click_in_message(listing, action, OPERATOR)
        assert "Only CSPM admins may manage connectors" in all_text(
            bot.slack.last("response_url").body
        )
    assert not bot.slack.calls_to("views.open")
    assert [c.name for c in bot.rt.connectors.list()] == ["prod-aws"]
