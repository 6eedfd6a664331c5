"""Replacing a connector changes everything or nothing: a taken name is a clear input error,
and a failure inside the replacement transaction leaves the old connector live, its projects
pointing at it and its secret intact."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from bot.errors import ConflictError, InputError, ValidationFailedError
from storage.models import AuditEvent, Connector, Project
from tests.conftest import make_settings


@pytest.fixture
def rt(database_url: str, aws: Any, runtime_factory: Any) -> Any:
    return runtime_factory(make_settings(database_url, aws_endpoint_url=aws.url))


@dataclass(frozen=True)
class Snapshot:
    """Everything a replacement may change."""

    connectors: list[tuple[int, str, bool, bool, int | None]]
    projects: list[tuple[str, int]]
    replace_audits: int


def snapshot(rt: Any) -> Snapshot:
    with rt.db.read() as s:
        connectors = [
            (c.id, c.name, c.deleted_at is None, c.secret_ciphertext is not None, c.replaced_by_id)
            for c in s.scalars(select(Connector).order_by(Connector.id))
        ]
        projects = [(p.name, p.connector_id) for p in s.scalars(select(Project).order_by("name"))]
        audits = len(
            s.scalars(select(AuditEvent).where(AuditEvent.action == "connector.replace")).all()
        )
    return Snapshot(connectors, projects, audits)


def _keys(aws: Any, user: str) -> dict[str, str]:
    key_id, secret = aws.create_user(user, admin=True)
    return {"access_key_id": key_id, "secret_access_key": secret}


@pytest.fixture
def setup(rt: Any, aws: Any) -> dict[str, str]:
    old = _keys(aws, "scanner")
    rt.connectors.create("aws", "prod-aws", old, actor="test")
    rt.connectors.create("aws", "other", _keys(aws, "other"), actor="test")
    rt.projects.add("web", "prod-aws", actor="test", scope=["us-east-1"])
    rt.projects.add("api", "prod-aws", actor="test", scope=["us-east-1"])
    return old


def assert_nothing_changed(rt: Any, before: Snapshot, old_keys: dict[str, str]) -> None:
    assert snapshot(rt) == before
    info = rt.connectors.get("prod-aws")
    assert not info.deleted and set(info.projects) == {"web", "api"}
    _, creds = rt.connectors.load_credentials(info.connector_id)  # the secret is intact
    assert creds.secret_values() and old_keys["secret_access_key"] in creds.secret_values()


def test_replace_onto_a_taken_name_is_an_input_error_and_changes_nothing(
    rt: Any, aws: Any, setup: dict[str, str]
) -> None:
    before = snapshot(rt)
    with pytest.raises(InputError) as refused:
        rt.connectors.replace("prod-aws", _keys(aws, "new"), actor="test", new_name="other")
    assert "already exists" in refused.value.fields["name"]
    assert_nothing_changed(rt, before, setup)


def test_a_name_taken_during_the_validation_is_refused_inside_the_transaction(
    rt: Any, aws: Any, setup: dict[str, str]
) -> None:
    request = rt.connectors.prepare_replace(
        rt.connectors.get("prod-aws"), _keys(aws, "new"), "prod-aws-2"
    )
    rt.connectors.create("aws", "prod-aws-2", _keys(aws, "racer"), actor="someone-else")
    before = snapshot(rt)
    with pytest.raises(InputError) as taken:
        rt.connectors.apply_replace(request, actor="test")
    assert str(taken.value) == "A connector named 'prod-aws-2' already exists."
    assert taken.value.fields == {"name": "This name is taken."}  # shown under the field
    assert_nothing_changed(rt, before, setup)


def _fail_project_updates(rt: Any) -> None:
    """A database trigger that rejects moving any project to another connector."""
    with rt.db.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(
                text(
                    "CREATE TRIGGER no_repoint BEFORE UPDATE OF connector_id ON projects "
                    "BEGIN SELECT RAISE(ABORT, 'projects are frozen'); END"
                )
            )
        else:
            conn.execute(
                text(
                    "CREATE OR REPLACE FUNCTION no_repoint() RETURNS trigger LANGUAGE plpgsql AS "
                    "$$ BEGIN RAISE EXCEPTION 'projects are frozen'; END $$"
                )
            )
            conn.execute(
                text(
                    "CREATE TRIGGER no_repoint BEFORE UPDATE OF connector_id ON projects "
                    "FOR EACH ROW EXECUTE FUNCTION no_repoint()"
                )
            )


def test_a_failed_project_update_inside_the_transaction_changes_nothing(
    rt: Any, aws: Any, setup: dict[str, str]
) -> None:
    _fail_project_updates(rt)
    before = snapshot(rt)
    with pytest.raises(DBAPIError, match="projects are frozen"):
        rt.connectors.replace("prod-aws", _keys(aws, "new"), actor="test")
    assert_nothing_changed(rt, before, setup)


def _replace_audit(rt: Any) -> tuple[str, int, dict[str, Any]]:
    with rt.db.read() as s:
        [event] = s.scalars(select(AuditEvent).where(AuditEvent.action == "connector.replace"))
        return event.actor, int(event.target_id), dict(event.detail or {})


def test_a_replacement_moves_every_project_to_a_new_connector_and_destroys_the_old_secret(
    rt: Any, aws: Any, setup: dict[str, str]
) -> None:
    old = rt.connectors.get("prod-aws")
    new_keys = _keys(aws, "new")
    result = rt.connectors.replace("prod-aws", new_keys, actor="cli:alice", new_name="prod-aws-2")

    assert result.old.connector_id == old.connector_id and result.old.name == "prod-aws"
    assert result.old.deleted and result.old.projects == () and result.old.project_count == 0
    assert result.new.name == "prod-aws-2" and not result.new.deleted
    assert result.new.connector_id != old.connector_id
    assert sorted(result.projects) == ["api", "web"] and set(result.new.projects) == {"api", "web"}
    assert result.new.fingerprint.startswith(new_keys["access_key_id"][:4])
    assert result.new.fingerprint.endswith(new_keys["access_key_id"][-4:])

    connectors = {c[1]: c for c in snapshot(rt).connectors}
    # (id, name, live, has a secret, replaced by)
    assert connectors["prod-aws"] == (old.connector_id, "prod-aws", False, False,
                                      result.new.connector_id)  # fmt: skip
    assert connectors["prod-aws-2"] == (result.new.connector_id, "prod-aws-2", True, True, None)
    assert snapshot(rt).projects == [("api", result.new.connector_id),
                                     ("web", result.new.connector_id)]  # fmt: skip
    _, creds = rt.connectors.load_credentials(result.new.connector_id)
    assert new_keys["secret_access_key"] in creds.secret_values()
    actor, target, details = _replace_audit(rt)
    assert (actor, target) == ("cli:alice", old.connector_id)
    assert details == {"new_id": result.new.connector_id, "projects": 2,
                       "fingerprint": result.new.fingerprint}  # fmt: skip
    with rt.db.read() as s:
        tomb = s.get(Connector, old.connector_id)
        assert tomb is not None and tomb.deleted_by == "cli:alice" and tomb.deleted_at


def test_a_replacement_without_a_new_name_keeps_the_name(
    rt: Any, aws: Any, setup: dict[str, str]
) -> None:
    old = rt.connectors.get("prod-aws")
    result = rt.connectors.replace("prod-aws", _keys(aws, "new"), actor="test")
    assert result.new.name == "prod-aws" and result.new.connector_id != old.connector_id
    assert rt.connectors.get("prod-aws").connector_id == result.new.connector_id


def test_every_problem_of_a_replacement_form_is_reported_at_once(
    rt: Any, setup: dict[str, str]
) -> None:
    before = snapshot(rt)
    with pytest.raises(InputError) as refused:
        rt.connectors.replace(
            "prod-aws",
            {"access_key_id": "", "secret_access_key": ""},
            actor="t",
            new_name="-bad/name",
        )
    assert refused.value.message == "Some fields need fixing."
    assert set(refused.value.fields) >= {"name", "access_key_id"}
    with pytest.raises(InputError) as taken:
        rt.connectors.prepare_replace(rt.connectors.get("prod-aws"), setup, "other")
    assert taken.value.fields == {"name": "A connector with this name already exists."}
    assert snapshot(rt) == before


def test_a_connector_deleted_meanwhile_is_not_replaced(
    rt: Any, aws: Any, setup: dict[str, str]
) -> None:
    rt.connectors.create("aws", "spare", _keys(aws, "spare"), actor="test")
    request = rt.connectors.prepare_replace(rt.connectors.get("spare"), _keys(aws, "new"))
    rt.connectors.delete("spare", actor="someone-else")
    before = snapshot(rt)
    with pytest.raises(ConflictError, match=r"^Connector 'spare' was deleted meanwhile\.$"):
        rt.connectors.apply_replace(request, actor="test")
    assert snapshot(rt) == before


def test_rejected_credentials_change_nothing_and_the_error_carries_no_secret(
    rt: Any, aws: Any, setup: dict[str, str]
) -> None:
    before = snapshot(rt)
    bogus = {"access_key_id": "AKIA" + "Z" * 16, "secret_access_key": "s3cr3t/" + "q" * 33}
    with pytest.raises(ValidationFailedError) as rejected:
        rt.connectors.replace("prod-aws", bogus, actor="test")
    assert "The cloud rejected these credentials: authentication failed" in str(rejected.value)
    assert bogus["secret_access_key"] not in str(rejected.value)
    assert_nothing_changed(rt, before, setup)


def test_a_cloud_error_echoing_the_new_secret_reaches_the_user_without_it(
    tmp_path: Any, runtime_factory: Any
) -> None:
    """Entra ID answering with the submitted client secret in its code and its description
    (plain, URL-encoded and JSON-escaped): the refusal still names the problem, and neither
    its message nor any field of the error it carries holds the secret or a piece of it."""
    import json
    import uuid
    from urllib.parse import quote

    from bot.playground.azure import AzureStandIn

    tenant, client = str(uuid.uuid4()), str(uuid.uuid4())
    with AzureStandIn() as azure:
        old_secret = "the-old-client-s3cret-value"
        azure.add_app(tenant, client, old_secret, subscriptions=[str(uuid.uuid4())])
        rt = runtime_factory(
            make_settings(
                f"sqlite:///{tmp_path}/cspm.db",
                azure_authority_host=azure.authority,
                azure_arm_url=azure.arm_url,
                ca_bundle=azure.ca_pem_path,
            )
        )
        raw = {"tenant_id": tenant, "client_id": client, "client_secret": old_secret}
        rt.connectors.create("azure", "corp", raw, actor="test")
        new_secret = "Nw8Q~fresh/Secret+Value_" + uuid.uuid4().hex
        echoed = (
            f"AADSTS7000215: Invalid client secret provided: '{new_secret}' "
            f"({quote(new_secret, safe='')}, {json.dumps(new_secret)})."
        )
        azure.fail(
            status=401,
            path_prefix=f"/{tenant}/oauth2",
            body={"error": f"invalid_client {new_secret}", "error_description": echoed,
                  "error_codes": [7000215]},
        )  # fmt: skip
        with pytest.raises(ValidationFailedError) as rejected:
            rt.connectors.replace("corp", {**raw, "client_secret": new_secret}, actor="test")
        azure.heal()
        azure.fail(
            status=401,
            path_prefix=f"/{tenant}/oauth2",
            body={"error": "invalid_client",
                  "error_description": f"AADSTS7000215: Invalid client secret '{old_secret}'.",
                  "error_codes": [7000215]},
        )  # fmt: skip
        saved = rt.connectors.validate("corp", actor="test")  # the saved one, checked again
    assert saved.last_validation_ok is False and saved.last_error is not None
    assert saved.last_error.detail == ""  # the cloud's raw text is not kept
    assert old_secret not in repr(saved.last_error)
    with rt.db.read() as s:  # nor is it in any column of the connector's row
        assert old_secret not in str(s.execute(text("SELECT * FROM connectors")).all())
    error = rejected.value.error
    assert "authentication failed" in str(rejected.value)
    assert error is not None
    shown = " ".join(
        [str(rejected.value), error.code, error.message, error.remediation, error.detail]
    )
    for i in range(len(new_secret) - 11):
        assert new_secret[i : i + 12] not in shown, shown
    assert "Azure rejected the client secret" in error.message  # what went wrong stays clear
    assert not rt.connectors.get("corp").deleted


def test_an_error_leaving_the_service_holds_no_piece_of_the_secrets_and_fits_its_fields() -> None:
    """The last line of defence, whatever an adapter let through: every text field is redacted
    with the connector's own secrets and cut to its column, and the raw detail is dropped."""
    from bot.domain import CloudError, ErrorCategory
    from bot.redaction import REDACTED
    from bot.services.connectors import _redacted

    secret = "Zx9-own-secret-value-77"
    error = CloudError(
        ErrorCategory.INVALID_CREDENTIALS,
        f"Code{secret}" + "c" * 200,
        f"Refused {secret} " + "m" * 600,
        f"Replace {secret} " + "r" * 600,
        detail=f"raw body {secret}",
    )
    clean = _redacted(error, [secret])
    assert clean.code == ("Code" + REDACTED + "c" * 200)[:119] + "…"
    assert clean.message == ("Refused " + REDACTED + " " + "m" * 600)[:499] + "…"
    assert clean.remediation == ("Replace " + REDACTED + " " + "r" * 600)[:499] + "…"
    assert clean.detail == ""
    assert clean.category is ErrorCategory.INVALID_CREDENTIALS
