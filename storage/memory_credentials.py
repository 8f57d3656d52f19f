"""`MemoryCredentialStore` and `MemoryOAuthStateStore`: the OAuth ports in memory, for tests.

They behave as the SQL ones do (tokens encrypted with the same box, refused without a key,
one lease holder, single-use states); account and audit writes go through the memory
repository's unit of work when one is given.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from engine.credentials import ConnectionInfo, Credentials, PendingAuthorization
from engine.errors import InvalidInput
from engine.models import Account, AccountState, Event
from storage.credential_store import needs_reconnecting, not_connected
from storage.secret_box import NO_KEY, FernetSecretBox


@dataclass
class _Stored:
    sealed: Credentials  # tokens replaced by their ciphertext
    needs_reauth: bool = False
    holder: str | None = None
    lease_until: datetime | None = None


class MemoryCredentialStore:
    """The CredentialStore port in memory (with `repository`: a MemoryRepository)."""

    def __init__(self, box: FernetSecretBox, *, repository: Any = None) -> None:
        self.box = box
        self._repository = repository
        self._rows: dict[str, _Stored] = {}
        self._lock = asyncio.Lock()

    def _seal(self, credentials: Credentials) -> Credentials:
        box = self.box
        return replace(
            credentials,
            access_token=box.encrypt(credentials.access_token),
            refresh_token=None
            if credentials.refresh_token is None
            else box.encrypt(credentials.refresh_token),
            token_secret=None
            if credentials.token_secret is None
            else box.encrypt(credentials.token_secret),
        )

    def _open(self, sealed: Credentials) -> Credentials:
        box = self.box
        return replace(
            sealed,
            access_token=box.decrypt(sealed.access_token),
            refresh_token=None
            if sealed.refresh_token is None
            else box.decrypt(sealed.refresh_token),
            token_secret=None if sealed.token_secret is None else box.decrypt(sealed.token_secret),
        )

    async def get(self, account_id: str) -> Credentials:
        """Raises AuthExpired (not connected, needs reconnecting)."""
        stored = self._rows.get(account_id)
        if stored is None:
            raise not_connected(account_id)
        if stored.needs_reauth:
            raise needs_reconnecting(account_id)
        return self._open(stored.sealed)

    async def save(self, credentials: Credentials) -> None:
        """Store new or rotated credentials. Raises InvalidInput without a key."""
        sealed = self._seal(credentials)
        async with self._lock:
            self._put(sealed)

    def _put(self, sealed: Credentials) -> None:
        old = self._rows.get(sealed.account_id)
        self._rows[sealed.account_id] = _Stored(
            sealed, holder=old.holder if old else None, lease_until=old.lease_until if old else None
        )

    async def connect(self, credentials: Credentials, account: Account, event: Event) -> None:
        """Credentials, account and event together."""
        sealed = self._seal(credentials)
        if self._repository is not None:
            async with self._repository.unit_of_work() as uow:
                await uow.upsert_accounts([account])
                await uow.append_event(event)
        async with self._lock:
            self._put(sealed)

    async def delete(self, account_id: str) -> None:
        """Forget the account's tokens."""
        self._rows.pop(account_id, None)

    async def disconnect(self, account_id: str, event: Event) -> bool:
        """Forget the tokens, clear the account's publisher, append `event`."""
        if self._rows.pop(account_id, None) is None:
            return False
        if self._repository is not None:
            async with self._repository.unit_of_work() as uow:
                for account in await uow.get_accounts([account_id]):
                    await uow.save_account(replace(account, publisher=""))
                await uow.append_event(event)
        return True

    async def list_connections(self) -> list[ConnectionInfo]:
        """Every stored connection, without secrets."""
        return [
            ConnectionInfo(
                account_id=key,
                publisher=s.sealed.publisher,
                handle=s.sealed.handle,
                connected=not s.needs_reauth,
                expires_at=s.sealed.expires_at,
                needs_reauth=s.needs_reauth,
                platform_user_id=s.sealed.platform_user_id,
            )
            for key, s in sorted(self._rows.items())
        ]

    async def acquire_refresh(
        self, account_id: str, holder: str, *, now: datetime, lease: timedelta
    ) -> bool:
        """Take the lease if it is free, expired or already `holder`'s."""
        async with self._lock:
            stored = self._rows.get(account_id)
            if stored is None:
                raise not_connected(account_id)
            free = stored.lease_until is None or stored.lease_until <= now
            if not free and stored.holder != holder:
                return False
            stored.holder, stored.lease_until = holder, now + lease
            return True

    async def finish_refresh(self, credentials: Credentials, holder: str) -> None:
        """New tokens saved and the lease released at once."""
        sealed = self._seal(credentials)
        async with self._lock:
            self._rows[credentials.account_id] = _Stored(sealed)

    async def release_refresh(self, account_id: str, holder: str) -> None:
        """Give the lease back if `holder` has it."""
        async with self._lock:
            stored = self._rows.get(account_id)
            if stored is not None and stored.holder == holder:
                stored.holder, stored.lease_until = None, None

    async def mark_needs_reauth(self, account_id: str, event: Event) -> bool:
        """Mark the tokens dead and the account NEEDS_AUTH with `event`, once."""
        async with self._lock:
            stored = self._rows.get(account_id)
            marked = stored is not None and not stored.needs_reauth
            if stored is not None:
                stored.needs_reauth, stored.holder, stored.lease_until = True, None, None
        moved = False
        if self._repository is not None:
            async with self._repository.unit_of_work() as uow:
                for account in await uow.get_accounts([account_id]):
                    if account.state != AccountState.NEEDS_AUTH:
                        await uow.save_account(replace(account, state=AccountState.NEEDS_AUTH))
                        moved = True
                if marked or moved:
                    await uow.append_event(event)
        return marked or moved


def state_hash(state: str) -> str:
    """The key a state is stored under (its SHA-256): a leaked table completes no sign-in."""
    return hashlib.sha256(state.encode("utf-8")).hexdigest()


class MemoryOAuthStateStore:
    """The OAuthStateStore port in memory: single-use states (the verifier kept encrypted)."""

    def __init__(self, box: FernetSecretBox) -> None:
        self.box = box
        self._states: dict[str, PendingAuthorization] = {}

    async def put(self, pending: PendingAuthorization) -> None:
        """Remember a state; drop ones expired more than a day ago."""
        if not self.box.configured:
            raise InvalidInput(NO_KEY)  # the sign-in could not store its tokens anyway
        verifier = pending.code_verifier
        sealed = replace(
            pending, code_verifier=None if verifier is None else self.box.encrypt(verifier)
        )
        cutoff = pending.created_at - timedelta(days=1)
        for key in [k for k, p in self._states.items() if p.expires_at < cutoff]:
            del self._states[key]
        self._states[state_hash(pending.state)] = sealed

    async def authorize_url(self, state: str, *, now: datetime) -> str | None:
        """The consent URL of a pending, unexpired state, or None."""
        pending = self._states.get(state_hash(state))
        if pending is None or pending.expires_at <= now:
            return None
        return pending.authorize_url

    async def take(self, state: str, *, now: datetime) -> PendingAuthorization | None:
        """The state, once; None when unknown or already used."""
        sealed = self._states.pop(state_hash(state), None)
        if sealed is None:
            return None
        verifier = sealed.code_verifier
        return replace(
            sealed, code_verifier=None if verifier is None else self.box.decrypt(verifier)
        )
