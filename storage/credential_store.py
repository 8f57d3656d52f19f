"""`SQLAlchemyCredentialStore`: connected accounts' tokens in the `credentials` table, encrypted.

Token columns hold Fernet ciphertext (`storage.secret_box`); the refresh lease is one
atomic `UPDATE ... WHERE lease is free`, so across replicas one worker refreshes an account
at a time. Writes that also touch accounts and the audit log run in one transaction.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy import text as sql_text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from engine.clock import SystemClock
from engine.credentials import ConnectionInfo, Credentials
from engine.errors import AuthExpired
from engine.models import Account, AccountState, Event
from engine.ports import Clock
from storage import tables as t
from storage.codec import to_utc
from storage.database import create_engine, create_sessionmaker, safe_url
from storage.secret_box import FernetSecretBox
from storage.sqlalchemy_repository import (
    UNIT_OF_WORK_LOCK,
    SQLAlchemyUnitOfWork,
    translate_errors,
)


def not_connected(account_id: str) -> AuthExpired:
    """The error for an account without stored tokens."""
    return AuthExpired(
        f"account {account_id} is not connected (`/herald accounts connect <platform>`)"
    )


def needs_reconnecting(account_id: str) -> AuthExpired:
    """The error for an account whose tokens were refused for good."""
    return AuthExpired(f"account {account_id} needs reconnecting (its token was refused)")


class SQLAlchemyCredentialStore:
    """The CredentialStore port on Herald's SQL database."""

    def __init__(
        self,
        url_or_engine: str | URL | AsyncEngine,
        box: FernetSecretBox,
        *,
        clock: Clock | None = None,
    ) -> None:
        if isinstance(url_or_engine, AsyncEngine):
            self.engine = url_or_engine
            self._owns_engine = False
        else:
            self.engine = create_engine(url_or_engine)
            self._owns_engine = True
        self.box = box
        self._clock: Clock = clock or SystemClock()
        self._url = safe_url(self.engine.url)
        self._sessions = create_sessionmaker(self.engine)
        self._postgres = self.engine.dialect.name == "postgresql"

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncSession]:
        with translate_errors(self._url):
            async with self._sessions() as session, session.begin():
                if self._postgres:
                    # Serialised with the repository's units of work (accounts, audit log).
                    await session.execute(
                        sql_text("SELECT pg_advisory_xact_lock(:key)"), {"key": UNIT_OF_WORK_LOCK}
                    )
                yield session

    # --- reading
    async def get(self, account_id: str) -> Credentials:
        """Raises AuthExpired (not connected, needs reconnecting), StorageError."""
        c = t.credentials
        with translate_errors(self._url):
            async with self._sessions() as session, session.begin():
                rows = (
                    (await session.execute(select(c).where(c.c.account_id == account_id)))
                    .mappings()
                    .all()
                )
        if not rows:
            raise not_connected(account_id)
        if rows[0]["needs_reauth"]:
            raise needs_reconnecting(account_id)
        return self._credentials(rows[0])

    async def list_connections(self) -> list[ConnectionInfo]:
        """Every stored connection, without secrets, by account id."""
        c = t.credentials
        query = select(
            c.c.account_id,
            c.c.publisher,
            c.c.handle,
            c.c.expires_at,
            c.c.needs_reauth,
            c.c.platform_user_id,
        ).order_by(c.c.account_id)
        with translate_errors(self._url):
            async with self._sessions() as session, session.begin():
                rows = (await session.execute(query)).mappings().all()
        return [
            ConnectionInfo(
                account_id=r["account_id"],
                publisher=r["publisher"],
                handle=r["handle"],
                connected=not r["needs_reauth"],
                expires_at=r["expires_at"],
                needs_reauth=bool(r["needs_reauth"]),
                platform_user_id=r["platform_user_id"],
            )
            for r in rows
        ]

    # --- writing
    async def save(self, credentials: Credentials) -> None:
        """Store (encrypting) new or rotated credentials. Raises InvalidInput without a key."""
        row = self._row(credentials)
        async with self._transaction() as session:
            await self._upsert(session, row)

    async def connect(self, credentials: Credentials, account: Account, event: Event) -> None:
        """Credentials, the account (publisher set) and the audit event in one transaction."""
        row = self._row(credentials)
        async with self._transaction() as session:
            uow = SQLAlchemyUnitOfWork(session)
            await uow.upsert_accounts([account])
            await self._upsert(session, row)
            await uow.append_event(event)

    async def delete(self, account_id: str) -> None:
        """Forget the account's tokens."""
        async with self._transaction() as session:
            await session.execute(
                delete(t.credentials).where(t.credentials.c.account_id == account_id)
            )

    async def disconnect(self, account_id: str, event: Event) -> bool:
        """Forget the tokens, clear the account's publisher, append `event`; False if none."""
        async with self._transaction() as session:
            result = await session.execute(
                delete(t.credentials).where(t.credentials.c.account_id == account_id)
            )
            if not result.rowcount:  # type: ignore[attr-defined]
                return False
            await session.execute(
                update(t.accounts).where(t.accounts.c.id == account_id).values(publisher="")
            )
            await SQLAlchemyUnitOfWork(session).append_event(event)
        return True

    # --- the refresh lease
    async def acquire_refresh(
        self, account_id: str, holder: str, *, now: datetime, lease: timedelta
    ) -> bool:
        """One atomic UPDATE takes the lease if it is free, expired or already ours."""
        c = t.credentials
        now = to_utc(now) or now
        async with self._transaction() as session:
            result = await session.execute(
                update(c)
                .where(
                    c.c.account_id == account_id,
                    or_(
                        c.c.refresh_lease_until.is_(None),
                        c.c.refresh_lease_until <= now,
                        c.c.refresh_holder == holder,
                    ),
                )
                .values(refresh_holder=holder, refresh_lease_until=now + lease)
            )
            if result.rowcount:  # type: ignore[attr-defined]
                return True
            found = (
                await session.execute(select(c.c.account_id).where(c.c.account_id == account_id))
            ).first()
        if found is None:
            raise not_connected(account_id)
        return False

    async def finish_refresh(self, credentials: Credentials, holder: str) -> None:
        """New tokens (the rotated refresh token included) and the lease released, at once."""
        row = self._row(credentials)
        row.update(refresh_holder=None, refresh_lease_until=None)
        async with self._transaction() as session:
            await self._upsert(session, row)

    async def release_refresh(self, account_id: str, holder: str) -> None:
        """Give the lease back (only if `holder` still has it)."""
        c = t.credentials
        async with self._transaction() as session:
            await session.execute(
                update(c)
                .where(c.c.account_id == account_id, c.c.refresh_holder == holder)
                .values(refresh_holder=None, refresh_lease_until=None)
            )

    async def mark_needs_reauth(self, account_id: str, event: Event) -> bool:
        """Mark the tokens dead and the account NEEDS_AUTH with `event`, once."""
        c, a = t.credentials, t.accounts
        async with self._transaction() as session:
            marked = await session.execute(
                update(c)
                .where(c.c.account_id == account_id, c.c.needs_reauth.is_(False))
                .values(needs_reauth=True, refresh_holder=None, refresh_lease_until=None)
            )
            moved = await session.execute(
                update(a)
                .where(a.c.id == account_id, a.c.state != AccountState.NEEDS_AUTH.value)
                .values(state=AccountState.NEEDS_AUTH.value)
            )
            if not marked.rowcount and not moved.rowcount:  # type: ignore[attr-defined]
                return False
            await SQLAlchemyUnitOfWork(session).append_event(event)
        return True

    async def rotate_keys(self) -> int:
        """Re-encrypt every stored secret under the first key; returns the rows rewritten."""
        c = t.credentials
        secret_columns = ("access_token", "refresh_token", "token_secret")
        async with self._transaction() as session:
            rows = (await session.execute(select(c))).mappings().all()
            for r in rows:
                values = {k: self.box.rotate(str(r[k])) for k in secret_columns if r[k] is not None}
                await session.execute(
                    update(c).where(c.c.account_id == r["account_id"]).values(values)
                )
            states = (
                await session.execute(
                    select(t.oauth_states.c.state_hash, t.oauth_states.c.code_verifier)
                )
            ).all()
            for state_hash, verifier in states:
                if verifier is not None:
                    await session.execute(
                        update(t.oauth_states)
                        .where(t.oauth_states.c.state_hash == state_hash)
                        .values(code_verifier=self.box.rotate(str(verifier)))
                    )
        return len(rows)

    async def close(self) -> None:
        """Dispose of the engine's connections if this store created it."""
        if self._owns_engine:
            await self.engine.dispose()

    # --- rows
    def _row(self, credentials: Credentials) -> dict[str, Any]:
        box = self.box
        return {
            "account_id": credentials.account_id,
            "publisher": credentials.publisher,
            "platform_user_id": credentials.platform_user_id,
            "handle": credentials.handle,
            "access_token": box.encrypt(credentials.access_token),
            "refresh_token": _maybe(box.encrypt, credentials.refresh_token),
            "token_secret": _maybe(box.encrypt, credentials.token_secret),
            "expires_at": to_utc(credentials.expires_at, "expires_at"),
            "refresh_expires_at": to_utc(credentials.refresh_expires_at, "refresh_expires_at"),
            "scopes": list(credentials.scopes),
            "extra": dict(credentials.extra),
            "needs_reauth": False,
        }

    async def _upsert(self, session: AsyncSession, row: dict[str, Any]) -> None:
        c = t.credentials
        now_row = dict(row)
        stamp = self._clock.now()
        result = await session.execute(
            update(c).where(c.c.account_id == row["account_id"]).values(updated_at=stamp, **row)
        )
        if not result.rowcount:  # type: ignore[attr-defined]
            now_row.update(connected_at=stamp, updated_at=stamp)
            await session.execute(c.insert().values(now_row))

    def _credentials(self, row: Mapping[Any, Any]) -> Credentials:
        box = self.box
        return Credentials(
            account_id=row["account_id"],
            publisher=row["publisher"],
            platform_user_id=row["platform_user_id"],
            access_token=box.decrypt(row["access_token"]),
            refresh_token=_maybe(box.decrypt, row["refresh_token"]),
            expires_at=row["expires_at"],
            refresh_expires_at=row["refresh_expires_at"],
            scopes=tuple(row["scopes"] or ()),
            handle=row["handle"],
            extra=dict(row["extra"] or {}),
            token_secret=_maybe(box.decrypt, row["token_secret"]),
        )


def _maybe(function: Any, value: str | None) -> str | None:
    return None if value is None else function(value)
