"""Connectors: the plain new-connector modal (provider select, inline errors, live
validation after the ack), Validate, Delete behind a confirm dialog, the guided replacement
and how validation results are shown."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import event, select

from bot import ids
from bot.codec import ConnectorRef, ReplaceFlowState, decode, encode
from bot.domain import ErrorCategory, Provider, ScanStatus
from bot.playground.gcp import GcpStandIn
from storage.models import AuditEvent, Connector
from tests.support.query import all_text, button_texts, buttons_with
from tests.support.slackbot import (
    ADMIN,
    CHANNEL,
    OPERATOR,
    READER,
    Bot,
    seed_connector,
    seed_project,
)

ACCESS_KEY_ID = ids.connector_field("access_key_id")
SECRET_ACCESS_KEY = ids.connector_field("secret_access_key")
CLIENT_ID = ids.connector_field("client_id")
CLIENT_SECRET = ids.connector_field("client_secret")
SERVICE_ACCOUNT_JSON = ids.connector_field("service_account_json")
TENANT_ID = ids.connector_field("tenant_id")

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


# --- the guided replacement, against AWS on loopback, every branch -------------------------
# malformed input → inline errors; credentials the cloud rejects → failure view, nothing
# deleted, try again (then Contact support); valid credentials → new connector, projects
# repointed, old one tombstoned; then re-run with progress in a channel thread.

UNKNOWN_KEY = {ACCESS_KEY_ID: "AKIA" + "Z" * 16, SECRET_ACCESS_KEY: "s" * 40}


def _setup(make_bot: Any, aws: Any) -> tuple[Bot, dict[str, str]]:
    bot = make_bot(aws_endpoint_url=aws.url, progress_interval=0.2)
    key_id, secret = aws.create_user("old-scanner", admin=True)
    bot.rt.connectors.create(
        "aws", "prod-aws", {"access_key_id": key_id, "secret_access_key": secret}, actor="test"
    )
    for name in ("web", "db"):
        bot.rt.projects.add(name, "prod-aws", actor="test", scope=["us-east-1"])
    new_id, new_secret = aws.create_user("new-scanner", admin=True)
    return bot, {ACCESS_KEY_ID: new_id, SECRET_ACCESS_KEY: new_secret}


def _open_form(bot: Bot, user: str = ADMIN) -> str:
    """/cspm connectors → Replace → (explain) Continue: returns the modal's view id."""
    bot.driver.command("connectors", user)
    listing = bot.slack.last("response_url").body
    bot.driver.click_in_message(listing, ids.ConnectorAction.REPLACE, user)
    opened = bot.slack.last("views.open")
    view_id = opened.view_id
    explain = bot.slack.views[view_id]
    assert explain["callback_id"] == ids.ConnectorView.REPLACE_EXPLAIN
    text = all_text(explain)
    assert "Saved credentials cannot be edited" in text
    assert "123456789012" in text  # the account it reaches
    assert "• db" in text and "• web" in text  # every project using it
    assert decode(explain["private_metadata"], ReplaceFlowState).channel_id == CHANNEL
    result = bot.driver.submit(view_id, {}, user)
    assert result.json()["response_action"] == "update"
    assert bot.slack.views[view_id]["callback_id"] == ids.ConnectorView.REPLACE_SUBMIT
    return view_id


def _connector_rows(bot: Bot) -> list[SimpleNamespace]:
    with bot.rt.db.read() as s:
        return [
            SimpleNamespace(
                id=c.id,
                name=c.name,
                fingerprint=c.fingerprint,
                deleted_at=c.deleted_at,
                secret_ciphertext=c.secret_ciphertext,
                replaced_by_id=c.replaced_by_id,
            )
            for c in s.scalars(select(Connector).order_by(Connector.id))
        ]


def _project_connectors(bot: Bot) -> set[str]:
    return {bot.rt.projects.get(p).connector_name for p in ("web", "db")}


def test_malformed_input_gets_inline_field_errors(make_bot: Any, aws: Any) -> None:
    bot, _ = _setup(make_bot, aws)
    view_id = _open_form(bot)
    result = bot.driver.submit(
        view_id, {F.NAME: "prod-aws", ACCESS_KEY_ID: "not-a-key", SECRET_ACCESS_KEY: ""}, ADMIN
    )
    ack = result.json()
    assert ack["response_action"] == "errors"
    assert set(ack["errors"]) == {ACCESS_KEY_ID, SECRET_ACCESS_KEY}
    assert not bot.slack.calls_to("views.update")  # nothing validated, nothing changed
    assert [c.name for c in _connector_rows(bot)] == ["prod-aws"]


def test_rejected_credentials_change_nothing_and_can_be_retried(make_bot: Any, aws: Any) -> None:
    bot, _ = _setup(make_bot, aws)
    before = _connector_rows(bot)
    view_id = _open_form(bot)

    ack = bot.driver.submit(view_id, {F.NAME: "prod-aws", **UNKNOWN_KEY}, ADMIN).json()
    assert ack["response_action"] == "update" and "Validating" in all_text(ack["view"])
    failed = bot.slack.views[view_id]
    text = all_text(failed)
    assert "AWS rejected the new credentials" in text and "Nothing was changed" in text
    assert "InvalidClientTokenId" in text
    assert "Contact support" not in button_texts(failed)  # first attempt
    after = _connector_rows(bot)
    assert [(c.id, c.fingerprint, c.deleted_at) for c in after] == [
        (c.id, c.fingerprint, None) for c in before
    ]
    assert _project_connectors(bot) == {"prod-aws"}

    bot.driver.click_in_view(view_id, ids.ConnectorAction.RETRY, ADMIN)
    form = bot.slack.views[view_id]
    assert form["callback_id"] == ids.ConnectorView.REPLACE_SUBMIT
    assert "1 attempt" in all_text(form)
    bot.driver.submit(view_id, {F.NAME: "prod-aws", **UNKNOWN_KEY}, ADMIN)
    assert "Contact support" in button_texts(bot.slack.views[view_id])  # second failure

    # seed: "newly created integrations still result in authentication errors" → support
    bot.driver.click_in_view(view_id, ids.SupportAction.OPEN, ADMIN)
    support = bot.slack.last("views.push").view
    assert support["callback_id"] == ids.SupportView.SUBMIT
    assert "Connector: prod-aws (aws, account 123456789012)" in json.dumps(support)


def test_valid_credentials_replace_the_connector_and_repoint_projects(
    make_bot: Any, aws: Any
) -> None:
    bot, new_key = _setup(make_bot, aws)
    old = _connector_rows(bot)[0]
    view_id = _open_form(bot)
    bot.driver.submit(view_id, {F.NAME: "prod-aws-2024", **new_key}, ADMIN)

    done = bot.slack.views[view_id]
    text = all_text(done)
    assert "*prod-aws-2024* works" in text and "*prod-aws* was deleted" in text
    assert "Re-run 2 projects" in button_texts(done)
    rows = {c.name: c for c in _connector_rows(bot)}
    assert rows["prod-aws"].deleted_at is not None and rows["prod-aws"].secret_ciphertext is None
    assert rows["prod-aws"].replaced_by_id == rows["prod-aws-2024"].id
    assert rows["prod-aws-2024"].id != old.id
    assert _project_connectors(bot) == {"prod-aws-2024"}
    with bot.rt.db.read() as s:
        actor = s.scalars(
            select(AuditEvent.actor).where(AuditEvent.action == "connector.replace")
        ).one()
    assert actor == f"slack:{ADMIN}"

    # the secret never travelled back to Slack, in any payload
    everything = json.dumps([c.body for c in bot.slack.requests])
    assert new_key[SECRET_ACCESS_KEY] not in everything


def test_rerun_reports_progress_in_a_channel_thread(make_bot: Any, aws: Any) -> None:
    bot, new_key = _setup(make_bot, aws)
    view_id = _open_form(bot)
    bot.driver.submit(view_id, {F.NAME: "prod-aws", **new_key}, ADMIN)
    bot.driver.click_in_view(view_id, ids.ScanAction.RERUN_CONNECTOR, ADMIN)

    posts = bot.slack.calls_to("chat.postMessage")
    header = posts[0]
    assert header.body["channel"] == CHANNEL and "thread_ts" not in header.body
    assert "replaced the credentials of *prod-aws*" in header.text()
    thread = [p for p in posts[1:] if p.body.get("thread_ts") == header.result["ts"]]
    assert sorted(n for p in thread for n in ("db", "web") if f"Scan of {n}" in p.text()) == [
        "db",
        "web",
    ]
    done = all_text(bot.slack.views[view_id])
    assert "2 of 2 projects" in done and f"a thread in <#{CHANNEL}>" in done

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        statuses = {bot.rt.projects.get(p).last_status for p in ("web", "db")}
        if statuses == {ScanStatus.COMPLETED}:
            break
        time.sleep(0.05)
    assert statuses == {ScanStatus.COMPLETED}
    for p in thread:  # each thread message ends Completed
        bot.slack.wait_for(
            "chat.update",
            lambda c, ts=p.result["ts"]: c.body["ts"] == ts and "Completed" in c.text(),
        )


def test_operators_cannot_replace_connectors(make_bot: Any, aws: Any) -> None:
    bot, new_key = _setup(make_bot, aws)
    view_id = _open_form(bot)  # opened by an admin...
    ack = bot.driver.submit(view_id, {F.NAME: "x", **new_key}, OPERATOR).json()  # ...sent by one
    assert ack["response_action"] == "update"
    assert "Only CSPM admins may manage connectors" in all_text(ack["view"])
    assert _project_connectors(bot) == {"prod-aws"}
    assert len(_connector_rows(bot)) == 1


def test_the_flow_starts_from_a_real_authentication_failure(make_bot: Any, aws: Any) -> None:
    bot, new_key = _setup(make_bot, aws)
    # the old key is deleted in IAM: the next scan fails to authenticate
    iam = aws.client("iam")
    for key in iam.list_access_keys(UserName="old-scanner")["AccessKeyMetadata"]:
        iam.delete_access_key(UserName="old-scanner", AccessKeyId=key["AccessKeyId"])
    scan = bot.rt.scans.start("web", "manual", "test")
    assert bot.rt.scans.wait(scan.scan_id) is ScanStatus.FAILED

    bot.driver.command("errors web", ADMIN)
    view_id = bot.slack.last("views.open").view_id
    bot.driver.click_in_view(view_id, ids.ErrorLogAction.EXPAND, ADMIN)
    assert "InvalidClientTokenId" in all_text(bot.slack.views[view_id])
    bot.driver.click_in_view(view_id, ids.ConnectorAction.REPLACE, ADMIN)
    explain_id = bot.slack.last("views.push").view_id
    bot.driver.submit(explain_id, {}, ADMIN)
    bot.driver.submit(explain_id, {F.NAME: "prod-aws", **new_key}, ADMIN)
    assert "works" in all_text(bot.slack.views[explain_id])
    again = bot.rt.scans.start("web", "rerun", "test")
    assert bot.rt.scans.wait(again.scan_id) is ScanStatus.COMPLETED


@pytest.mark.parametrize(
    ("provider", "fields", "bad"),
    [
        (
            "azure",
            {TENANT_ID, CLIENT_ID, CLIENT_SECRET},
            {TENANT_ID: "not-a-tenant", CLIENT_ID: "nope", CLIENT_SECRET: ""},
        ),
        ("gcp", {SERVICE_ACCOUNT_JSON}, {SERVICE_ACCOUNT_JSON: "{not json"}),
    ],
)
def test_the_form_follows_the_provider(
    bot: Bot, provider: Provider, fields: set[str], bad: dict[str, str]
) -> None:
    seed_connector(bot.rt, "cloud", provider=provider)
    view_id = _open_form_of(bot, "cloud")
    form = bot.slack.views[view_id]
    inputs = {b["block_id"] for b in form["blocks"] if b["type"] == "input"}
    assert inputs == {F.NAME} | fields
    ack = bot.driver.submit(view_id, {F.NAME: "cloud", **bad}, ADMIN).json()
    assert ack["response_action"] == "errors"
    assert set(ack["errors"]) <= fields and ack["errors"]
    assert [c.name for c in bot.rt.connectors.list()] == ["cloud"]


def _open_form_of(bot: Bot, name: str) -> str:
    bot.driver.command("connectors", ADMIN)
    listing = bot.slack.last("response_url").body
    bot.driver.click_in_message(listing, ids.ConnectorAction.REPLACE, ADMIN)
    view_id = bot.slack.last("views.open").view_id
    assert name in all_text(bot.slack.views[view_id])
    bot.driver.submit(view_id, {}, ADMIN)
    return view_id


# --- validation results, stored field by field --------------------------------------------
# category, provider code and the missing permission reach the connectors list, the Validate
# reply, the App Home and the CLI's JSON without any text being parsed back.

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
        gcp_token_uri=endpoints.urls["gcp_token_uri"],
        gcp_api_base=endpoints.urls["gcp_api_base"],
        gcp_compute_base=endpoints.urls["gcp_compute_base"],
        gcp_storage_base=endpoints.urls["gcp_storage_base"],
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


def test_a_replacement_submit_reads_the_connector_once_in_the_ack_and_once_in_the_work(
    make_bot: Any, aws: Any
) -> None:
    bot, new_key = _setup(make_bot, aws)
    view_id = _open_form(bot)
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(" ".join(statement.split()))

    event.listen(bot.rt.db.engine, "before_cursor_execute", seen)
    try:
        bot.driver.submit(view_id, {F.NAME: "prod-aws-2024", **new_key}, ADMIN)
    finally:
        event.remove(bot.rt.db.engine, "before_cursor_execute", seen)
    assert "*prod-aws-2024* works" in all_text(bot.slack.views[view_id])
    by_id = [s for s in statements if "FROM connectors WHERE connectors.id =" in s]
    assert len(by_id) == 2, by_id  # the ack's read and the work's read, nothing more


# --- discovery: one project per member account ------------------------------------------------


def test_discover_accounts_creates_a_project_per_member_and_updates_on_a_second_click(
    make_bot: Any, aws: Any
) -> None:
    from bot.playground.blockkit import assert_valid_message

    bot = make_bot(aws_endpoint_url=aws.url)
    members = aws.create_organization(["prod", "dev", "audit"])
    key_id, secret = aws.create_user("hub-scanner", admin=True)
    bot.rt.connectors.create(
        "aws", "hub", {"access_key_id": key_id, "secret_access_key": secret}, actor="test"
    )
    bot.driver.command("connectors", ADMIN)
    listing = bot.slack.last("response_url").body
    assert "Discover accounts" in button_texts(listing)

    bot.driver.click_in_message(listing, ids.ConnectorAction.DISCOVER, ADMIN)
    reply = bot.slack.last("response_url").body
    assert_valid_message(reply)
    text = all_text(reply)
    assert "3 accounts found" in text and "3 project(s) created" in text
    for name, account_id in members.items():
        assert f"hub-{name}" in text and account_id in text
    assert sorted(bot.rt.projects.names()) == ["hub-audit", "hub-dev", "hub-prod"]

    bot.driver.click_in_message(listing, ids.ConnectorAction.DISCOVER, ADMIN)
    again = all_text(bot.slack.last("response_url").body)
    assert "0 project(s) created, 0 updated, 3 unchanged" in again
    assert len(bot.rt.projects.names()) == 3
    with bot.rt.db.read() as s:
        audits = s.scalars(select(AuditEvent).where(AuditEvent.action == "connector.discover"))
        assert [a.actor for a in audits] == ["slack:" + ADMIN] * 2


def test_discover_accounts_needs_an_admin(bot: Bot) -> None:
    seed_connector(bot.rt, "hub")
    bot.driver.command("connectors", OPERATOR)
    listing = bot.slack.last("response_url").body
    bot.driver.click_in_message(listing, ids.ConnectorAction.DISCOVER, OPERATOR)
    assert "Only CSPM admins may manage connectors" in all_text(bot.slack.last("response_url").body)
    assert bot.rt.projects.names() == []
