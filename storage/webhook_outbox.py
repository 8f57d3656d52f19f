"""Webhook endpoints as rows, and their deliveries in the persisted outbox.

`fan_out` reads events after the shared cursor (`api_state` row `webhook_cursor`), inserts
one outbox row per (event, subscribed endpoint) and moves the cursor compare-and-set in the
same transaction: each event is enqueued exactly once whichever replica runs it. A disabled
endpoint's rows are parked (due in ten years) until it is enabled. `claim` hands due rows
to one replica for a lease, so replicas do not post the same delivery at once. The fan-out
and every endpoint change lock the cursor row first (PostgreSQL), so a row is never parked
after the enable that should have released it. A disabled endpoint keeps at most
`parked_max` deliveries: the fan-out drops the oldest beyond that and counts them (an
`api_state` row per endpoint), which its enable reports in one audit event.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from engine.url_redaction import redact_url
from storage import tables as t
from storage.database import safe_url
from storage.event_log import LoggedEvent
from storage.outbox import WEBHOOK_KIND, OutboxItem
from storage.sqlalchemy_repository import row_to_event, translate_errors

log = logging.getLogger("herald.webhooks")
CURSOR = "webhook_cursor"
DROPPED = "webhook_dropped:"  # + endpoint id: deliveries dropped over the cap while disabled
PARKED_MAX = 10_000
PARKED = timedelta(days=3650)  # a parked delivery's next attempt: never, until released
PARKED_NOTE = "parked: endpoint disabled"


class _Overtaken(Exception):
    """Another replica moved the cursor first."""


@dataclass(frozen=True, slots=True)
class WebhookEndpoint:
    """A receiver of signed event deliveries (its secret is never part of this)."""

    id: str
    url: str
    events: tuple[str, ...]
    created_by: str
    created_at: datetime
    enabled: bool = True
    failing_since: datetime | None = None
    disabled_at: datetime | None = None
    delivered: int = 0
    last_error: str | None = None

    def subscribes(self, kind: str) -> bool:
        """Whether events of `kind` are for it (enabled or not: a disabled one parks them)."""
        return any(p == "*" or p == kind for p in self.events)

    @property
    def shown_url(self) -> str:
        """The URL redacted (engine/url_redaction.py): for everything but its creation."""
        return redact_url(self.url)

    def wants(self, kind: str) -> bool:
        return self.enabled and self.subscribes(kind)

    def to_json(self, *, full_url: bool = False) -> dict[str, Any]:
        """The endpoint as JSON; its URL redacted unless `full_url` (the create's answer
        only: the URL may hold the receiver's secret)."""
        return {
            "id": self.id,
            "url": self.url if full_url else self.shown_url,
            "events": list(self.events),
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "enabled": self.enabled,
            "failing_since": self.failing_since.isoformat() if self.failing_since else None,
            "disabled_at": self.disabled_at.isoformat() if self.disabled_at else None,
            "delivered": self.delivered,
            "last_error": self.last_error,
        }


def endpoint_of(row: Any) -> WebhookEndpoint:
    """The endpoint stored in a `webhook_endpoints` row."""
    return WebhookEndpoint(
        id=row["id"],
        url=row["url"],
        events=tuple(row["events"]),
        created_by=row["created_by"],
        created_at=row["created_at"],
        enabled=row["enabled"],
        failing_since=row["failing_since"],
        disabled_at=row["disabled_at"],
        delivered=row["delivered"],
        last_error=row["last_error"],
    )


async def lock_cursor(conn: Any) -> None:
    """Serialise with the fan-out and endpoint changes (PostgreSQL; SQLite's write lock
    already does)."""
    state = t.api_state
    await conn.execute(select(state.c.value).where(state.c.key == CURSOR).with_for_update())


class WebhookOutbox:
    """The deliveries of webhook endpoints: fan-out, claims and parking."""

    kind_prefix = WEBHOOK_KIND  # the outbox rows of deliveries

    def __init__(self, engine: AsyncEngine, *, parked_max: int = PARKED_MAX) -> None:
        self.engine = engine
        self.parked_max = parked_max
        self._url = safe_url(engine.url)
        self._postgres = engine.dialect.name == "postgresql"
        self._insert = postgresql.insert if self._postgres else sqlite.insert

    async def trim(self, conn: Any, endpoint_id: str) -> int:
        """Drop the oldest undelivered deliveries of (disabled) `endpoint_id` beyond
        `parked_max`, adding them to its dropped count; returns how many went. Runs in the
        caller's transaction, which holds the cursor lock."""
        o = t.outbox
        mine = (o.c.kind == WEBHOOK_KIND + endpoint_id, o.c.sent_at.is_(None))
        waiting = (await conn.execute(select(func.count()).select_from(o).where(*mine))).scalar()
        over = int(waiting or 0) - self.parked_max
        if over <= 0:
            return 0
        oldest = select(o.c.id).where(*mine).order_by(o.c.id).limit(over)
        await conn.execute(delete(o).where(o.c.id.in_(oldest.scalar_subquery())))
        key = DROPPED + endpoint_id
        before = await self.dropped(conn, endpoint_id)
        await conn.execute(
            self._insert(t.api_state)
            .values(key=key, value=over)
            .on_conflict_do_update(
                index_elements=[t.api_state.c.key], set_={"value": t.api_state.c.value + over}
            )
        )
        if not before:  # once per disable, not every round: the enable's event has the total
            log.warning(
                "webhook %s is disabled with %d deliveries kept: the oldest are dropped from now",
                endpoint_id,
                self.parked_max,
            )
        return over

    async def dropped(self, conn: Any, endpoint_id: str, *, reset: bool = False) -> int:
        """How many of `endpoint_id`'s deliveries the cap dropped since its disable;
        `reset` starts the count over (its enable or removal)."""
        state = t.api_state
        key = DROPPED + endpoint_id
        count = (await conn.execute(select(state.c.value).where(state.c.key == key))).scalar()
        if reset and count is not None:
            await conn.execute(delete(state).where(state.c.key == key))
        return int(count or 0)

    async def park(self, item_id: int, endpoint_id: str, now: datetime) -> bool:
        """Park one due delivery unless its endpoint is enabled (an enable committed
        meanwhile leaves it due): it was disabled, or removed. True when parked."""
        o, table = t.outbox, t.webhook_endpoints
        enabled = (
            select(table.c.id).where(table.c.id == endpoint_id, table.c.enabled.is_(True)).exists()
        )
        statement = (
            update(o)
            .where(o.c.id == item_id, o.c.sent_at.is_(None), ~enabled)
            .values(next_attempt_at=now + PARKED, last_error=PARKED_NOTE)
        )
        with translate_errors(self._url):
            async with self.engine.begin() as conn:
                return bool((await conn.execute(statement)).rowcount)

    async def claim(self, now: datetime, limit: int, lease: timedelta) -> list[OutboxItem]:
        """Up to `limit` due deliveries (oldest first, then in fan-out order: seq), each
        handed to this caller alone: its next attempt moves to `now + lease`, so another
        replica does not post it meanwhile, and one that died mid-delivery leaves it due
        again then. Raises StorageError."""
        o = t.outbox
        pick = (
            select(o.c.id)
            .where(
                o.c.sent_at.is_(None),
                o.c.next_attempt_at <= now,
                o.c.kind.startswith(WEBHOOK_KIND, autoescape=True),
            )
            .order_by(o.c.next_attempt_at, o.c.id)
            .limit(limit)
        )
        if self._postgres:
            pick = pick.with_for_update(skip_locked=True)
        statement = (
            update(o)
            .where(o.c.id.in_(pick.scalar_subquery()), o.c.sent_at.is_(None))
            .values(next_attempt_at=now + lease)
            .returning(*o.columns)
        )
        with translate_errors(self._url):
            async with self.engine.begin() as conn:
                rows = (await conn.execute(statement)).mappings().all()
        return sorted((OutboxItem(**dict(r)) for r in rows), key=lambda item: item.id)

    async def fan_out(self, now: datetime, limit: int = 500) -> int:
        """Enqueue deliveries for events after the cursor; returns how many events moved."""
        try:
            return await self._fan_out(now, limit)
        except _Overtaken:
            return 0  # another replica fanned these events out first

    async def _fan_out(self, now: datetime, limit: int) -> int:
        e, state = t.events, t.api_state
        with translate_errors(self._url):
            async with self.engine.begin() as conn:
                # Locked (PostgreSQL) until commit: an enable or disable waits for this
                # fan-out, or this one sees its result.
                cursor = (
                    await conn.execute(
                        select(state.c.value).where(state.c.key == CURSOR).with_for_update()
                    )
                ).scalar()
                if cursor is None:
                    return 0  # no endpoint was ever added
                rows = (
                    (
                        await conn.execute(
                            select(e).where(e.c.seq > cursor).order_by(e.c.seq).limit(limit)
                        )
                    )
                    .mappings()
                    .all()
                )
                if not rows:
                    return 0
                table = t.webhook_endpoints
                endpoints = [
                    endpoint_of(r) for r in (await conn.execute(select(table))).mappings().all()
                ]
                logged = [LoggedEvent(row["seq"], row_to_event(row)) for row in rows]
                # A disabled endpoint's rows are parked: enabling it sends them, in order.
                items = [
                    {
                        "created_at": now,
                        "kind": WEBHOOK_KIND + endpoint.id,
                        "payload": {"endpoint": endpoint.id, "event": item.to_json()},
                        "attempts": 0,
                        "next_attempt_at": now if endpoint.enabled else now + PARKED,
                        "last_error": None if endpoint.enabled else PARKED_NOTE,
                    }
                    for item in logged
                    for endpoint in endpoints
                    if endpoint.subscribes(item.event.kind)
                ]
                moved = await conn.execute(
                    update(state)
                    .where(state.c.key == CURSOR, state.c.value == cursor)
                    .values(value=rows[-1]["seq"])
                )
                if not moved.rowcount:
                    raise _Overtaken  # rolls the transaction back
                if items:
                    await conn.execute(t.outbox.insert(), items)
                    parked = {item["kind"] for item in items if item["last_error"] == PARKED_NOTE}
                    for endpoint in endpoints:
                        if WEBHOOK_KIND + endpoint.id in parked:
                            await self.trim(conn, endpoint.id)
        return len(rows)
