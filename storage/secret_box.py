"""Encryption at rest for platform tokens: `cryptography`'s MultiFernet under HERALD_SECRET_KEY.

The setting holds one or more Fernet keys, comma-separated: the first encrypts, every one
decrypts, so a new key is put first, `herald secrets rotate` re-encrypts, then the old key
is dropped. Errors name the setting and the key's position, never the key.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from engine.errors import InvalidInput, StorageError

NO_KEY = (
    "HERALD_SECRET_KEY is not set: Herald refuses to store platform tokens unencrypted. "
    "Create a key with `herald secrets generate-key` and set HERALD_SECRET_KEY"
)


def generate_key() -> str:
    """A new random Fernet key (32 bytes, URL-safe base64)."""
    return Fernet.generate_key().decode("ascii")


class FernetSecretBox:
    """Encrypts and decrypts short secrets with a list of Fernet keys (first one encrypts)."""

    def __init__(self, keys: str | None) -> None:
        parts = [k.strip() for k in (keys or "").split(",") if k.strip()]
        fernets: list[Fernet] = []
        for position, key in enumerate(parts, start=1):
            try:
                fernets.append(Fernet(key.encode("ascii")))
            except (ValueError, UnicodeEncodeError):
                raise InvalidInput(
                    f"HERALD_SECRET_KEY: key {position} of {len(parts)} is not a Fernet key "
                    "(32 bytes, URL-safe base64; `herald secrets generate-key` makes one)"
                ) from None
        self._fernet = MultiFernet(fernets) if fernets else None
        self.key_count = len(fernets)

    @property
    def configured(self) -> bool:
        """Whether a key is set (without one nothing secret can be stored)."""
        return self._fernet is not None

    def encrypt(self, secret: str) -> str:
        """Ciphertext for `secret`. Raises InvalidInput when no key is configured."""
        if self._fernet is None:
            raise InvalidInput(NO_KEY)
        return self._fernet.encrypt(secret.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        """The secret inside `token`. Raises StorageError when no key opens it."""
        if self._fernet is None:
            raise StorageError(
                "HERALD_SECRET_KEY is not set, so stored platform tokens cannot be read"
            )
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise StorageError(
                "a stored platform token does not open with any HERALD_SECRET_KEY key "
                "(was a key removed before `herald secrets rotate` ran?)"
            ) from None

    def rotate(self, token: str) -> str:
        """`token` re-encrypted under the first key (a no-op for data already under it)."""
        if self._fernet is None:
            raise InvalidInput(NO_KEY)
        try:
            return self._fernet.rotate(token.encode("ascii")).decode("ascii")
        except InvalidToken:
            raise StorageError(
                "a stored platform token does not open with any HERALD_SECRET_KEY key"
            ) from None
