"""The encryption key and the database: which key a process may use, rotation, reset.

The database stores a key check value (`storage.models.KeyCheck`): a Fernet token of a known
constant made with the key that encrypts, and that key's id. At start the configured key must
decrypt it, or the process is refused with what to do. A key is generated only by commands
that store secrets, and only while the database holds neither encrypted connectors nor a
check value: a lost key is never silently replaced by one that cannot decrypt them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from cryptography.fernet import InvalidToken
from sqlalchemy import make_url

from bot.domain import CloudError, ErrorCategory
from bot.secretbox import (
    ENV_NAME,
    KeySource,
    SecretBox,
    SecretBoxError,
    create_key_file,
    load_box,
)
from bot.settings import Settings, reveal
from storage.db import Database
from storage.repositories import AuditRepo, ConnectorRepo
from storage.repositories.keys import KeyCheckRepo

log = logging.getLogger(__name__)

RESET_COMMAND = "cspm-bot key reset --yes"
ROTATE_COMMAND = "cspm-bot key rotate"


KEY_RESET_ERROR = CloudError(
    category=ErrorCategory.INVALID_CREDENTIALS,
    code="EncryptionKeyReset",
    message="Its saved credentials were deleted when the encryption key was reset.",
    remediation="Replace the connector with working credentials.",
)
"""What a connector whose secret `key reset` destroyed shows as its last validation."""


class KeyUse(StrEnum):
    """What a process does with the key."""

    NONE = "none"
    """Never reads nor creates it (read-only commands)."""
    LOAD = "load"
    """Uses the configured key, checked against the database; never creates one."""
    CREATE = "create"
    """As LOAD, and generates the key file while the database holds no secret (commands
    that store secrets, and the service)."""


def database_label(url: str) -> str:
    """The database URL with its password masked, as messages show it."""
    return make_url(url).render_as_string(hide_password=True)


@dataclass(frozen=True)
class KeyState:
    """What the database says about its key, read at start."""

    check_token: bytes | None
    check_key_id: str | None
    connector_secret: bytes | None
    encrypted: int


def read_key_state(db: Database) -> KeyState:
    with db.read() as session:
        keys = KeyCheckRepo(session)
        check = keys.get()
        return KeyState(
            check_token=check.token if check else None,
            check_key_id=check.key_id if check else None,
            connector_secret=ConnectorRepo(session).any_ciphertext(),
            encrypted=keys.count_encrypted(),
        )


def _what_it_holds(stored: KeyState) -> str:
    parts = []
    if stored.encrypted:
        parts.append(
            f"{stored.encrypted} encrypted connector{'' if stored.encrypted == 1 else 's'}"
        )
    if stored.check_key_id:
        parts.append(f"a key check value written with key id {stored.check_key_id}")
    return " and ".join(parts)


def _what_to_do(source: KeySource) -> str:
    restore = (
        "Restore the key file from your backup (or set CSPM_ENCRYPTION_KEY to that key)"
        if source.key_file is not None
        else "Set CSPM_ENCRYPTION_KEY to the key from your backup (when rotating, list the "
        f"new key first and the old one after it, then run `{ROTATE_COMMAND}`)"
    )
    return (
        f"{restore}. Or start over without the saved connectors: `{RESET_COMMAND}` deletes "
        "their credentials and sets up a new key; then replace each connector "
        "(`cspm-bot connector replace NAME`) and its projects follow."
    )


def missing_key_error(settings: Settings, stored: KeyState) -> SecretBoxError:
    """The refusal for a key file that does not exist while the database holds secrets."""
    path = settings.resolved_key_file.resolve()
    return SecretBoxError(
        f"The key file {path} is missing, but the database {database_label(settings.database_url)}"
        f" holds {_what_it_holds(stored)}. No new key was generated: it could not decrypt "
        f"them. {_what_to_do(KeySource(path))}"
    )


def wrong_key_error(settings: Settings, box: SecretBox, stored: KeyState) -> SecretBoxError:
    """The refusal for a key that is not the one the database was set up with."""
    source = box.source
    ids = ", ".join(box.key_ids)
    label = source.label[:1].upper() + source.label[1:]
    return SecretBoxError(
        f"{label} (key id {ids}) is not the key the database "
        f"{database_label(settings.database_url)} was set up with: it cannot decrypt "
        f"what it holds ({_what_it_holds(stored)}). {_what_to_do(source)}"
    )


def open_box(settings: Settings, db: Database, use: KeyUse) -> SecretBox:
    """The key this process may use, checked against the database's key check value.

    Refuses (`SecretBoxError` naming the key file or the variable, the database and what to
    do) a missing, empty, malformed or wrong key. A database with encrypted connectors but no
    check value (written before there was one) gets it here once a connector decrypts.
    """
    if use is KeyUse.NONE:
        return SecretBox.locked("This command runs without the encryption key.")
    box = load_box(reveal(settings.encryption_key) or None, settings.resolved_key_file)
    stored = read_key_state(db)
    holds_secrets = stored.check_token is not None or stored.connector_secret is not None
    if box is None:
        if holds_secrets:
            raise missing_key_error(settings, stored)
        if use is KeyUse.LOAD:
            return SecretBox.locked(
                f"There is no encryption key yet ({settings.resolved_key_file.resolve()} does "
                "not exist): it is created by the first `cspm-bot connector add`.",
                KeySource(settings.resolved_key_file.resolve()),
            )
        box = create_key_file(settings.resolved_key_file)
    if stored.check_token is not None:
        if not box.opens(stored.check_token):
            raise wrong_key_error(settings, box, stored)
        return box
    if stored.connector_secret is not None and not box.opens(stored.connector_secret):
        raise wrong_key_error(settings, box, stored)
    with db.unit_of_work() as session:
        winner = KeyCheckRepo(session).add_if_absent(box.check_token(), box.primary_key_id)
        winner_token, winner_key_id = winner.token, winner.key_id
    if not box.opens(winner_token):  # another process set the database up with its key
        raise wrong_key_error(
            settings, box, KeyState(winner_token, winner_key_id, None, stored.encrypted)
        )
    log.log(  # news only for a database that had connectors before it had a check value
        logging.INFO if stored.connector_secret is not None else logging.DEBUG,
        "key check value written to the database (key id %s)",
        box.primary_key_id,
    )
    return box


@dataclass(frozen=True)
class RotateResult:
    """What `key rotate` did."""

    connectors: int
    key_id: str
    retired_key_ids: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class ResetResult:
    """What `key reset` did."""

    emptied_connectors: tuple[str, ...]
    """Connectors whose credentials were destroyed (they stay, to be replaced)."""
    key_id: str
    previous_key_id: str | None
    source: str
    set_aside: str | None
    """Where a key file that could not be used was moved (None when none was)."""


class KeyService:
    """Key rotation and reset; each is one transaction, recorded in the audit log."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings

    def rotate(self, box: SecretBox, actor: str) -> RotateResult:
        """Re-encrypt every stored connector secret and the key check value with the first
        key of `box` (checked at start), in one transaction: the other keys can then be
        removed."""
        with self.db.unit_of_work() as session:
            keys = KeyCheckRepo(session)
            try:
                count = keys.reencrypt(box.rotate)
            except InvalidToken:
                raise SecretBoxError(
                    f"A stored connector cannot be decrypted with any key of "
                    f"{box.source.label}; nothing was re-encrypted. Add the key it was saved "
                    "with (after the first) and run the rotation again."
                ) from None
            keys.put(box.check_token(), box.primary_key_id)
            retired = tuple(box.key_ids[1:])
            AuditRepo(session).record(
                actor,
                "key.rotate",
                "key",
                box.primary_key_id,
                {"connectors": count, "retired_key_ids": list(retired)},
            )
        return RotateResult(count, box.primary_key_id, retired, box.source.label)

    def reset(self, actor: str) -> ResetResult:
        """Start over: destroy every stored connector secret (the connectors stay, failing
        validation, so that replacing them repoints their projects) and write a new key
        check value for the configured key. Without a usable key file a new one is generated
        (one that does not fit is moved aside, never deleted); `CSPM_ENCRYPTION_KEY`, when
        set, is used as it is."""
        settings = self.settings
        stored = read_key_state(self.db)
        env = reveal(settings.encryption_key) or None
        set_aside: Path | None = None
        if env:
            box = load_box(env, settings.resolved_key_file)
            assert box is not None
        else:
            path = settings.resolved_key_file.resolve()
            try:
                found = load_box(None, path)
            except SecretBoxError:
                found = None
            if found is not None and self._fits(found, stored):
                box = found
            else:
                if path.exists():
                    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
                    set_aside = path.with_name(f"{path.name}.replaced-{stamp}")
                    path.rename(set_aside)
                box = create_key_file(path)
        with self.db.unit_of_work() as session:
            deleted = KeyCheckRepo(session).destroy_secrets(datetime.now(UTC), KEY_RESET_ERROR)
            KeyCheckRepo(session).put(box.check_token(), box.primary_key_id)
            AuditRepo(session).record(
                actor,
                "key.reset",
                "key",
                box.primary_key_id,
                {
                    "emptied_connectors": deleted,
                    "previous_key_id": stored.check_key_id,
                    "key_source": ENV_NAME if env else "key file",
                },
            )
        return ResetResult(
            tuple(deleted),
            box.primary_key_id,
            stored.check_key_id,
            box.source.label,
            str(set_aside) if set_aside else None,
        )

    @staticmethod
    def _fits(box: SecretBox, stored: KeyState) -> bool:
        if stored.check_token is not None:
            return box.opens(stored.check_token)
        return stored.connector_secret is None or box.opens(stored.connector_secret)
