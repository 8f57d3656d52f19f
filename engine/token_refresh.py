"""`LeasedTokenRefresher` (the TokenRefresher port): tokens refreshed ahead of expiry, once per
account across replicas (a store lease), rotation saved before use; a refusal for good marks
the account NEEDS_AUTH once, a 5xx/429/network failure stays temporary.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Mapping
from dataclasses import replace
from datetime import timedelta

from engine.credentials import Credentials, TokenSet
from engine.errors import AuthExpired, NetworkError
from engine.models import SYSTEM, Event, new_event_id
from engine.ports import Clock, CredentialStore, Notifier, OAuthClient

NEEDS_AUTH_EVENT = "account.needs_auth"


class LeasedTokenRefresher:
    """Hands publishers credentials whose access token is valid now."""

    def __init__(
        self,
        store: CredentialStore,
        clients: Mapping[str, OAuthClient],
        clock: Clock,
        notifier: Notifier,
        *,
        worker_id: str = "herald",
        margin: timedelta = timedelta(minutes=5),
        margins: Mapping[str, timedelta] | None = None,
        lease: timedelta = timedelta(seconds=60),
        poll_seconds: float = 0.2,
    ) -> None:
        self._store = store
        self._clients = dict(clients)
        self._clock = clock
        self._notifier = notifier
        self._worker_id = worker_id
        self.margin = margin
        # Per publisher: Instagram's 60-day tokens are refreshed a week early.
        self._margins = dict(margins or {})
        self.lease = lease
        self._poll = poll_seconds
        # Tasks of this process queue here first, so only one of them asks the database.
        self._local: dict[str, asyncio.Lock] = {}

    async def credentials(
        self, account_id: str, *, force_refresh: bool = False, rejected_token: str | None = None
    ) -> Credentials:
        """Credentials valid now. Raises AuthExpired, NetworkError, RateLimited, StorageError.

        With `rejected_token` (the access token the platform refused), a stored token that
        differs from it was renewed by someone else meanwhile and is used as it is.
        """
        current = await self._store.get(account_id)
        renewed = rejected_token is not None and current.access_token != rejected_token
        if renewed and not self._expiring(current):
            return current
        if not force_refresh and not self._expiring(current):
            return current
        seen = current if rejected_token is None else replace(current, access_token=rejected_token)
        lock = self._local.setdefault(account_id, asyncio.Lock())
        async with lock:
            return await self._refresh(seen, force_refresh)

    async def _refresh(self, seen: Credentials, force: bool) -> Credentials:
        holder = f"{self._worker_id}:{secrets.token_hex(4)}"
        deadline = self._clock.now() + self.lease
        while not await self._store.acquire_refresh(
            seen.account_id, holder, now=self._clock.now(), lease=self.lease
        ):
            # Another replica is refreshing: wait for its tokens rather than refresh again.
            await self._clock.sleep(self._poll)
            current = await self._store.get(seen.account_id)
            if self._fresh(current, seen):
                return current
            if self._clock.now() >= deadline:
                raise NetworkError(
                    f"account {seen.account_id}: another worker's token refresh is taking "
                    "too long; will try again"
                )
        try:
            # Under the lease: someone may have refreshed between our read and our lease.
            current = await self._store.get(seen.account_id)
            if self._fresh(current, seen) or (not force and not self._expiring(current)):
                await self._store.release_refresh(current.account_id, holder)
                return current
            tokens = await self._call_refresh(current)
        except AuthExpired as exc:
            await self._store.release_refresh(seen.account_id, holder)
            await self.mark_needs_reauth(seen, str(exc))
            raise
        except BaseException:
            await self._store.release_refresh(seen.account_id, holder)
            raise
        refreshed = _apply(current, tokens)
        await self._store.finish_refresh(refreshed, holder)
        return refreshed

    def _expiring(self, credentials: Credentials) -> bool:
        margin = self._margins.get(credentials.publisher, self.margin)
        return credentials.expires_within(self._clock.now(), margin)

    def _fresh(self, current: Credentials, seen: Credentials) -> bool:
        """Whether `current` holds a new access token that is good for a while yet."""
        return current.access_token != seen.access_token and not self._expiring(current)

    async def _call_refresh(self, current: Credentials) -> TokenSet:
        client = self._clients.get(current.publisher)
        name = current.handle or current.account_id
        if current.extra.get("oauth1"):
            raise AuthExpired(f"{name}: the OAuth 1.0a token was refused; reconnect the account")
        if client is None:
            raise AuthExpired(f"{name}: {current.publisher} tokens cannot be refreshed; reconnect")
        now = self._clock.now()
        if current.refresh_expires_at is not None and current.refresh_expires_at <= now:
            raise AuthExpired(f"{name}: the refresh token expired; reconnect the account")
        return await client.refresh(current)

    async def mark_needs_reauth(self, credentials: Credentials, reason: str) -> bool:
        """Mark the account NEEDS_AUTH with one audit event (and one alert), the first time.

        `reason` must be free of secrets (OAuth clients build theirs from error codes).
        """
        event = Event(
            new_event_id(),
            self._clock.now(),
            NEEDS_AUTH_EVENT,
            SYSTEM.id,
            account_id=credentials.account_id,
            data={
                "reason": reason,
                "publisher": credentials.publisher,
                "handle": credentials.handle,
                "cause": "token_refresh_refused",
            },
        )
        if not await self._store.mark_needs_reauth(credentials.account_id, event):
            return False
        await self._notifier.notify(event)
        return True


def _apply(current: Credentials, tokens: TokenSet) -> Credentials:
    """`current` with the refreshed tokens (a refresh token is kept unless a new one came)."""
    return replace(
        current,
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token or current.refresh_token,
        expires_at=tokens.expires_at,
        refresh_expires_at=tokens.refresh_expires_at or current.refresh_expires_at,
        scopes=tokens.scopes or current.scopes,
    )
