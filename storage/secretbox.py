"""Secrets Herald must use again later (webhook signing secrets), encrypted at rest with
Fernet under `HERALD_SECRET_KEY`; without that key nothing is stored (InvalidInput)."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken

from engine.errors import InvalidInput, StorageError


class SecretBox:
    """Encrypts and decrypts short secrets with one key."""

    def __init__(self, key: str | None) -> None:
        if not key:
            raise InvalidInput(
                "HERALD_SECRET_KEY is not set: webhook secrets must be stored encrypted "
                "(set it to a long random string, e.g. `openssl rand -base64 32`)"
            )
        # Any string works as a key: it is stretched to Fernet's 32 bytes.
        digest = hashlib.sha256(key.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))

    def encrypt(self, secret: str) -> str:
        """The secret as an opaque token (safe to store)."""
        return self._fernet.encrypt(secret.encode()).decode()

    def decrypt(self, token: str) -> str:
        """The secret again; StorageError when the key changed since it was stored."""
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise StorageError(
                "a stored webhook secret cannot be decrypted: HERALD_SECRET_KEY changed"
            ) from None
