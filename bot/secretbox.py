"""Encryption of connector credentials at rest (Fernet: AES-128-CBC + HMAC-SHA256).

The key comes from `CSPM_ENCRYPTION_KEY`, or from a 0600 key file beside the database that is
generated on first start (the log says where). Several comma-separated keys may be given to
rotate: the first encrypts, all decrypt.

A key is never generated while the database holds encrypted connectors, and a key that cannot
decrypt them is refused at start with what to do, instead of failing every scan later.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from bot.errors import CspmError

log = logging.getLogger(__name__)


class SecretBoxError(CspmError):
    """The key is missing, malformed, or does not decrypt the stored secret."""


class SecretBox:
    """Encrypts and decrypts JSON-serialisable credential dicts."""

    def __init__(self, keys: list[bytes], source: str = "CSPM_ENCRYPTION_KEY") -> None:
        if not keys:
            raise SecretBoxError(f"{source} is empty: it holds no encryption key.")
        try:
            self._fernet = MultiFernet([Fernet(k) for k in keys])
        except (ValueError, TypeError) as exc:
            raise SecretBoxError(
                f"{source} is not a valid Fernet key (32 url-safe base64 bytes); "
                "generate one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'"
            ) from exc

    @classmethod
    def from_settings(
        cls,
        encryption_key: str | None,
        key_file: Path,
        stored: bytes | None = None,
        database: str = "the database",
    ) -> SecretBox:
        """Use the configured key(s), else the key file (created 0600 on first use).

        `stored` is one connector's ciphertext from `database` (None when it holds none): the
        key must decrypt it, and no key file is generated while it exists.
        """
        if encryption_key:
            keys = [k.strip().encode() for k in encryption_key.split(",") if k.strip()]
            box = cls(keys)
            box._check(stored, "CSPM_ENCRYPTION_KEY", database)
            return box
        if not key_file.exists() and stored is not None:
            raise SecretBoxError(
                f"The key file {key_file.resolve()} is missing, but {database} holds "
                "connectors encrypted with it. Restore the key file from your backup (or set "
                "CSPM_ENCRYPTION_KEY to that key). No new key was generated: it could not "
                "decrypt the saved connectors."
            )
        if not key_file.exists():
            key_file.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(Fernet.generate_key())
            log.warning(
                "Generated a new credentials encryption key at %s (mode 0600). Back it up: "
                "without it saved connectors cannot be used. Set CSPM_ENCRYPTION_KEY to manage "
                "the key yourself.",
                key_file.resolve(),
            )
        content = key_file.read_bytes().strip()
        if not content:
            raise SecretBoxError(
                f"The key file {key_file.resolve()} is empty. Restore it from your backup."
            )
        box = cls([content], source=f"The key file {key_file.resolve()}")
        box._check(stored, f"The key file {key_file.resolve()}", database)
        return box

    def _check(self, stored: bytes | None, source: str, database: str) -> None:
        """Refuse a key that cannot decrypt the connectors already stored."""
        if stored is None:
            return
        try:
            self._fernet.decrypt(stored)
        except InvalidToken:
            raise SecretBoxError(
                f"{source} does not decrypt the connectors stored in {database}: it is not "
                "the key they were saved with. Restore the original key from your backup "
                "(for CSPM_ENCRYPTION_KEY, list it after the new one to rotate)."
            ) from None

    def encrypt(self, data: dict[str, Any]) -> bytes:
        """Encrypt a credentials dict."""
        return self._fernet.encrypt(json.dumps(data, separators=(",", ":")).encode())

    def decrypt(self, token: bytes) -> dict[str, Any]:
        """Decrypt what `encrypt` produced; a wrong key gives a clear error."""
        try:
            result: dict[str, Any] = json.loads(self._fernet.decrypt(token))
        except InvalidToken as exc:
            raise SecretBoxError(
                "Stored credentials cannot be decrypted with the configured key: "
                "was CSPM_ENCRYPTION_KEY or the key file changed?"
            ) from exc
        return result
