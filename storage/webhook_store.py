"""Outbound webhook endpoints: add, list, remove, enable, disable, and their secrets.

Every change of an endpoint is one transaction with its audit event, naming who did it
(and the API token they used) and never the secret nor the URL's secret parts (only its
redacted form, engine/url_redaction.py). A disabled endpoint's deliveries are parked (the
newest `parked_max` of them), and enabling it makes them all due again in their original
order (storage/webhook_outbox.py keeps the deliveries).
"""

from __future__ import annotations

import difflib
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from engine.errors import InvalidInput, NotFound
from engine.event_kinds import EventKind
from engine.url_redaction import redact_url
from storage import tables as t
from storage.api_store import audit_row
from storage.database import safe_url
from storage.outbox import WEBHOOK_KIND
from storage.secret_box import FernetSecretBox
from storage.sqlalchemy_repository import translate_errors
from storage.webhook_outbox import (
    CURSOR,
    PARKED,
    PARKED_MAX,
    PARKED_NOTE,
    WebhookEndpoint,
    WebhookOutbox,
    endpoint_of,
    lock_cursor,
)


class WebhookNotFound(NotFound):
    kind = "webhook"


class WebhookStore:
    """Endpoints (secrets encrypted with `box`); `deliveries` is their outbox."""

    def __init__(
        self, engine: AsyncEngine, box: FernetSecretBox | None, *, parked_max: int = PARKED_MAX
    ) -> None:
        self.engine = engine
        self.box = box
        self.deliveries = WebhookOutbox(engine, parked_max=parked_max)
        self._url = safe_url(engine.url)
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    async def add(
        self,
        url: str,
        events: tuple[str, ...],
        created_by: str,
        now: datetime,
        *,
        via: str | None = None,
    ) -> tuple[WebhookEndpoint, str]:
        """Store an endpoint; returns it and its signing secret (shown once). `via` is the
        API token the user acted through (audit). Raises InvalidInput."""
        if self.box is None:
            raise InvalidInput(
                "HERALD_SECRET_KEY is not set: webhook secrets must be stored encrypted"
            )
        if not url.startswith(("http://", "https://")):
            raise InvalidInput("url: must be an http(s) URL (https://...)")
        if not events:
            raise InvalidInput("events: name at least one event kind (or *)")
        check_event_kinds(events)
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
                data = {"webhook": endpoint.id, "url": redact_url(url), "events": list(events)}
                await self._audit(conn, now, "webhook.added", created_by, via, data)
        return endpoint, secret

    async def list(self) -> list[WebhookEndpoint]:
        table = t.webhook_endpoints
        with translate_errors(self._url):
            async with self.engine.connect() as conn:
                rows = (await conn.execute(select(table).order_by(table.c.created_at))).mappings()
                return [endpoint_of(r) for r in rows.all()]

    async def get(self, endpoint_id: str) -> WebhookEndpoint:
        table = t.webhook_endpoints
        with translate_errors(self._url):
            async with self.engine.connect() as conn:
                query = select(table).where(table.c.id == endpoint_id)
                row = (await conn.execute(query)).mappings().first()
        if row is None:
            raise WebhookNotFound(endpoint_id)
        return endpoint_of(row)

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

    async def remove(
        self, endpoint_id: str, *, by: str, now: datetime, via: str | None = None
    ) -> int:
        """Delete the endpoint and its undelivered (pending or parked) deliveries; returns
        how many were dropped. Raises WebhookNotFound."""
        o, table = t.outbox, t.webhook_endpoints
        with translate_errors(self._url):
            async with self.engine.begin() as conn:
                await lock_cursor(conn)
                endpoint = await self._get(conn, endpoint_id)
                await conn.execute(delete(table).where(table.c.id == endpoint_id))
                dropped = await conn.execute(
                    delete(o).where(o.c.kind == WEBHOOK_KIND + endpoint_id, o.c.sent_at.is_(None))
                )
                data = {
                    "webhook": endpoint_id,
                    "url": endpoint.shown_url,
                    "dropped": int(dropped.rowcount),
                }
                if over_cap := await self.deliveries.dropped(conn, endpoint_id, reset=True):
                    data["dropped_over_cap"] = over_cap  # while disabled, before this
                await self._audit(conn, now, "webhook.removed", by, via, data)
                return int(dropped.rowcount)

    async def record(
        self,
        endpoint_id: str,
        *,
        ok: bool,
        now: datetime,
        error: str | None = None,
        refused: bool = False,
    ) -> WebhookEndpoint:
        """Count a delivery or keep a failure (the first failure starts `failing_since`).
        `refused`: Herald refused the target (it resolved to a private address); the first
        such failure of a streak is audited as `webhook.refused` (once: that event is itself
        delivered, and refused, without a second one)."""
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
                    started = await conn.execute(
                        update(table)
                        .where(table.c.id == endpoint_id, table.c.failing_since.is_(None))
                        .values(failing_since=now)
                    )
                    if refused and started.rowcount:
                        endpoint = await self._get(conn, endpoint_id)
                        data = {
                            "webhook": endpoint_id,
                            "url": redact_url(endpoint.url),
                            "error": (error or "")[:500],
                        }
                        await self._audit(conn, now, "webhook.refused", "system", None, data)
        return await self.get(endpoint_id)

    async def disable(
        self,
        endpoint_id: str,
        *,
        by: str,
        now: datetime,
        via: str | None = None,
        error: str | None = None,
    ) -> bool:
        """Disable the endpoint: its pending deliveries are parked (kept, not sent) until
        it is enabled, with one `webhook.disabled` event (`error` when Herald disabled it
        after failing for a day). True only for the call that disabled it (one alert).
        Raises WebhookNotFound."""
        o, table = t.outbox, t.webhook_endpoints
        with translate_errors(self._url):
            async with self.engine.begin() as conn:
                await lock_cursor(conn)
                endpoint = await self._get(conn, endpoint_id)
                flipped = await conn.execute(
                    update(table)
                    .where(table.c.id == endpoint_id, table.c.enabled.is_(True))
                    .values(enabled=False, disabled_at=now)
                )
                if not flipped.rowcount:
                    return False
                parked = await conn.execute(
                    update(o)
                    .where(o.c.kind == WEBHOOK_KIND + endpoint_id, o.c.sent_at.is_(None))
                    .values(next_attempt_at=now + PARKED, last_error=PARKED_NOTE)
                )
                data: dict[str, Any] = {
                    "webhook": endpoint_id,
                    "url": endpoint.shown_url,
                    "parked": int(parked.rowcount),
                }
                if error is not None:
                    data["error"] = error
                await self._audit(conn, now, "webhook.disabled", by, via, data)
                await self.deliveries.trim(conn, endpoint_id)
                return True

    async def enable(
        self, endpoint_id: str, *, by: str, now: datetime, via: str | None = None
    ) -> int | None:
        """Enable the endpoint again: every delivery parked meanwhile (and any waiting
        for a retry) is due at once, in its original order, its backoff starting over;
        one `webhook.enabled` event. Returns how many were re-queued, or None when it was
        enabled already (nothing changes). Raises WebhookNotFound."""
        o, table = t.outbox, t.webhook_endpoints
        with translate_errors(self._url):
            async with self.engine.begin() as conn:
                await lock_cursor(conn)
                endpoint = await self._get(conn, endpoint_id)
                flipped = await conn.execute(
                    update(table)
                    .where(table.c.id == endpoint_id, table.c.enabled.is_(False))
                    .values(enabled=True, disabled_at=None, failing_since=None)
                )
                if not flipped.rowcount:
                    return None
                released = await conn.execute(
                    update(o)
                    .where(o.c.kind == WEBHOOK_KIND + endpoint_id, o.c.sent_at.is_(None))
                    .values(next_attempt_at=now, attempts=0, last_error=None)
                )
                data = {
                    "webhook": endpoint_id,
                    "url": endpoint.shown_url,
                    "requeued": int(released.rowcount),
                }
                await self._audit(conn, now, "webhook.enabled", by, via, data)
                if over_cap := await self.deliveries.dropped(conn, endpoint_id, reset=True):
                    # One event for the whole disable, however many rounds dropped some.
                    lost = {"webhook": endpoint_id, "url": endpoint.shown_url, "dropped": over_cap}
                    await self._audit(conn, now, "webhook.parked_dropped", by, via, lost)
                return int(released.rowcount)

    async def _get(self, conn: Any, endpoint_id: str) -> WebhookEndpoint:
        table = t.webhook_endpoints
        row = (
            (await conn.execute(select(table).where(table.c.id == endpoint_id))).mappings().first()
        )
        if row is None:
            raise WebhookNotFound(endpoint_id)
        return endpoint_of(row)

    async def _audit(
        self,
        conn: Any,
        now: datetime,
        kind: str,
        by: str,
        via: str | None,
        data: dict[str, Any],
    ) -> None:
        if via:
            data = {**data, "via": via}  # the API token the user acted through
        await conn.execute(t.events.insert().values(audit_row(now, kind, by, data)))

    async def _start_cursor(self, conn: Any) -> None:
        """The first endpoint starts the fan-out at the log's end (no history replay)."""
        e = t.events
        last = (await conn.execute(select(e.c.seq).order_by(e.c.seq.desc()).limit(1))).scalar()
        await conn.execute(
            self._insert(t.api_state)
            .values(key=CURSOR, value=int(last or 0))
            .on_conflict_do_nothing(index_elements=[t.api_state.c.key])
        )


def check_event_kinds(events: tuple[str, ...]) -> None:
    """Raise InvalidInput naming the first subscription that is no event kind: such an
    endpoint would be stored and then never receive anything (a typo is silent otherwise)."""
    known = [str(k) for k in EventKind]
    for name in events:
        if name != "*" and name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"did you mean {close[0]}?" if close else "e.g. slot.published, risk.alert"
            raise InvalidInput(
                f"events: {name[:80]!r} is not an event kind ({hint}); * for every kind"
            )
