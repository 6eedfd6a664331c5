"""Connectors: create (validated live, stored encrypted), list, validate, delete, replace.

Saved credentials are immutable: there is no edit, only delete and recreate, or `replace`,
which does both atomically after the new credentials validated.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import providers
from bot.domain import (
    DB_ID_MAX,
    CloudEndpoints,
    CloudError,
    Credentials,
    DiscoveredTarget,
    ErrorCategory,
    Provider,
    ValidationResult,
    parse_id,
)
from bot.errors import ConflictError, InputError, NotFoundError, ValidationFailedError
from bot.providers import get_adapter
from bot.records import ConnectorInfo, DiscoveredProject, DiscoveryResult, Page
from bot.redaction import redact_one_line
from bot.secretbox import SecretBox
from bot.services.mapping import connector_info
from bot.services.names import NAME_RE, check_name
from bot.suggest import closest
from storage.db import Database
from storage.models import Connector, Project
from storage.repositories import AuditRepo, ConnectorRepo, ProjectRepo

__all__ = [
    "ConnectorService",
    "ReplaceRequest",
    "ReplaceResult",
    "check_name",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReplaceRequest:
    """A checked replacement, ready to validate and apply: the connector to replace (as read
    once), the new credentials (parsed once) and the new connector's name."""

    connector: ConnectorInfo
    credentials: Credentials
    name: str


@dataclass(frozen=True)
class ReplaceResult:
    """The outcome of a successful replacement."""

    old: ConnectorInfo
    new: ConnectorInfo
    projects: tuple[str, ...]


def _name_taken(name: str) -> InputError:
    return InputError(
        f"A connector named {name!r} already exists.", {"name": "This name is taken."}
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
            return [connector_info(c, by_id.get(c.id, [])) for c in live]

    def page(
        self, page: int = 0, per_page: int = 20, *, failing_only: bool = False
    ) -> Page[ConnectorInfo]:
        """One page of live connectors by name (`failing_only`: whose last validation
        failed; a page past the end shows the last). Each carries its project count and only
        the first `PAGE_PROJECT_NAMES` project names, so a page costs the same whatever the
        data."""
        with self.db.read() as s:
            repo = ConnectorRepo(s)
            total = repo.count_live(failing_only=failing_only)
            pages = max(1, -(-total // per_page))
            page = min(max(0, page), pages - 1)
            live = repo.list_live(page * per_page, per_page, failing_only=failing_only)
            ids = [c.id for c in live]
            names = repo.project_names_by_connector(ids, limit_each=PAGE_PROJECT_NAMES)
            counts = repo.project_counts_by_connector(ids)
            items = [connector_info(c, names[c.id], counts[c.id]) for c in live]
            return Page(items, page, pages, total)

    def get(self, ref: str | int) -> ConnectorInfo:
        """A live connector by name or id."""
        with self.db.read() as s:
            c = self._find(s, ref)
            return connector_info(c, ConnectorRepo(s).project_names_by_connector([c.id])[c.id])

    def _find(self, s: Session, ref: str | int) -> Connector:
        repo = ConnectorRepo(s)
        found: Connector | None
        connector_id = ref if isinstance(ref, int) else parse_id(ref)
        if connector_id is not None:
            found = repo.get(connector_id) if 0 <= connector_id <= DB_ID_MAX else None
            if found is None or found.is_deleted:
                found = None if isinstance(ref, int) else repo.get_live_by_name(str(ref))
        else:
            found = repo.get_live_by_name(str(ref).strip())
        if found is None:
            names = repo.live_names()
            raise NotFoundError(f"No connector named {ref!r}.", closest(str(ref), names))
        return found

    def load_credentials(self, connector_id: int) -> tuple[Provider, Credentials]:
        """Decrypt a live connector's credentials (for the scan engine only)."""
        with self.db.read() as s:
            c = ConnectorRepo(s).get(connector_id)
            if c is None or c.is_deleted:
                raise NotFoundError("The project's connector was deleted; replace it first.")
            if c.secret_ciphertext is None:
                raise NotFoundError(
                    f"Connector {c.name!r} has no saved credentials (the encryption key was "
                    "reset); replace it first."
                )
            spec = providers.get(c.provider)
            return spec.name, spec.credentials_from_secret(self.box.decrypt(c.secret_ciphertext))

    # --- validating ---------------------------------------------------------------------
    def parse(self, provider: Provider | str, raw: Mapping[str, str]) -> Credentials:
        """Check raw input for a provider; raises InputError with per-field messages."""
        return get_adapter(providers.parse(str(provider))).parse_credentials(raw)

    def check_live(self, creds: Credentials) -> ValidationResult:
        """Validate credentials against the cloud; raises ValidationFailedError (carrying the
        classified error) when they are rejected."""
        result = providers.spec_of(creds).adapter().validate(creds, self.endpoints)
        if not result.ok:
            error = result.error
            reason = (
                f"{error.category.label}: {error.message} ({error.code})" if error else "rejected"
            )
            raise ValidationFailedError(f"The cloud rejected these credentials: {reason}", error)
        return result

    def validate(self, ref: str | int, actor: str) -> ConnectorInfo:
        """Validate a saved connector again and record the result, field by field."""
        with self.db.read() as s:
            connector_id = self._find(s, ref).id
        provider, creds = self.load_credentials(connector_id)
        result = get_adapter(provider).validate(creds, self.endpoints)
        error = None
        if not result.ok:
            error = _redacted(result.error or _REJECTED, creds.secret_values())
        with self.db.unit_of_work() as s:
            repo = ConnectorRepo(s)
            c = repo.get(connector_id)
            assert c is not None
            repo.record_validation(
                c,
                datetime.now(UTC),
                error,
                account_id=result.account_id if result.ok else None,
                scopes=result.scopes if result.ok else None,
            )
            AuditRepo(s).record(actor, "connector.validate", "connector", c.id, {"ok": result.ok})
            return connector_info(c, [p.name for p in ProjectRepo(s).using_connector(c.id)])

    # --- discovery --------------------------------------------------------------------
    def discover(
        self,
        ref: str | int,
        actor: str,
        parent: str | None = None,
        scope: Sequence[str] = (),
    ) -> DiscoveryResult:
        """List the accounts of the connector's organization (AWS member accounts, Azure
        subscriptions, GCP projects; under `parent` when given) and give each its own
        project: created the first time, its target updated on later runs, never duplicated.
        `scope` (e.g. AWS regions) is the scope of the projects it creates, where the account
        itself is not the scope (Azure subscriptions, GCP projects).

        Raises InputError for a provider without discovery, ValidationFailedError (with the
        classified error and its next step) when the cloud refuses the listing."""
        with self.db.read() as s:
            c = self._find(s, ref)
            connector_id, provider = c.id, c.provider
        spec = providers.get(provider)
        scope = [u.strip() for u in scope if u.strip()]
        if scope and spec.check_scope is not None:
            spec.check_scope(scope)
        adapter = spec.adapter()
        discover = getattr(adapter, "discover", None)
        if discover is None:
            raise InputError(f"{spec.display_name} connectors have no account discovery.")
        _, creds = self.load_credentials(connector_id)
        secrets = creds.secret_values()
        try:
            found = discover(creds, self.endpoints, parent or None)
        except Exception as exc:  # every cloud failure comes back classified
            error = _redacted(adapter.classify(exc, secrets), secrets)
            raise ValidationFailedError(
                f"Discovery failed: {error.category.label}: {error.message} ({error.code}). "
                f"Next step: {error.remediation}",
                error,
            ) from None
        try:
            with self.db.unit_of_work() as s:
                return self._record_discovery(s, connector_id, found, actor, scope)
        except IntegrityError:
            raise ConflictError(
                "Another discovery of this connector ran at the same time; run it again."
            ) from None

    def _record_discovery(
        self,
        s: Session,
        connector_id: int,
        found: Sequence[DiscoveredTarget],
        actor: str,
        scope: Sequence[str],
    ) -> DiscoveryResult:
        c = ConnectorRepo(s).get(connector_id)
        if c is None or c.is_deleted:
            raise ConflictError("The connector was deleted meanwhile.")
        repo = ProjectRepo(s)
        existing = repo.with_targets(connector_id)
        taken = set(repo.names())
        results = []
        for t in found:
            target = dict(t.target)
            p = existing.get(t.target_id)
            if p is not None:
                change = "unchanged" if (p.target or {}) == target else "updated"
                p.target = target
            else:
                name = _project_name(c.name, t, taken)
                taken.add(name)
                p = repo.add(
                    Project(
                        name=name,
                        connector_id=connector_id,
                        scope=list(t.scope or scope),
                        check_ids=[],
                        target_id=t.target_id,
                        target=target,
                        created_by=actor,
                    )
                )
                change = "created"
            results.append(DiscoveredProject(p.id, p.name, t.target_id, t.name, change))
        result = DiscoveryResult(
            connector_info(c, [p.name for p in repo.using_connector(c.id)]), tuple(results)
        )
        AuditRepo(s).record(
            actor,
            "connector.discover",
            "connector",
            c.id,
            {k: result.count(k) for k in ("created", "updated", "unchanged")},
        )
        return result

    # --- writing ------------------------------------------------------------------------
    def create(
        self, provider: Provider | str, name: str, raw: Mapping[str, str], actor: str
    ) -> ConnectorInfo:
        """Validate input and credentials live, then store the connector encrypted."""
        name = check_name(name)
        creds = self.parse(provider, raw)
        with self.db.read() as s:
            if ConnectorRepo(s).get_live_by_name(name):
                raise _name_taken(name)
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
                return connector_info(c, [])
        except IntegrityError:
            raise _name_taken(name) from None

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
            return connector_info(c, [])

    @staticmethod
    def _tombstone(c: Connector, actor: str) -> None:
        c.deleted_at = datetime.now(UTC)
        c.deleted_by = actor
        c.secret_ciphertext = None  # the secret material is destroyed

    def prepare_replace(
        self, connector: ConnectorInfo, raw: Mapping[str, str], new_name: str | None = None
    ) -> ReplaceRequest:
        """Check a replacement form for `connector` (as the caller read it): the new name's
        shape and that no other live connector has it, and the credential fields (parsed
        once). Raises InputError with every field's problem; nothing is sent to the cloud."""
        errors: dict[str, str] = {}
        name = connector.name
        try:
            name = check_name(new_name) if new_name else connector.name
        except InputError as exc:
            errors.update(exc.fields)
        if name != connector.name:
            with self.db.read() as s:
                if ConnectorRepo(s).get_live_by_name(name) is not None:
                    errors["name"] = "A connector with this name already exists."
        creds: Credentials | None = None
        try:
            creds = self.parse(connector.provider, raw)
        except InputError as exc:
            errors.update(exc.fields or {"provider": exc.message})
        if errors or creds is None:
            raise InputError("Some fields need fixing.", errors)
        return ReplaceRequest(connector, creds, name)

    def replace(
        self, ref: str | int, raw: Mapping[str, str], actor: str, new_name: str | None = None
    ) -> ReplaceResult:
        """Replace a connector's credentials: `prepare_replace`, then `apply_replace`."""
        return self.apply_replace(self.prepare_replace(self.get(ref), raw, new_name), actor)

    def apply_replace(self, request: ReplaceRequest, actor: str) -> ReplaceResult:
        """Validate the new credentials live; only then, in one transaction, create the new
        connector, repoint every project and tombstone the old one (its secret destroyed).
        On any failure (rejected credentials, the name taken meanwhile, the old connector
        deleted meanwhile, a failed write) nothing changes."""
        old_id, old_name, name = (
            request.connector.connector_id,
            request.connector.name,
            request.name,
        )
        result = self.check_live(request.credentials)
        try:
            with self.db.unit_of_work() as s:
                repo, projects = ConnectorRepo(s), ProjectRepo(s)
                holder = repo.get_live_by_name(name)
                if holder is not None and holder.id != old_id:
                    raise _name_taken(name)
                now = datetime.now(UTC)
                if not repo.tombstone_live(old_id, actor, now):
                    raise ConflictError(f"Connector {old_name!r} was deleted meanwhile.")
                new = repo.add(self._new_row(name, request.credentials, result, actor))
                repo.set_replaced_by(old_id, new.id)
                moved = projects.repoint(old_id, new.id)
                names = [p.name for p in projects.using_connector(new.id)]
                AuditRepo(s).record(
                    actor,
                    "connector.replace",
                    "connector",
                    old_id,
                    {"new_id": new.id, "projects": moved, "fingerprint": new.fingerprint},
                )
                old = dataclasses.replace(
                    request.connector, deleted=True, projects=(), project_count=0
                )
                return ReplaceResult(old, connector_info(new, names), tuple(names))
        except IntegrityError:
            with self.db.read() as s:  # a concurrent create or replace took the name?
                holder = ConnectorRepo(s).get_live_by_name(name)
                taken = holder is not None and holder.id != old_id
            if taken:
                raise _name_taken(name) from None
            raise


_NOT_IN_NAMES = re.compile(r"[^A-Za-z0-9._-]+")


def _project_name(connector: str, target: DiscoveredTarget, taken: set[str]) -> str:
    """A free project name for a discovered account: ``<connector>-<account name>``, else
    with the account id, else numbered."""

    def fit(*parts: str) -> str:
        text = "-".join(_NOT_IN_NAMES.sub("-", p).strip("-._ ") for p in parts if p)
        return text[:63].rstrip("-._ ") or target.target_id[:63]

    for candidate in (fit(connector, target.name), fit(connector, target.target_id)):
        if candidate not in taken and NAME_RE.match(candidate):
            return candidate
    base = fit(connector, target.target_id)[:56]
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


_REJECTED = CloudError(
    ErrorCategory.UNKNOWN,
    "Rejected",
    "The cloud rejected the credentials.",
    "Check the credentials and try again.",
)


def _redacted(error: CloudError, secrets: Sequence[str]) -> CloudError:
    """`error` with the connector's own secret values removed from its texts."""
    return dataclasses.replace(
        error,
        code=redact_one_line(error.code, secrets, limit=120),
        message=redact_one_line(error.message, secrets, limit=500),
        remediation=redact_one_line(error.remediation, secrets, limit=500),
        detail="",
    )
