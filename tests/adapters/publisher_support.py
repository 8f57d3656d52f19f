"""Test support for the platform publishers: an in-memory TokenRefresher and MediaStore.

`MemoryTokenRefresher` keeps credentials per account and refreshes them through Herald's own
OAuth client for the platform (pointed at the fake's token endpoint; rotation honoured) when
forced or about to expire; an API-key service's "refresh" hands out the next key queued with
`queue_key`; with `grant` (a media platform fake's), `mint` connects an account with a token
made here and told to the fake, and a refresh mints the next one. `stale(account)` makes the
current token unknown to the API (expired early); an account in `revoked` cannot refresh.
`MemoryMediaStore` serves bytes in chunks, counting the largest chunk it handed out.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from engine.adapters.oauth2_client import OAuth2Client
from engine.credentials import Credentials
from engine.errors import AuthExpired, NotFound
from engine.media import MediaAsset, MediaKind


class MemoryTokenRefresher:
    """TokenRefresher over a dict (see module docstring)."""

    def __init__(
        self,
        oauth: OAuth2Client | None = None,
        *,
        grant: Callable[[str, str], None] | None = None,
        publisher: str = "",
    ) -> None:
        self.oauth = oauth
        self.grant = grant  # (token, platform user id): the fake API accepts the token
        self.publisher = publisher
        self.stored: dict[str, Credentials] = {}
        self.next_keys: dict[str, list[str]] = {}
        self.revoked: set[str] = set()
        self.refreshes = 0
        self._ids = itertools.count(1)

    def connect(
        self,
        account_id: str,
        publisher: str,
        user_id: str,
        tokens: dict[str, object] | str,
        *,
        handle: str = "",
    ) -> Credentials:
        """Store credentials from a token endpoint answer (or a bare API key)."""
        if isinstance(tokens, str):
            tokens = {"access_token": tokens}
        expires_in = tokens.get("expires_in")
        credentials = Credentials(
            account_id=account_id,
            publisher=publisher,
            platform_user_id=user_id,
            access_token=str(tokens["access_token"]),
            refresh_token=str(tokens["refresh_token"]) if tokens.get("refresh_token") else None,
            expires_at=(
                datetime.now(UTC) + timedelta(seconds=int(str(expires_in))) if expires_in else None
            ),
            handle=handle,
        )
        self.stored[account_id] = credentials
        return credentials

    def mint(self, account_id: str, platform_user_id: str) -> Credentials:
        """Connect `account_id` with a token made here and granted in the fake API."""
        blank = Credentials(
            account_id=account_id,
            publisher=self.publisher,
            platform_user_id=platform_user_id,
            access_token="",
        )
        self.stored[account_id] = self._minted(blank)
        return self.stored[account_id]

    def stale(self, account_id: str) -> None:
        """The current token is no longer known to the API (as if it expired early)."""
        self.stored[account_id] = replace(
            self.stored[account_id], access_token=f"stale-{account_id}"
        )

    def queue_key(self, account_id: str, key: str) -> None:
        self.next_keys.setdefault(account_id, []).append(key)

    async def credentials(
        self, account_id: str, *, force_refresh: bool = False, rejected_token: str | None = None
    ) -> Credentials:
        current = self.stored.get(account_id)
        if current is None:
            raise AuthExpired(f"{account_id} is not connected")
        due = current.expires_within(datetime.now(UTC), timedelta(minutes=5))
        if not (force_refresh or due):
            return current
        if account_id in self.revoked:
            raise AuthExpired(f"refresh refused for {account_id}: reconnect it")
        self.refreshes += 1
        if self.next_keys.get(account_id):
            fresh = replace(current, access_token=self.next_keys[account_id].pop(0))
        elif self.grant is not None:
            fresh = self._minted(current)
        elif self.oauth is not None and current.refresh_token:
            fresh = await self._refresh(current)
        else:
            return current  # nothing to refresh with: a second 401 means it is dead
        self.stored[account_id] = fresh
        return fresh

    def _minted(self, current: Credentials) -> Credentials:
        assert self.grant is not None
        token = f"tok-{current.account_id}-{next(self._ids)}"
        self.grant(token, current.platform_user_id)
        return replace(current, access_token=token)

    async def _refresh(self, current: Credentials) -> Credentials:
        assert self.oauth is not None
        tokens = await self.oauth.refresh(current)
        return replace(
            current,
            access_token=tokens.access_token,
            refresh_token=tokens.refresh_token or current.refresh_token,
            expires_at=tokens.expires_at,
        )


class MemoryMediaStore:
    """MediaStore over a dict of bytes (see module docstring)."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[MediaAsset, bytes]] = {}
        self.largest_chunk = 0

    def add(self, media_id: str, data: bytes, *, kind: MediaKind, mime_type: str) -> MediaAsset:
        asset = MediaAsset(
            id=media_id,
            kind=kind,
            mime_type=mime_type,
            size_bytes=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            filename=f"{media_id}.bin",
        )
        self.files[media_id] = (asset, data)
        return asset

    async def get(self, media_id: str) -> MediaAsset:
        if media_id not in self.files:
            raise NotFound(media_id)
        return self.files[media_id][0]

    async def chunks(
        self, media_id: str, *, chunk_size: int, start: int = 0
    ) -> AsyncIterator[bytes]:
        data = self.files[media_id][1]
        for offset in range(start, len(data), chunk_size):
            chunk = data[offset : offset + chunk_size]
            self.largest_chunk = max(self.largest_chunk, len(chunk))
            yield chunk

    def signed_url(self, media_id: str, *, ttl_seconds: int) -> str | None:
        return None
