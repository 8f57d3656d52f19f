"""The HTTP API's own rows: bearer tokens (hashes only) and idempotent-create answers.

A token is `hrd_<id>_<secret>`; the table keeps sha256 of the whole token, compared in
constant time. An Idempotency-Key is reserved before the create runs, so two replicas (or
two racing requests) never both run it; the answer is kept 24 h.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from engine.errors import StorageError
from engine.models import Event, new_event_id
from storage import tables as t
from storage.database import create_read_engine, safe_url
from storage.sqlalchemy_repository import event_to_row, translate_errors

SCOPES = ("read", "operate", "approve")
IDEMPOTENCY_TTL = timedelta(hours=24)
IN_PROGRESS = 0  # status of a reserved key whose request has not answered yet
TOKEN_PREFIX = "hrd_"
TOUCH_EVERY = timedelta(minutes=1)  # how stale a token's "last used" may be (one write)
log = logging.getLogger("herald.api")


@dataclass(frozen=True, slots=True)
class ApiToken:
    """A token's public face (never its secret)."""

    id: str
    user_id: str
    scopes: tuple[str, ...]
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None

    def usable(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    """What an Idempotency-Key answered (status IN_PROGRESS: not yet)."""

    request_hash: str
    status: int
    response: Any


def audit_row(now: datetime, kind: str, actor: str, data: dict[str, Any]) -> dict[str, Any]:
    """An audit event row, written in the same transaction as the change it records."""
    return event_to_row(Event(new_event_id(), now, kind, actor, data=data))


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _row_token(row: Any) -> ApiToken:
    return ApiToken(
        id=row["id"],
        user_id=row["user_id"],
        scopes=tuple(row["scopes"]),
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
        last_used_at=row["last_used_at"],
    )


class ApiStore:
    """Tokens and idempotency keys in Herald's database."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._url = safe_url(engine.url)
        # Token checks run on every request: on SQLite they read without the write lock
        # that Herald's engine takes for every transaction (BEGIN IMMEDIATE).
        self._reader = create_read_engine(engine)
        self._touching: dict[str, asyncio.Task[None]] = {}
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    # ---------------------------------------------------------------- tokens
    async def create_token(
        self,
        user_id: str,
        scopes: tuple[str, ...],
        now: datetime,
        expires_at: datetime | None,
        *,
        by: str = "cli",
    ) -> tuple[ApiToken, str]:
        """Store a new token for `user_id`; returns it and the secret string (shown once)."""
        token_id = f"tok-{secrets.token_hex(4)}"
        secret = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
        token = ApiToken(token_id, user_id, scopes, now, expires_at)
        row = {
            "id": token_id,
            "user_id": user_id,
            "scopes": list(scopes),
            "token_hash": _hash(secret),
            "created_at": now,
            "expires_at": expires_at,
        }
        with translate_errors(self._url):
            async with self.engine.begin() as conn:
                await conn.execute(t.api_tokens.insert().values(**row))
                data = {"token": token_id, "user": user_id, "scopes": list(scopes)}
                await conn.execute(
                    t.events.insert().values(audit_row(now, "token.created", by, data))
                )
        return token, secret

    async def verify(self, secret: str, now: datetime) -> ApiToken | None:
        """The usable token `secret` is, or None (unknown, wrong, revoked, expired)."""
        if not secret.startswith(TOKEN_PREFIX) or secret.count("_") < 2:
            return None
        token_id = secret[len(TOKEN_PREFIX) :].split("_", 1)[0]
        table = t.api_tokens
        with translate_errors(self._url):
            async with self._reader.connect() as conn:
                query = select(table).where(table.c.id == token_id)
                row = (await conn.execute(query)).mappings().first()
            if row is None or not hmac.compare_digest(row["token_hash"], _hash(secret)):
                return None
            token = _row_token(row)
            if not token.usable(now):
                return None
        last = token.last_used_at
        if (last is None or now - last > TOUCH_EVERY) and token_id not in self._touching:
            # Off the request's path: the write waits for the write lock (a run's writes
            # on SQLite), and a request must not. One write in flight per token.
            task = asyncio.create_task(self._touch(token_id, now))
            self._touching[token_id] = task
            task.add_done_callback(lambda _: self._touching.pop(token_id, None))
        return token

    async def _touch(self, token_id: str, now: datetime) -> None:
        table = t.api_tokens
        try:
            with translate_errors(self._url):
                async with self.engine.begin() as conn:
                    await conn.execute(
                        update(table).where(table.c.id == token_id).values(last_used_at=now)
                    )
        except StorageError as exc:  # only the "last used" column misses this use
            log.warning("token %s: last use not recorded: %s", token_id, exc)

    async def close(self) -> None:
        """Finish pending "last used" writes; release the read engine (SQLite)."""
        if self._touching:
            await asyncio.gather(*self._touching.values(), return_exceptions=True)
        if self._reader is not self.engine:
            await self._reader.dispose()

    async def list_tokens(self) -> list[ApiToken]:
        """Every token, newest first."""
        table = t.api_tokens
        with translate_errors(self._url):
            async with self.engine.begin() as conn:
                rows = (
                    (await conn.execute(select(table).order_by(table.c.created_at.desc())))
                    .mappings()
                    .all()
                )
        return [_row_token(r) for r in rows]

    async def revoke(self, token_id: str, now: datetime, *, by: str = "cli") -> bool:
        """Revoke a token at once; False when there is no such (unrevoked) token."""
        table = t.api_tokens
        statement = (
            update(table)
            .where(table.c.id == token_id, table.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        with translate_errors(self._url):
            async with self.engine.begin() as conn:
                if not (await conn.execute(statement)).rowcount:
                    return False
                row = audit_row(now, "token.revoked", by, {"token": token_id})
                await conn.execute(t.events.insert().values(row))
                return True

    # ---------------------------------------------------------------- idempotency
    async def reserve(
        self, user_id: str, key: str, request_hash: str, now: datetime
    ) -> StoredAnswer | None:
        """Reserve `key` for this request: None when it is ours to run now, else what the
        key already holds (an answer, or IN_PROGRESS). Answers older than 24 h are forgotten."""
        table = t.api_idempotency
        where = (table.c.user_id == user_id, table.c.key == key)
        with translate_errors(self._url):
            async with self.engine.begin() as conn:
                await conn.execute(
                    delete(table).where(*where, table.c.created_at < now - IDEMPOTENCY_TTL)
                )
                inserted = await conn.execute(
                    self._insert(table)
                    .values(
                        user_id=user_id,
                        key=key,
                        request_hash=request_hash,
                        status=IN_PROGRESS,
                        response={},
                        created_at=now,
                    )
                    .on_conflict_do_nothing(index_elements=[table.c.user_id, table.c.key])
                )
                if inserted.rowcount:
                    return None
                row = (await conn.execute(select(table).where(*where))).mappings().one()
        return StoredAnswer(row["request_hash"], row["status"], row["response"])

    async def answer(self, user_id: str, key: str, status: int, response: Any) -> None:
        """Keep the answer of a reserved key."""
        table = t.api_idempotency
        with translate_errors(self._url):
            async with self.engine.begin() as conn:
                await conn.execute(
                    update(table)
                    .where(table.c.user_id == user_id, table.c.key == key)
                    .values(status=status, response=response)
                )

    async def release(self, user_id: str, key: str) -> None:
        """Forget a reservation whose request failed unexpectedly (it may be retried)."""
        table = t.api_idempotency
        with translate_errors(self._url):
            async with self.engine.begin() as conn:
                await conn.execute(
                    delete(table).where(table.c.user_id == user_id, table.c.key == key)
                )
