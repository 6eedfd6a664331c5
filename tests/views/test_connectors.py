"""Connectors list, the new-connector modal and the guided replacement."""

from __future__ import annotations

import pytest

from bot import ids, providers
from bot.codec import (
    ConnectorRef,
    CreateFlowState,
    PageKind,
    PageRef,
    ReplaceFlowState,
    SupportRef,
    decode,
)
from bot.domain import CloudError, ErrorCategory, Provider
from bot.records import Page, ReplaceOutcome, ValidationFailure
from bot.views import connectors as cv
from tests.support import (
    assert_valid_message,
    assert_valid_view,
    assert_valid_view_response,
    total_text,
)
from tests.support.query import all_text, buttons, buttons_with, inputs, walk
from tests.views.factories import LONG_NAME, NASTY, connector

ACCESS_KEY_ID = ids.connector_field("access_key_id")
CLIENT_ID = ids.connector_field("client_id")
CLIENT_SECRET = ids.connector_field("client_secret")
EXTERNAL_ID = ids.connector_field("external_id")
ROLE_ARN = ids.connector_field("role_arn")
SECRET_ACCESS_KEY = ids.connector_field("secret_access_key")
SERVICE_ACCOUNT_JSON = ids.connector_field("service_account_json")
TENANT_ID = ids.connector_field("tenant_id")

AUTH_ERROR = CloudError(
    ErrorCategory.INVALID_CREDENTIALS,
    "InvalidClientTokenId",
    "The security token included in the request is invalid.",
    "Check the access key id and secret.",
    "An error occurred (InvalidClientTokenId) when calling GetCallerIdentity",
)


def replace_state(**kw) -> ReplaceFlowState:
    values = {"connector_id": 7, "provider": "aws", "channel_id": "C0123456789"}
    values.update(kw)
    return ReplaceFlowState(**values)


def view(v):
    assert_valid_view(v)
    return v


def msg(m):
    assert_valid_message(m)
    return m


# -- the list -------------------------------------------------------------------------------


def test_list_rows_show_identity_projects_and_validation() -> None:
    payload = msg(cv.build_connectors(Page.of([connector()], 0, cv.PAGE_SIZE)))
    text = all_text(payload)
    assert ":warning: *prod-key*" in text
    assert "AWS · `AKIA…WXYZ` · account `123456789012`" in text
    assert "used by 2 projects: prod-aws, prod-aws-eu" in text
    assert ":x: validation failed <!date^1714564800^" in text
    assert [b.text for b in buttons(payload)] == [
        "New connector",
        "Replace",
        "Validate",
        "Discover accounts",  # AWS lists its organization's member accounts
        "Delete",
    ]
    for action in (
        ids.ConnectorAction.REPLACE,
        ids.ConnectorAction.VALIDATE,
        ids.ConnectorAction.DELETE,
    ):
        assert decode(buttons_with(payload, action)[0].value, ConnectorRef) == ConnectorRef(7)
    assert buttons_with(payload, ids.ConnectorAction.REPLACE)[0].style == "primary"


def test_a_row_counts_every_project_though_it_names_only_the_first() -> None:
    row = connector(projects=[f"p{i}" for i in range(100)], project_count=4_321)
    payload = msg(cv.build_connectors(Page.of([row], 0, cv.PAGE_SIZE)))
    text = all_text(payload)
    assert "used by 4321 projects: p0, p1, " in text
    shown = text.split("used by 4321 projects: ", 1)[1].split(" more", 1)[0]
    named = shown.count(", ")  # names shown before "…and N more"
    assert f"…and {4_321 - named} more" in text
    (delete,) = buttons_with(payload, ids.ConnectorAction.DELETE)
    assert "4321 projects use it" in delete.confirm["text"]["text"]  # all of them, too


def test_delete_asks_first_and_says_what_breaks() -> None:
    payload = msg(cv.build_connectors(Page.of([connector()], 0, cv.PAGE_SIZE)))
    (delete,) = buttons_with(payload, ids.ConnectorAction.DELETE)
    assert delete.style == "danger" and delete.confirm is not None
    assert delete.confirm["style"] == "danger"
    assert "secret is destroyed" in delete.confirm["text"]["text"]
    assert "2 projects use it" in delete.confirm["text"]["text"]
    unused = msg(cv.build_connectors(Page.of([connector(projects=[])], 0, cv.PAGE_SIZE)))
    assert (
        "No project uses it."
        in buttons_with(unused, ids.ConnectorAction.DELETE)[0].confirm["text"]["text"]
    )


def test_a_healthy_connector() -> None:
    payload = msg(
        cv.build_connectors(
            Page.of([connector(last_validation_ok=True, last_error=None)], 0, cv.PAGE_SIZE)
        )
    )
    assert ":white_check_mark: validated" in all_text(payload)
    assert ":warning:" not in all_text(payload)
    assert buttons_with(payload, ids.ConnectorAction.REPLACE)[0].style is None
    never = msg(cv.build_connectors(Page.of([connector(last_validation_ok=None)], 0, 9)))
    assert "never validated" in all_text(never)


def test_empty_list() -> None:
    payload = msg(cv.build_connectors(Page.of([], 0, cv.PAGE_SIZE)))
    assert "No connectors yet" in all_text(payload)
    assert [b.text for b in buttons(payload)] == ["New connector"]


def test_many_connectors_are_paged_within_limits() -> None:
    many = [
        connector(
            i,
            name=LONG_NAME,
            account_id=NASTY,
            projects=[LONG_NAME] * 200,
            last_error=CloudError(ErrorCategory.UNKNOWN, NASTY, NASTY * 40, NASTY, NASTY, (NASTY,)),
            provider=list(providers.names())[i % 3],
        )
        for i in range(1, 101)
    ]
    pages = -(-100 // cv.PAGE_SIZE)
    for page in range(pages):
        payload = msg(cv.build_connectors(Page.of(many, page, cv.PAGE_SIZE)))
        assert total_text(payload["blocks"]) <= 12_000
    first = cv.build_connectors(Page.of(many, 0, cv.PAGE_SIZE))
    assert decode(buttons_with(first, ids.PageAction.NEXT)[0].value, PageRef) == PageRef(
        PageKind.CONNECTORS, 1
    )
    assert "…and " in all_text(first) and "<!channel>" not in all_text(first)


def test_validate_and_delete_replies() -> None:
    ok = msg(cv.build_validate_result(connector(last_validation_ok=True)))
    assert ":white_check_mark: *prod-key* works (account `123456789012`)." in all_text(ok)
    bad = msg(cv.build_validate_result(connector(), AUTH_ERROR))
    assert "`InvalidClientTokenId`" in all_text(bad)
    assert buttons_with(bad, ids.ConnectorAction.REPLACE)[0].text == "Fix credentials"
    throttled = msg(
        cv.build_validate_result(
            connector(), CloudError(ErrorCategory.TEMPORARY, "Throttling", "Rate exceeded", "")
        )
    )
    assert not buttons_with(throttled, ids.ConnectorAction.REPLACE)
    gone = msg(cv.build_deleted("prod-key", ["prod-aws"]))
    assert "deleted and its secret destroyed" in all_text(gone)
    assert "prod-aws" in all_text(gone)
    msg(cv.build_deleted("prod-key"))


# -- the plain new-connector modal ----------------------------------------------------------


def test_create_modal_asks_for_the_provider_first() -> None:
    v = view(cv.build_create_connector(CreateFlowState()))
    assert v["callback_id"] == ids.ConnectorView.CREATE_SUBMIT
    assert list(inputs(v)) == [ids.ConnectorInput.NAME, ids.ConnectorInput.PROVIDER]
    provider = inputs(v)[ids.ConnectorInput.PROVIDER]
    assert provider["dispatch_action"] is True
    assert [o["value"] for o in provider["element"]["options"]] == ["aws", "azure", "gcp"]
    assert "initial_option" not in provider["element"]
    assert decode(v["private_metadata"], CreateFlowState) == CreateFlowState()


EXPECTED_FIELDS = {
    "aws": [
        ACCESS_KEY_ID,
        SECRET_ACCESS_KEY,
        ROLE_ARN,
        EXTERNAL_ID,
        ids.connector_field("member_role_name"),
        ids.connector_field("member_external_id"),
    ],
    "azure": [
        TENANT_ID,
        CLIENT_ID,
        CLIENT_SECRET,
    ],
    "gcp": [SERVICE_ACCOUNT_JSON],
}


@pytest.mark.parametrize("provider", providers.names())
def test_create_modal_shows_the_provider_fields(provider: Provider) -> None:
    v = view(cv.build_create_connector(CreateFlowState(provider, "C1")))
    fields = list(inputs(v))
    assert fields == [
        ids.ConnectorInput.NAME,
        ids.ConnectorInput.PROVIDER,
        *EXPECTED_FIELDS[provider],
    ]
    select = inputs(v)[ids.ConnectorInput.PROVIDER]["element"]
    assert select["initial_option"]["value"] == provider
    assert v["submit"]["text"] == "Validate & save"


def test_optional_aws_fields_and_the_gcp_json_box() -> None:
    aws = inputs(cv.build_create_connector(CreateFlowState("aws")))
    assert aws[ROLE_ARN].get("optional") is True
    assert aws[EXTERNAL_ID].get("optional") is True
    assert "optional" not in aws[SECRET_ACCESS_KEY]
    gcp = inputs(cv.build_create_connector(CreateFlowState("gcp")))
    box = gcp[SERVICE_ACCOUNT_JSON]["element"]
    assert box["multiline"] is True and box["max_length"] == 3000


def _every_view():
    c = connector()
    state = replace_state()
    failure = ValidationFailure("prod-key", "aws", AUTH_ERROR, attempts=2)
    yield from (cv.build_create_connector(CreateFlowState(p, "C1", 1)) for p in providers.names())
    for p in providers.names():
        s = replace_state(provider=p)
        yield cv.build_replace_explain(connector(provider=p), s)
        yield cv.build_replace_form(connector(provider=p), s)
        yield cv.build_validating("prod-key", p, s)
    yield cv.build_replace_success(
        ReplaceOutcome("prod-key", connector(8, name="prod-key-2"), c.projects), state
    )
    yield cv.build_create_success(c)
    yield cv.build_validation_failed(failure, state)
    yield cv.build_validation_failed(failure, CreateFlowState("aws"))


def test_no_view_of_the_flow_prefills_a_credential() -> None:
    credential_inputs = set(ids.ConnectorInput) - {
        ids.ConnectorInput.NAME,
        ids.ConnectorInput.PROVIDER,
    }
    for v in _every_view():
        assert_valid_view(v)
        for node in walk(v):
            if node.get("type") == "plain_text_input" and node["action_id"] in credential_inputs:
                assert "initial_value" not in node, v["callback_id"]


# -- the guided replacement -----------------------------------------------------------------


def test_step1_explains_and_lists_every_project() -> None:
    projects = [f"project-{i:03d}" for i in range(60)]
    v = view(cv.build_replace_explain(connector(projects=projects), replace_state()))
    text = all_text(v)
    assert v["callback_id"] == ids.ConnectorView.REPLACE_EXPLAIN
    assert "Saved credentials cannot be edited" in text
    assert "*Connector*\nprod-key" in text and "`123456789012`" in text
    assert "*Projects using it (60)*" in text
    assert all(p in text for p in projects)
    assert "AWS STS GetCallerIdentity" in text
    assert "nothing changes" in text
    assert v["submit"]["text"] == "Continue"
    assert decode(v["private_metadata"], ReplaceFlowState) == replace_state()


def test_step1_with_a_huge_number_of_projects_stays_within_limits() -> None:
    v = view(cv.build_replace_explain(connector(projects=[LONG_NAME] * 500), replace_state()))
    assert "…and " in all_text(v)
    assert total_text(v["blocks"]) <= 12_000


@pytest.mark.parametrize("provider", providers.names())
def test_step2_is_the_provider_form(provider: Provider) -> None:
    state = replace_state(provider=provider)
    v = view(cv.build_replace_form(connector(provider=provider), state))
    assert v["callback_id"] == ids.ConnectorView.REPLACE_SUBMIT
    assert list(inputs(v)) == [ids.ConnectorInput.NAME, *EXPECTED_FIELDS[provider]]
    assert inputs(v)[ids.ConnectorInput.NAME]["element"]["initial_value"] == "prod-key"
    assert "used by 2 projects" in all_text(v)
    assert decode(v["private_metadata"], ReplaceFlowState) == state


def test_step2_after_a_failed_attempt_says_so() -> None:
    v = view(cv.build_replace_form(connector(), replace_state(attempts=2)))
    assert "rejected (2 attempts)" in all_text(v)


@pytest.mark.parametrize(
    ("provider", "call"),
    [
        ("aws", "AWS STS GetCallerIdentity"),
        ("azure", "Azure AD token"),
        ("gcp", "Google token refresh"),
    ],
)
def test_step3_validating_view(provider: Provider, call: str) -> None:
    v = view(cv.build_validating("prod-key", provider, replace_state(provider=provider)))
    assert v["title"]["text"] == "Validating…"
    assert "submit" not in v
    assert call in all_text(v)
    assert v["callback_id"] == ids.ConnectorView.VALIDATING


def test_success_offers_to_rerun_the_affected_projects() -> None:
    outcome = ReplaceOutcome(
        "prod-key",
        connector(8, name="prod-key-2", last_validation_ok=True),
        ["prod-aws", "prod-aws-eu"],
    )
    v = view(cv.build_replace_success(outcome, replace_state()))
    text = all_text(v)
    assert "*prod-key-2* works" in text
    assert "old connector *prod-key* was deleted and its secret destroyed" in text
    assert "*Projects now using it (2)*" in text and "prod-aws-eu" in text
    (rerun,) = buttons_with(v, ids.ScanAction.RERUN_CONNECTOR)
    assert rerun.text == "Re-run 2 projects"
    assert decode(rerun.value, ConnectorRef) == ConnectorRef(8)
    assert "<#C0123456789>" in text
    lonely = view(cv.build_replace_success(ReplaceOutcome("a", connector(8), []), replace_state()))
    assert not buttons_with(lonely, ids.ScanAction.RERUN_CONNECTOR)


def test_failure_keeps_everything_and_offers_a_retry() -> None:
    failure = ValidationFailure("prod-key", "aws", AUTH_ERROR, attempts=1)
    v = view(cv.build_validation_failed(failure, replace_state()))
    text = all_text(v)
    assert "AWS rejected the new credentials" in text
    assert "Nothing was changed: *prod-key* and its projects are exactly as they were." in text
    assert "`InvalidClientTokenId`" in text and "Authentication failed" in text
    assert "Check the access key id and secret." in text
    assert [b.text for b in buttons(v)] == ["Try again"]
    assert buttons(v)[0].action_id == ids.ConnectorAction.RETRY
    assert decode(v["private_metadata"], ReplaceFlowState) == replace_state()


def test_repeated_failures_lead_to_support() -> None:
    failure = ValidationFailure("prod-key", "aws", AUTH_ERROR, attempts=2)
    v = view(cv.build_validation_failed(failure, replace_state(scan_id=42)))
    (support,) = buttons_with(v, ids.SupportAction.OPEN)
    assert decode(support.value, SupportRef) == SupportRef(scan_id=42, connector_id=7)
    unknown = ValidationFailure(
        "new", "gcp", CloudError(ErrorCategory.UNKNOWN, "500", "boom", ""), 1
    )
    v = view(cv.build_validation_failed(unknown, CreateFlowState("gcp")))
    assert "Nothing was saved." in all_text(v)
    assert buttons_with(v, ids.SupportAction.OPEN)


def test_a_huge_error_detail_is_cut() -> None:
    error = CloudError(
        ErrorCategory.INVALID_CREDENTIALS, "AADSTS7000215", NASTY * 200, NASTY * 50, NASTY * 2000
    )
    v = view(
        cv.build_validation_failed(ValidationFailure(LONG_NAME, "azure", error, 3), replace_state())
    )
    assert "<!channel>" not in all_text(v)


# -- submissions ----------------------------------------------------------------------------


def test_field_errors_map_to_the_inputs_of_the_open_form() -> None:
    form = cv.build_replace_form(connector(), replace_state())
    body = cv.build_field_errors(
        {
            "access_key_id": "Must start with AKIA or ASIA.",
            "secret_access_key": "Must be 40 characters.",
        },
        "aws",
    )
    assert body == {
        "response_action": "errors",
        "errors": {
            ACCESS_KEY_ID: "Must start with AKIA or ASIA.",
            SECRET_ACCESS_KEY: "Must be 40 characters.",
        },
    }
    assert_valid_view_response(body, view=form)


def test_field_errors_never_name_a_missing_input() -> None:
    create = cv.build_create_connector(CreateFlowState("gcp"))
    body = cv.build_field_errors(
        {"info": "Not valid JSON.", "client_secret": "??", "mystery": "Bad."},
        "gcp",
        create=True,
    )
    assert body["errors"] == {
        SERVICE_ACCOUNT_JSON: "Not valid JSON. ?? Bad.",
    }
    assert_valid_view_response(body, view=create)
    no_provider = cv.build_field_errors({"provider": "Choose a cloud."}, None, create=True)
    assert no_provider["errors"] == {ids.ConnectorInput.PROVIDER: "Choose a cloud."}
    assert_valid_view_response(no_provider, view=cv.build_create_connector(CreateFlowState()))
    empty = cv.build_field_errors({}, "aws")
    assert empty["errors"] == {ACCESS_KEY_ID: "Please check this form."}


def test_field_error_texts_are_short() -> None:
    body = cv.build_field_errors({"name": "x" * 5000}, "aws")
    assert len(body["errors"][ids.ConnectorInput.NAME]) <= cv.FIELD_ERROR_MAX


def test_read_form() -> None:
    values = {
        ids.ConnectorInput.NAME: {
            ids.ConnectorInput.NAME: {"type": "plain_text_input", "value": "prod"}
        },
        ids.ConnectorInput.PROVIDER: {
            ids.ConnectorInput.PROVIDER: {
                "type": "static_select",
                "selected_option": {"value": "aws"},
            }
        },
        ACCESS_KEY_ID: {
            ACCESS_KEY_ID: {
                "type": "plain_text_input",
                "value": "AKIA" + "IOSFODNN7EXAMPLE",
            }
        },
        ROLE_ARN: {ROLE_ARN: {"type": "plain_text_input", "value": None}},
        "unrelated": {"x": {"type": "plain_text_input", "value": "y"}},
    }
    assert cv.read_form(values) == {
        "name": "prod",
        "provider": "aws",
        "access_key_id": "AKIA" + "IOSFODNN7EXAMPLE",
        "role_arn": "",
    }


def test_discovered_lists_each_project_with_its_account() -> None:
    from bot.records import DiscoveredProject, DiscoveryResult

    rows = tuple(
        DiscoveredProject(i, f"hub-acct-<{i}>", f"{210987654300 + i}", f"acct *{i}*", change)
        for i, change in enumerate(["created", "updated", "unchanged"] * 100)
    )
    payload = msg(cv.build_discovered(DiscoveryResult(connector(), rows)))
    text = all_text(payload)
    assert "300 accounts found in AWS — 100 project(s) created, 100 updated, 100 unchanged" in text
    assert "…and" in text and "more projects" in text
    assert "hub-acct-&lt;0&gt;" in text  # names are escaped
    empty = msg(cv.build_discovered(DiscoveryResult(connector(), ())))
    assert "member accounts" in all_text(empty)
