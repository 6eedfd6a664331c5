"""Connectors, live ones and tombstones, and the projects that use them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.domain import CloudError
from storage.models import Connector, Project


class ConnectorRepo:
    """Connectors, live ones and tombstones."""

    def __init__(self, session: Session) -> None:
        self.s = session

    def get(self, connector_id: int) -> Connector | None:
        """A connector by id, tombstones included."""
        return self.s.get(Connector, connector_id)

    def get_live_by_name(self, name: str) -> Connector | None:
        """The live connector with this name."""
        return self.s.scalar(
            select(Connector).where(Connector.name == name, Connector.deleted_at.is_(None))
        )

    def list_live(
        self, offset: int = 0, limit: int | None = None, *, failing_only: bool = False
    ) -> Sequence[Connector]:
        """Live connectors by name (one page of them when `limit` is given); with
        `failing_only`, just those whose last validation failed."""
        query = select(Connector).where(*self._live(failing_only)).order_by(Connector.name)
        query = query.offset(offset)
        if limit is not None:
            query = query.limit(limit)
        return self.s.scalars(query).all()

    def count_live(self, *, failing_only: bool = False) -> int:
        """How many live connectors there are (whose last validation failed)."""
        return int(
            self.s.scalar(select(func.count(Connector.id)).where(*self._live(failing_only))) or 0
        )

    def any_ciphertext(self) -> bytes | None:
        """The encrypted credentials of one connector (the newest that has any), or None.

        At start the key is tried on it: a key that cannot decrypt it is the wrong key.
        """
        return self.s.scalar(
            select(Connector.secret_ciphertext)
            .where(Connector.secret_ciphertext.is_not(None))
            .order_by(Connector.id.desc())
            .limit(1)
        )

    @staticmethod
    def _live(failing_only: bool) -> list[Any]:
        conditions: list[Any] = [Connector.deleted_at.is_(None)]
        if failing_only:
            conditions.append(Connector.last_validation_ok.is_(False))
        return conditions

    def providers(self, connector_ids: Iterable[int]) -> dict[int, str]:
        """The provider of each connector (tombstones included)."""
        ids = list(connector_ids)
        if not ids:
            return {}
        rows = self.s.execute(
            select(Connector.id, Connector.provider).where(Connector.id.in_(ids))
        ).all()
        return {int(cid): str(provider) for cid, provider in rows}

    def live_names(self) -> list[str]:
        """Names of live connectors (for "did you mean")."""
        return list(
            self.s.scalars(select(Connector.name).where(Connector.deleted_at.is_(None))).all()
        )

    def project_names_by_connector(
        self, connector_ids: Sequence[int], limit_each: int | None = None
    ) -> dict[int, list[str]]:
        """For each connector id, the names of the projects that use it, by name; only the
        first `limit_each` of each when given (so a page costs the same however many
        projects share a connector)."""
        if limit_each is None:
            query = select(Project.connector_id, Project.name).where(
                Project.connector_id.in_(connector_ids)
            )
        else:
            rank = (
                func.row_number()
                .over(partition_by=Project.connector_id, order_by=Project.name)
                .label("rank")
            )
            ranked = (
                select(Project.connector_id, Project.name, rank)
                .where(Project.connector_id.in_(connector_ids))
                .subquery()
            )
            query = select(ranked.c.connector_id, ranked.c.name).where(ranked.c.rank <= limit_each)
        result: dict[int, list[str]] = {cid: [] for cid in connector_ids}
        for cid, name in self.s.execute(query.order_by("connector_id", "name")).all():
            result[cid].append(name)
        return result

    def project_counts_by_connector(self, connector_ids: Sequence[int]) -> dict[int, int]:
        """For each connector id, how many projects use it."""
        rows = self.s.execute(
            select(Project.connector_id, func.count(Project.id))
            .where(Project.connector_id.in_(connector_ids))
            .group_by(Project.connector_id)
        ).all()
        counts = {cid: 0 for cid in connector_ids}
        counts.update({int(cid): int(n) for cid, n in rows})
        return counts

    def record_validation(
        self,
        c: Connector,
        at: datetime,
        error: CloudError | None,
        *,
        account_id: str | None = None,
        scopes: Sequence[str] | None = None,
    ) -> None:
        """Store a validation's outcome field by field: ok (`error` None, with the account and
        scopes it reached), or the classified error (category, code, message, next step and
        missing permissions)."""
        c.last_validated_at = at
        c.last_validation_ok = error is None
        c.last_validation_category = error.category.value if error else None
        c.last_validation_code = error.code[:120] if error else None
        c.last_validation_message = error.message[:500] if error else None
        c.last_validation_remediation = error.remediation[:500] if error else None
        c.last_validation_missing = list(error.missing_permissions) if error else None
        if error is None:
            c.account_id = account_id or c.account_id
            if scopes is not None:
                c.scopes = list(scopes)

    def tombstone_live(self, connector_id: int, actor: str, at: datetime) -> bool:
        """Tombstone a live connector and destroy its secret; False if it was not live."""
        result = self.s.execute(
            update(Connector)
            .where(Connector.id == connector_id, Connector.deleted_at.is_(None))
            .values(deleted_at=at, deleted_by=actor, secret_ciphertext=None)
            .execution_options(synchronize_session="fetch")
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def set_replaced_by(self, old_id: int, new_id: int) -> None:
        """Record which connector replaced a tombstone."""
        self.s.execute(
            update(Connector).where(Connector.id == old_id).values(replaced_by_id=new_id)
        )

    def add(self, connector: Connector) -> Connector:
        """Stage a new connector and assign its id."""
        self.s.add(connector)
        self.s.flush()
        return connector
