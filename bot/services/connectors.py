"""Connectors: create (validated live, stored encrypted), list, validate, delete, replace.

Saved credentials are immutable: there is no edit, only delete and recreate, or `replace`,
which does both atomically after the new credentials validated.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import providers
from bot.domain import CloudEndpoints, Credentials, Provider, ValidationResult
from bot.errors import ConflictError, InputError, NotFoundError, ValidationFailedError
from bot.providers import get_adapter
from bot.redaction import redact_one_line
from bot.secretbox import SecretBox
from bot.suggest import closest
from storage.db import Database
from storage.models import Connector
from storage.repositories import AuditRepo, ConnectorRepo, ProjectRepo

log = logging.getLogger(__name__)

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,62}$")


@dataclass(frozen=True)
class ConnectorInfo:
    """What any front end may show about a connector (never a secret)."""

    id: int
    name: str
    provider: Provider
    fingerprint: str
    account_id: str
    account_label: str
    projects: tuple[str, ...]
    """The names of the projects using it (from a list or page: only the first ones)."""
    project_count: int
    """How many projects use it."""
    created_by: str
    created_at: datetime
    last_validated_at: datetime | None
    last_validation_ok: bool | None
    last_validation_error: str | None
    deleted: bool = False


@dataclass(frozen=True)
class ReplaceResult:
    """The outcome of a successful replacement."""

    old: ConnectorInfo
    new: ConnectorInfo
    projects: tuple[str, ...]


def check_name(name: str) -> str:
    """Validate a connector or project name; returns it stripped."""
    name = (name or "").strip()
    if not NAME_RE.match(name):
        raise InputError(
            "A name is 1-63 letters, digits, spaces, '.', '_' or '-', starting with a letter "
            "or digit.",
            {"name": "Use 1-63 letters, digits, spaces, '.', '_' or '-'."},
        )
    return name


def _info(c: Connector, projects: Sequence[str], count: int | None = None) -> ConnectorInfo:
    return ConnectorInfo(
        id=c.id,
        name=c.name,
        provider=Provider(c.provider),
        fingerprint=c.fingerprint,
        account_id=c.account_id,
        account_label=c.account_label,
        projects=tuple(projects),
        project_count=len(projects) if count is None else count,
        created_by=c.created_by,
        created_at=c.created_at,
        last_validated_at=c.last_validated_at,
        last_validation_ok=c.last_validation_ok,
        last_validation_error=c.last_validation_error,
        deleted=c.is_deleted,
    )


PAGE_PROJECT_NAMES = 100
"""Project names a connector carries in a page (a list row shows what fits in 400 characters)."""


class ConnectorService:
    """All connector operations; each method is one transaction."""

    def __init__(self, db: Database, box: SecretBox, endpoints: CloudEndpoints) -> None:
        self.db = db
        self.box = box
        self.endpoints = endpoints

    # --- reading ------------------------------------------------------------------------
    def list(self) -> list[ConnectorInfo]:
        """Live connectors with the projects using each."""
        with self.db.read() as s:
            repo = ConnectorRepo(s)
            live = repo.list_live()
            by_id = repo.project_names_by_connector([c.id for c in live])
            return [_info(c, by_id.get(c.id, [])) for c in live]

    def page(
        self, page: int = 0, per_page: int = 20, *, failing_only: bool = False
    ) -> tuple[Sequence[ConnectorInfo], int]:
        """One page of live connectors by name (`failing_only`: whose last validation
        failed), and how many there are in all. Each carries its project count and only the
        first `PAGE_PROJECT_NAMES` project names, so a page costs the same whatever the data.
        """
        with self.db.read() as s:
            repo = ConnectorRepo(s)
            live = repo.list_live(page * per_page, per_page, failing_only=failing_only)
            ids = [c.id for c in live]
            names = repo.project_names_by_connector(ids, limit_each=PAGE_PROJECT_NAMES)
            counts = repo.project_counts_by_connector(ids)
            items = [_info(c, names[c.id], counts[c.id]) for c in live]
            return items, repo.count_live(failing_only=failing_only)

    def get(self, ref: str | int) -> ConnectorInfo:
        """A live connector by name or id."""
        with self.db.read() as s:
            c = self._find(s, ref)
            return _info(c, ConnectorRepo(s).project_names_by_connector([c.id])[c.id])

    def _find(self, s: Session, ref: str | int) -> Connector:
        repo = ConnectorRepo(s)
        found: Connector | None
        if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
            found = repo.get(int(ref))
            if found is None or found.is_deleted:
                found = None if isinstance(ref, int) else repo.get_live_by_name(str(ref))
        else:
            found = repo.get_live_by_name(ref.strip())
        if found is None:
            names = repo.live_names()
            raise NotFoundError(f"No connector named {ref!r}.", closest(str(ref), names))
        return found

    def load_credentials(self, connector_id: int) -> tuple[Provider, Credentials]:
        """Decrypt a live connector's credentials (for the scan engine only)."""
        with self.db.read() as s:
            c = ConnectorRepo(s).get(connector_id)
            if c is None or c.secret_ciphertext is None:
                raise NotFoundError("The project's connector was deleted; replace it first.")
            spec = providers.get(c.provider)
            return spec.name, spec.credentials_from_secret(self.box.decrypt(c.secret_ciphertext))

    # --- validating ---------------------------------------------------------------------
    def parse(self, provider: Provider | str, raw: Mapping[str, str]) -> Credentials:
        """Check raw input for a provider; raises InputError with per-field messages."""
        return get_adapter(providers.parse(str(provider))).parse_credentials(raw)

    def check_live(self, creds: Credentials) -> ValidationResult:
        """Validate credentials against the cloud; raises ValidationFailedError when rejected."""
        result = providers.spec_of(creds).adapter().validate(creds, self.endpoints)
        if not result.ok:
            error = result.error
            reason = (
                f"{error.category.label}: {error.message} ({error.code})" if error else "rejected"
            )
            raise ValidationFailedError(f"The cloud rejected these credentials: {reason}", error)
        return result

    def validate(self, ref: str | int, actor: str) -> ConnectorInfo:
        """Validate a saved connector again and record the result."""
        with self.db.read() as s:
            connector_id = self._find(s, ref).id
        provider, creds = self.load_credentials(connector_id)
        result = get_adapter(provider).validate(creds, self.endpoints)
        with self.db.unit_of_work() as s:
            row = ConnectorRepo(s).get(connector_id)
            assert row is not None
            c = row
            c.last_validated_at = datetime.now(UTC)
            c.last_validation_ok = result.ok
            c.last_validation_error = (
                None
                if result.ok or result.error is None
                else redact_one_line(
                    f"{result.error.category.label}: {result.error.message} ({result.error.code})",
                    creds.secret_values(),
                )
            )
            if result.ok:
                c.account_id = result.account_id or c.account_id
                c.scopes = list(result.scopes)
            AuditRepo(s).record(actor, "connector.validate", "connector", c.id, {"ok": result.ok})
            return _info(c, [p.name for p in ProjectRepo(s).using_connector(c.id)])

    # --- writing ------------------------------------------------------------------------
    def create(
        self, provider: Provider | str, name: str, raw: Mapping[str, str], actor: str
    ) -> ConnectorInfo:
        """Validate input and credentials live, then store the connector encrypted."""
        name = check_name(name)
        creds = self.parse(provider, raw)
        with self.db.read() as s:
            if ConnectorRepo(s).get_live_by_name(name):
                raise InputError(
                    f"A connector named {name!r} already exists.",
                    {"name": "This name is taken."},
                )
        result = self.check_live(creds)
        try:
            with self.db.unit_of_work() as s:
                c = self._new_row(name, creds, result, actor)
                ConnectorRepo(s).add(c)
                AuditRepo(s).record(
                    actor,
                    "connector.create",
                    "connector",
                    c.id,
                    {"name": name, "provider": c.provider, "fingerprint": c.fingerprint},
                )
                return _info(c, [])
        except IntegrityError:
            raise InputError(
                f"A connector named {name!r} already exists.", {"name": "This name is taken."}
            ) from None

    def _new_row(
        self, name: str, creds: Credentials, result: ValidationResult, actor: str
    ) -> Connector:
        now = datetime.now(UTC)
        return Connector(
            name=name,
            provider=providers.spec_of(creds).name,
            account_id=result.account_id,
            account_label=result.account_label[:300],
            scopes=list(result.scopes),
            fingerprint=providers.spec_of(creds).fingerprint(creds)[:80],
            secret_ciphertext=self.box.encrypt(providers.to_secret_dict(creds)),
            created_by=actor,
            created_at=now,
            last_validated_at=now,
            last_validation_ok=True,
        )

    def delete(self, ref: str | int, actor: str) -> ConnectorInfo:
        """Tombstone a connector that no project uses and destroy its secret."""
        with self.db.unit_of_work() as s:
            c = self._find(s, ref)
            users = [p.name for p in ProjectRepo(s).using_connector(c.id)]
            if users:
                raise ConflictError(
                    f"Connector {c.name!r} is used by {len(users)} project(s): "
                    f"{', '.join(users[:5])}. Replace it instead, so the projects keep scanning."
                )
            self._tombstone(c, actor)
            AuditRepo(s).record(actor, "connector.delete", "connector", c.id, {"name": c.name})
            return _info(c, [])

    @staticmethod
    def _tombstone(c: Connector, actor: str) -> None:
        c.deleted_at = datetime.now(UTC)
        c.deleted_by = actor
        c.secret_ciphertext = None  # the secret material is destroyed

    def replace(
        self, ref: str | int, raw: Mapping[str, str], actor: str, new_name: str | None = None
    ) -> ReplaceResult:
        """Validate new credentials; only then, in one transaction, create the new connector,
        repoint every project and tombstone the old one. On any failure nothing changes."""
        old_info = self.get(ref)
        creds = self.parse(old_info.provider, raw)
        name = check_name(new_name) if new_name else old_info.name
        result = self.check_live(creds)
        with self.db.unit_of_work() as s:
            old = ConnectorRepo(s).get(old_info.id)
            if old is None or old.is_deleted:
                raise ConflictError(f"Connector {old_info.name!r} was deleted meanwhile.")
            self._tombstone(old, actor)
            s.flush()  # free the live name before the new row takes it
            new = ConnectorRepo(s).add(self._new_row(name, creds, result, actor))
            old.replaced_by_id = new.id
            moved = ProjectRepo(s).repoint(old.id, new.id)
            projects = [p.name for p in ProjectRepo(s).using_connector(new.id)]
            AuditRepo(s).record(
                actor,
                "connector.replace",
                "connector",
                old.id,
                {"new_id": new.id, "projects": moved, "fingerprint": new.fingerprint},
            )
            return ReplaceResult(_info(old, []), _info(new, projects), tuple(projects))
