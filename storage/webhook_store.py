"""Outbound webhook endpoints, and the fan-out of audit events into the persisted outbox.

`fan_out` reads events after the shared cursor (`api_state` row `webhook_cursor`), inserts
one outbox row per (event, subscribed endpoint) and moves the cursor compare-and-set in the
same transaction: each event is enqueued exactly once whichever replica runs it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from engine.errors import InvalidInput, NotFound
from storage import tables as t
from storage.api_store import audit_row
from storage.database import safe_url
from storage.event_log import LoggedEvent
from storage.outbox import WEBHOOK_KIND
from storage.secret_box import FernetSecretBox
from storage.sqlalchemy_repository import row_to_event, translate_errors

CURSOR = "webhook_cursor"


class _Overtaken(Exception):
    """Another replica moved the cursor first."""


class WebhookNotFound(NotFound):
    kind = "webhook"


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

    def wants(self, kind: str) -> bool:
        return self.enabled and any(p == "*" or p == kind for p in self.events)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": self.url,
            "events": list(self.events),
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "enabled": self.enabled,
            "failing_since": self.failing_since.isoformat() if self.failing_since else None,
            "disabled_at": self.disabled_at.isoformat() if self.disabled_at else None,
            "delivered": self.delivered,
            "last_error": self.last_error,
        }


def _endpoint(row: Any) -> WebhookEndpoint:
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


class WebhookStore:
    """Endpoints (secrets encrypted with `box`) and the event fan-out."""

    kind_prefix = WEBHOOK_KIND  # the outbox rows of deliveries

    def __init__(self, engine: AsyncEngine, box: FernetSecretBox | None) -> None:
        self.engine = engine
        self.box = box
        self._url = safe_url(engine.url)
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    async def add(
        self, url: str, events: tuple[str, ...], created_by: str, now: datetime
    ) -> tuple[WebhookEndpoint, str]:
        """Store an endpoint; returns it and its signing secret (shown once)."""
        if self.box is None:
            raise InvalidInput(
                "HERALD_SECRET_KEY is not set: webhook secrets must be stored encrypted"
            )
        if not url.startswith(("http://", "https://")):
            raise InvalidInput(f"url: {url!r} is not an http(s) URL")
        if not events:
            raise InvalidInput("events: name at least one event kind (or *)")
        secret = f"whsec_{secrets.token_urlsafe(32)}"
        endpoint = WebhookEndpoint(f"wh-{secrets.token_hex(4)}", url, events, created_by, now)
        with translate_errors(self._url):
            async with self.engine.begin() as conn:
                await self._start_cursor(conn)
                await conn.execute(
                    t.webhook_endpoints.insert().values(
                        id=endpoint.id,
                        url=url,
                        events=list(events),
                        secret_encrypted=self.box.encrypt(secret),
                        created_by=created_by,
                        created_at=now,
                        enabled=True,
                        delivered=0,
                    )
                )
                data = {"webhook": endpoint.id, "url": url, "events": list(events)}
                row = audit_row(now, "webhook.added", created_by, data)
                await conn.execute(t.events.insert().values(row))
        return endpoint, secret

    async def list(self) -> list[WebhookEndpoint]:
        table = t.webhook_endpoints
        with translate_errors(self._url):
            async with self.engine.connect() as conn:
                rows = (await conn.execute(select(table).order_by(table.c.created_at))).mappings()
                return [_endpoint(r) for r in rows.all()]

    async def get(self, endpoint_id: str) -> WebhookEndpoint:
        table = t.webhook_endpoints
        with translate_errors(self._url):
            async with self.engine.connect() as conn:
                query = select(table).where(table.c.id == endpoint_id)
                row = (await conn.execute(query)).mappings().first()
        if row is None:
            raise WebhookNotFound(endpoint_id)
        return _endpoint(row)

    async def secret(self, endpoint_id: str) -> str:
        """The endpoint's signing secret (decrypted for signing only)."""
        if self.box is None:
            raise InvalidInput("HERALD_SECRET_KEY is not set: cannot sign webhook deliveries")
        table = t.webhook_endpoints
        with translate_errors(self._url):
            async with self.engine.connect() as conn:
                query = select(table.c.secret_encrypted).where(table.c.id == endpoint_id)
                value = (await conn.execute(query)).scalar()
        if value is None:
            raise WebhookNotFound(endpoint_id)
        return self.box.decrypt(value)

    async def remove(self, endpoint_id: str, *, by: str, now: datetime) -> None:
        """Delete the endpoint and its undelivered outbox rows."""
        o = t.outbox
        with translate_errors(self._url):
            async with self.engine.begin() as conn:
                result = await conn.execute(
                    delete(t.webhook_endpoints).where(t.webhook_endpoints.c.id == endpoint_id)
                )
                if not result.rowcount:
                    raise WebhookNotFound(endpoint_id)
                await conn.execute(
                    delete(o).where(o.c.kind == WEBHOOK_KIND + endpoint_id, o.c.sent_at.is_(None))
                )
                row = audit_row(now, "webhook.removed", by, {"webhook": endpoint_id})
                await conn.execute(t.events.insert().values(row))

    async def record(
        self, endpoint_id: str, *, ok: bool, now: datetime, error: str | None = None
    ) -> WebhookEndpoint:
        """Count a delivery or keep a failure (the first failure starts `failing_since`)."""
        table = t.webhook_endpoints
        values: dict[str, Any]
        if ok:
            values = {"delivered": table.c.delivered + 1, "failing_since": None, "last_error": None}
        else:
            values = {"last_error": (error or "")[:500]}
        with translate_errors(self._url):
            async with self.engine.begin() as conn:
                await conn.execute(update(table).where(table.c.id == endpoint_id).values(**values))
                if not ok:
                    await conn.execute(
                        update(table)
                        .where(table.c.id == endpoint_id, table.c.failing_since.is_(None))
                        .values(failing_since=now)
                    )
        return await self.get(endpoint_id)

    async def disable(self, endpoint_id: str, now: datetime) -> bool:
        """Disable a failing endpoint; True only for the call that disabled it (one alert)."""
        table = t.webhook_endpoints
        statement = (
            update(table)
            .where(table.c.id == endpoint_id, table.c.enabled.is_(True))
            .values(enabled=False, disabled_at=now)
        )
        with translate_errors(self._url):
            async with self.engine.begin() as conn:
                return bool((await conn.execute(statement)).rowcount)

    async def enable(self, endpoint_id: str) -> None:
        table = t.webhook_endpoints
        statement = (
            update(table)
            .where(table.c.id == endpoint_id)
            .values(enabled=True, disabled_at=None, failing_since=None)
        )
        with translate_errors(self._url):
            async with self.engine.begin() as conn:
                if not (await conn.execute(statement)).rowcount:
                    raise WebhookNotFound(endpoint_id)

    async def _start_cursor(self, conn: Any) -> None:
        """The first endpoint starts the fan-out at the log's end (no history replay)."""
        e = t.events
        last = (await conn.execute(select(e.c.seq).order_by(e.c.seq.desc()).limit(1))).scalar()
        await conn.execute(
            self._insert(t.api_state)
            .values(key=CURSOR, value=int(last or 0))
            .on_conflict_do_nothing(index_elements=[t.api_state.c.key])
        )

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
                cursor = (
                    await conn.execute(select(state.c.value).where(state.c.key == CURSOR))
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
                    _endpoint(r)
                    for r in (await conn.execute(select(table).where(table.c.enabled.is_(True))))
                    .mappings()
                    .all()
                ]
                logged = [LoggedEvent(row["seq"], row_to_event(row)) for row in rows]
                items = [
                    {
                        "created_at": now,
                        "kind": WEBHOOK_KIND + endpoint.id,
                        "payload": {"endpoint": endpoint.id, "event": item.to_json()},
                        "attempts": 0,
                        "next_attempt_at": now,
                    }
                    for item in logged
                    for endpoint in endpoints
                    if endpoint.wants(item.event.kind)
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
        return len(rows)
