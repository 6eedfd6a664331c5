"""Replacing a connector changes everything or nothing: a taken name is a clear input error,
and a failure inside the replacement transaction leaves the old connector live, its projects
pointing at it and its secret intact."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from bot.errors import InputError
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
    with pytest.raises(InputError, match="already exists"):
        rt.connectors.apply_replace(request, actor="test")
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
