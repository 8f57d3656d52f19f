"""The Slack bot's durable outbox and seen-event log, in SQL and in memory.

Undelivered Web API calls wait in `outbox` until `due`; `seen_event` records Events API
`event_id`s so a redelivered event is handled once. Both implementations keep the same
contract (tests/storage/test_outbox.py runs on memory, SQLite and PostgreSQL).
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from engine.clock import SystemClock
from engine.ports import Clock
from storage import tables as t
from storage.codec import json_copy, to_utc
from storage.database import create_engine, safe_url
from storage.sqlalchemy_repository import translate_errors

# Outbound webhook deliveries (bot/webhooks.py) share the table under this kind prefix; the
# Slack drain never sees them.
WEBHOOK_KIND = "webhook:"


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One Web API call waiting to be delivered."""

    id: int
    created_at: datetime
    kind: str
    payload: dict[str, Any]
    attempts: int = 0
    next_attempt_at: datetime | None = None
    sent_at: datetime | None = None
    last_error: str | None = None


class MemoryOutbox:
    """The outbox in memory: for tests and a bot run without a database."""

    def __init__(self, clock: Clock | None = None) -> None:
        self._items: dict[int, OutboxItem] = {}
        self._seen: dict[str, datetime] = {}
        self._refs: dict[str, tuple[str, str]] = {}
        self._ids = itertools.count(1)
        self._lock = asyncio.Lock()
        self._clock = clock or SystemClock()

    async def enqueue(self, kind: str, payload: dict[str, Any], now: datetime | None = None) -> int:
        """Store one call, due at once (`now` defaults to the clock's); returns its id."""
        when = _utc(now or self._clock.now())
        async with self._lock:
            item_id = next(self._ids)
            self._items[item_id] = OutboxItem(
                item_id, when, kind, json_copy(payload, "outbox payload"), 0, when
            )
            return item_id

    async def due(
        self, now: datetime, limit: int = 100, *, kind_prefix: str | None = None
    ) -> list[OutboxItem]:
        """Unsent items whose next attempt is at or before `now`, oldest first: those whose
        kind starts with `kind_prefix`, or without it every Slack call (not webhooks)."""
        now = _utc(now)
        async with self._lock:
            ready = [
                i
                for i in self._items.values()
                if i.sent_at is None
                and i.next_attempt_at is not None
                and i.next_attempt_at <= now
                and _of_queue(i.kind, kind_prefix)
            ]
        ready.sort(key=lambda i: (i.next_attempt_at, i.id))
        return ready[:limit]

    async def mark_sent(self, id: int, now: datetime) -> None:
        """The item was delivered; it is never due again."""
        async with self._lock:
            if id in self._items:
                self._items[id] = replace(self._items[id], sent_at=_utc(now), last_error=None)

    async def mark_failed(self, id: int, error: str, next_attempt_at: datetime) -> None:
        """The item failed again: count the attempt, keep the error, retry at the given time."""
        async with self._lock:
            item = self._items.get(id)
            if item is not None:
                self._items[id] = replace(
                    item,
                    attempts=item.attempts + 1,
                    last_error=error[:2000],
                    next_attempt_at=_utc(next_attempt_at),
                )

    async def seen_event(self, event_id: str, now: datetime) -> bool:
        """Record `event_id`; True when it had been seen before."""
        async with self._lock:
            if event_id in self._seen:
                return True
            self._seen[event_id] = _utc(now)
            return False

    async def remember_message(self, key: str, channel: str, ts: str) -> None:
        """Keep where a long-lived message is (replacing an older one under `key`)."""
        self._refs[key] = (channel, ts)

    async def find_message(self, key: str) -> tuple[str, str] | None:
        """(channel, ts) remembered under `key`, if any."""
        return self._refs.get(key)

    async def find_key(self, channel: str, ts: str, *, prefix: str) -> str | None:
        """The key starting with `prefix` that remembers (channel, ts), if any."""
        found = (k for k, ref in self._refs.items() if ref == (channel, ts))
        return next((k for k in found if k.startswith(prefix)), None)

    async def prune(self, before: datetime) -> int:
        """Forget sent items and seen events older than `before`; returns how many."""
        before = _utc(before)
        async with self._lock:
            old_items = [
                k for k, i in self._items.items() if i.sent_at is not None and i.sent_at < before
            ]
            old_seen = [k for k, at in self._seen.items() if at < before]
            for k in old_items:
                del self._items[k]
            for e in old_seen:
                del self._seen[e]
        return len(old_items) + len(old_seen)

    async def close(self) -> None:
        """Nothing to release."""


class SQLAlchemyOutbox:
    """The outbox in Herald's database (the `outbox` and `seen_events` tables)."""

    def __init__(self, url_or_engine: str | URL | AsyncEngine, clock: Clock | None = None) -> None:
        if isinstance(url_or_engine, AsyncEngine):
            self.engine = url_or_engine
            self._owns_engine = False
        else:
            self.engine = create_engine(url_or_engine)
            self._owns_engine = True
        self._url = safe_url(self.engine.url)
        self._clock = clock or SystemClock()
        self._insert = (
            postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        )

    async def enqueue(self, kind: str, payload: dict[str, Any], now: datetime | None = None) -> int:
        """Store one call, due at once (`now` defaults to the clock's); returns its id."""
        when = _utc(now or self._clock.now())
        statement = (
            t.outbox.insert()
            .values(
                created_at=when,
                kind=kind,
                payload=json_copy(payload, "outbox payload"),
                attempts=0,
                next_attempt_at=when,
            )
            .returning(t.outbox.c.id)
        )
        with translate_errors(self._url):
            async with self.engine.begin() as conn:
                return int((await conn.execute(statement)).scalar_one())

    async def due(
        self, now: datetime, limit: int = 100, *, kind_prefix: str | None = None
    ) -> list[OutboxItem]:
        """Unsent items whose next attempt is at or before `now`, oldest first: those whose
        kind starts with `kind_prefix`, or without it every Slack call (not webhooks)."""
        o = t.outbox
        query = (
            select(o)
            .where(o.c.sent_at.is_(None), o.c.next_attempt_at <= _utc(now))
            .order_by(o.c.next_attempt_at, o.c.id)
            .limit(limit)
        )
        if kind_prefix is None:
            query = query.where(~o.c.kind.startswith(WEBHOOK_KIND, autoescape=True))
        else:
            query = query.where(o.c.kind.startswith(kind_prefix, autoescape=True))
        with translate_errors(self._url):
            async with self.engine.begin() as conn:
                rows = (await conn.execute(query)).mappings().all()
        return [OutboxItem(**dict(r)) for r in rows]

    async def mark_sent(self, id: int, now: datetime) -> None:
        """The item was delivered; it is never due again."""
        o = t.outbox
        with translate_errors(self._url):
            async with self.engine.begin() as conn:
                await conn.execute(
                    update(o).where(o.c.id == id).values(sent_at=_utc(now), last_error=None)
                )

    async def mark_failed(self, id: int, error: str, next_attempt_at: datetime) -> None:
        """The item failed again: count the attempt, keep the error, retry at the given time."""
        o = t.outbox
        with translate_errors(self._url):
            async with self.engine.begin() as conn:
                await conn.execute(
                    update(o)
                    .where(o.c.id == id)
                    .values(
                        attempts=o.c.attempts + 1,
                        last_error=error[:2000],
                        next_attempt_at=_utc(next_attempt_at),
                    )
                )

    async def seen_event(self, event_id: str, now: datetime) -> bool:
        """Record `event_id`; True when it had been seen before (one atomic insert)."""
        statement = (
            self._insert(t.seen_events)
            .values(event_id=event_id, received_at=_utc(now))
            .on_conflict_do_nothing(index_elements=[t.seen_events.c.event_id])
        )
        with translate_errors(self._url):
            async with self.engine.begin() as conn:
                result = await conn.execute(statement)
        return result.rowcount == 0

    async def remember_message(self, key: str, channel: str, ts: str) -> None:
        """Keep where a long-lived message is (replacing an older one under `key`)."""
        table = t.message_refs
        statement = self._insert(table).values(key=key, channel=channel, ts=ts)
        statement = statement.on_conflict_do_update(
            index_elements=[table.c.key], set_={"channel": channel, "ts": ts}
        )
        with translate_errors(self._url):
            async with self.engine.begin() as conn:
                await conn.execute(statement)

    async def find_message(self, key: str) -> tuple[str, str] | None:
        """(channel, ts) remembered under `key`, if any."""
        table = t.message_refs
        query = select(table.c.channel, table.c.ts).where(table.c.key == key)
        with translate_errors(self._url):
            async with self.engine.begin() as conn:
                row = (await conn.execute(query)).first()
        return None if row is None else (str(row[0]), str(row[1]))

    async def find_key(self, channel: str, ts: str, *, prefix: str) -> str | None:
        """The key starting with `prefix` that remembers (channel, ts), if any."""
        table = t.message_refs
        query = (
            select(table.c.key)
            .where(table.c.channel == channel, table.c.ts == ts, table.c.key.startswith(prefix))
            .limit(1)
        )
        with translate_errors(self._url):
            async with self.engine.begin() as conn:
                key = (await conn.execute(query)).scalar()
        return None if key is None else str(key)

    async def prune(self, before: datetime) -> int:
        """Forget sent items and seen events older than `before`; returns how many."""
        before = _utc(before)
        with translate_errors(self._url):
            async with self.engine.begin() as conn:
                items = await conn.execute(delete(t.outbox).where(t.outbox.c.sent_at < before))
                seen = await conn.execute(
                    delete(t.seen_events).where(t.seen_events.c.received_at < before)
                )
        return int(items.rowcount) + int(seen.rowcount)

    async def close(self) -> None:
        """Dispose of the engine's connections if this outbox created it."""
        if self._owns_engine:
            await self.engine.dispose()


def _of_queue(kind: str, kind_prefix: str | None) -> bool:
    if kind_prefix is None:
        return not kind.startswith(WEBHOOK_KIND)
    return kind.startswith(kind_prefix)


def _utc(value: datetime) -> datetime:
    result = to_utc(value)
    assert result is not None
    return result
