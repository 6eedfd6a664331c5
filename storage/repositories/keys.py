"""The key check value and the connector secrets it vouches for (key checks, rotation, reset)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.domain import CloudError
from storage.models import Connector, KeyCheck, utcnow

CHECK_ROW = 1


class KeyCheckRepo:
    """The single key check row, and the encrypted connector secrets."""

    def __init__(self, session: Session) -> None:
        self.s = session

    def get(self) -> KeyCheck | None:
        """The check value, or None when none was written yet."""
        return self.s.get(KeyCheck, CHECK_ROW)

    def put(self, token: bytes, key_id: str) -> None:
        """Write (or overwrite) the check value."""
        row = self.get()
        if row is None:
            self.s.add(KeyCheck(id=CHECK_ROW, token=token, key_id=key_id, updated_at=utcnow()))
        else:
            row.token, row.key_id, row.updated_at = token, key_id, utcnow()
        self.s.flush()

    def add_if_absent(self, token: bytes, key_id: str) -> KeyCheck:
        """Write the check value unless another process wrote one first; the row that won."""
        try:
            with self.s.begin_nested():
                self.s.add(KeyCheck(id=CHECK_ROW, token=token, key_id=key_id, updated_at=utcnow()))
        except IntegrityError:
            pass
        row = self.get()
        assert row is not None
        return row

    def count_encrypted(self) -> int:
        """How many connectors hold an encrypted secret (live ones; tombstones hold none)."""
        return int(
            self.s.scalar(
                select(func.count(Connector.id)).where(Connector.secret_ciphertext.is_not(None))
            )
            or 0
        )

    def reencrypt(self, transform: Callable[[bytes], bytes]) -> int:
        """Replace every stored secret by `transform(secret)`, locking each row; how many."""
        rows = self.s.execute(
            select(Connector.id, Connector.secret_ciphertext)
            .where(Connector.secret_ciphertext.is_not(None))
            .order_by(Connector.id)
            .with_for_update()
        ).all()
        for connector_id, ciphertext in rows:
            if ciphertext is None:
                continue
            self.s.execute(
                update(Connector)
                .where(Connector.id == connector_id)
                .values(secret_ciphertext=transform(ciphertext))
            )
        return len(rows)

    def destroy_secrets(self, at: datetime, error: CloudError) -> list[str]:
        """Destroy every stored connector secret; the connectors stay, marked as failing
        validation with `error`, so their projects can be repointed by a replacement.
        Returns their names."""
        names = list(
            self.s.scalars(
                select(Connector.name)
                .where(Connector.secret_ciphertext.is_not(None))
                .order_by(Connector.name)
            ).all()
        )
        self.s.execute(
            update(Connector)
            .where(Connector.secret_ciphertext.is_not(None))
            .values(
                secret_ciphertext=None,
                last_validated_at=at,
                last_validation_ok=False,
                last_validation_category=error.category.value,
                last_validation_code=error.code[:120],
                last_validation_message=error.message[:500],
                last_validation_remediation=error.remediation[:500],
                last_validation_missing=[],
            )
            .execution_options(synchronize_session=False)
        )
        return names
