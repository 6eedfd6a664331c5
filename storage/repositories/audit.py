"""The audit log: who did what, written with the change it describes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import AuditEvent


class AuditRepo:
    """The audit log."""

    def __init__(self, session: Session) -> None:
        self.s = session

    def record(
        self,
        actor: str,
        action: str,
        target_type: str,
        target_id: object,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Stage one audit event (committed with the mutation it describes)."""
        self.s.add(
            AuditEvent(
                actor=actor,
                action=action,
                target_type=target_type,
                target_id=str(target_id),
                detail=detail or {},
            )
        )

    def recent(self, limit: int = 50) -> Sequence[AuditEvent]:
        """The newest events first."""
        return self.s.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)).all()
