"""Outbound event webhooks: audit events fanned out into the persisted outbox, delivered
signed, at least once, with backoff; an endpoint failing for a day is disabled, with one
alert in Slack.

Each request is a POST of the event as JSON with these headers (docs/api.md shows how to
verify them):

    Herald-Webhook-Id         the delivery id (the same on every retry: de-duplicate on it)
    Herald-Webhook-Timestamp  unix seconds when this attempt was signed
    Herald-Webhook-Signature  v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>
    Herald-Event              the event kind (slot.published, distribution.completed, ...)

Targets come from API tokens, so a delivery reaches only public addresses (SSRF), checked
where the connection's address is chosen (the resolver: a name that later resolves
privately, DNS rebinding included, is refused) and redirects are not followed; a refused
delivery is a failed one, logged, audited once per failing streak (`webhook.refused`).
HERALD_WEBHOOK_ALLOW_PRIVATE_URLS lifts the check (receivers on a private network, tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
from datetime import timedelta
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver

from engine.adapters.public_download import (
    BlockedUrl,
    PublicOnlyResolver,
    refuse_private_literal,
)
from engine.errors import HeraldError, NotFound
from engine.models import SYSTEM

log = logging.getLogger("herald.webhooks")
MAX_BACKOFF = timedelta(hours=1)
LEASE = timedelta(minutes=1)  # a claimed delivery's hold: well over the 10 s request timeout


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The Herald-Webhook-Signature value for `body` sent at `timestamp`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"v1={mac.hexdigest()}"


def verify(
    secret: str, timestamp: str, body: bytes, signature: str, *, now: float, tolerance: float = 300
) -> bool:
    """What a receiver does: the signature matches and the timestamp is recent."""
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    expected = sign(secret, ts, body)
    return abs(now - ts) <= tolerance and hmac.compare_digest(expected, signature)


def check_target(url: str, *, allow_private: bool) -> None:
    """Refuse a webhook URL naming a private address outright (an IP, `localhost`) when it
    is added; names are checked on every delivery. Raises BlockedUrl."""
    if not allow_private:
        refuse_private_literal(url, what="webhook URL", reach="posts to")


def backoff(attempts: int) -> timedelta:
    """5 s, 10 s, 20 s ... at most an hour between attempts."""
    return min(MAX_BACKOFF, timedelta(seconds=5 * 2 ** min(attempts, 20)))


class WebhookDeliverer:
    """Fans out and delivers, every `interval` seconds, on every replica (safe: the fan-out
    is compare-and-set, and receivers de-duplicate on Herald-Webhook-Id)."""

    def __init__(
        self,
        stores: Any,
        deps: Any,
        *,
        interval: float = 1.0,
        resolver: AbstractResolver | None = None,
    ) -> None:
        self.store = stores.webhooks
        self.deps = deps
        self.clock = deps.clock
        self.interval = interval
        self.outbox = stores.outbox
        self.disable_after = timedelta(hours=deps.settings.event_webhook_disable_after_hours)
        self.timeout = aiohttp.ClientTimeout(total=10)
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        self.allow_private = bool(deps.settings.webhook_allow_private_urls)
        self._resolver = resolver  # the system's by default; tests give their own DNS

    def _open_session(self) -> aiohttp.ClientSession:
        if self.allow_private:
            connector = aiohttp.TCPConnector(resolver=self._resolver) if self._resolver else None
        else:
            guard = PublicOnlyResolver(self._resolver, what="webhook URL", reach="posts to")
            # No DNS cache: every connection's address is the one just checked.
            connector = aiohttp.TCPConnector(resolver=guard, use_dns_cache=False)
        return aiohttp.ClientSession(timeout=self.timeout, connector=connector)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_once()
            except HeraldError as exc:
                log.warning("webhook delivery round failed: %s", exc)
            except Exception:
                log.exception("webhook delivery round failed")
            await asyncio.sleep(self.interval)

    async def run_once(self) -> int:
        """Fan out new events, then deliver what is due; returns how many were delivered."""
        deliveries = self.store.deliveries
        while await deliveries.fan_out(self.clock.now()) >= 500:
            pass
        # Claimed for a lease: another replica's round does not post the same ones.
        due = await deliveries.claim(self.clock.now(), 100, LEASE)
        if not due:
            return 0
        results = await asyncio.gather(*(self._deliver(item) for item in due))
        return sum(results)

    async def _deliver(self, item: Any) -> int:
        now = self.clock.now()
        endpoint_id = item.payload["endpoint"]
        try:
            endpoint = await self.store.get(endpoint_id)
            secret = await self.store.secret(endpoint_id)
        except NotFound:  # removed while this round ran (its rows went with it)
            await self.store.deliveries.park(item.id, endpoint_id, now)
            return 0
        if not endpoint.enabled:
            # Disabled after this round read its due rows: kept for the enable.
            await self.store.deliveries.park(item.id, endpoint_id, now)
            return 0
        event = item.payload["event"]
        body = json.dumps(event, separators=(",", ":"), sort_keys=True).encode()
        timestamp = int(now.timestamp())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Herald-Webhooks/1",
            "Herald-Webhook-Id": f"whd-{item.id}",
            "Herald-Webhook-Timestamp": str(timestamp),
            "Herald-Webhook-Signature": sign(secret, timestamp, body),
            "Herald-Event": str(event.get("kind", "")),
        }
        error, refused = None, False
        try:
            # IP literals never reach a resolver: checked here, on every attempt.
            check_target(endpoint.url, allow_private=self.allow_private)
            if self._session is None:
                self._session = self._open_session()
            async with self._session.post(
                endpoint.url, data=body, headers=headers, allow_redirects=False
            ) as resp:
                if 200 <= resp.status < 300:
                    await self.outbox.mark_sent(item.id, now)
                    await self.store.record(endpoint_id, ok=True, now=now)
                    log.info(
                        "webhook %s delivered %s to %s", item.id, event.get("kind"), endpoint_id
                    )
                    return 1
                error = f"HTTP {resp.status}"
                if 300 <= resp.status < 400:
                    error += " (a redirect: not followed, give the final URL)"
        except BlockedUrl as exc:
            error, refused = f"refused: {exc}", True
            log.warning("webhook %s to %s refused: %s", item.id, endpoint_id, exc)
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            error = f"network: {type(exc).__name__}"
        await self.outbox.mark_failed(item.id, error, now + backoff(item.attempts))
        state = await self.store.record(
            endpoint_id, ok=False, now=now, error=error, refused=refused
        )
        log.info(
            "webhook %s to %s failed (%s); attempt %d",
            item.id,
            endpoint_id,
            error,
            item.attempts + 1,
        )
        if state.failing_since is not None and now - state.failing_since >= self.disable_after:
            await self._disable(endpoint_id, endpoint.shown_url, error)
        return 0

    async def _disable(self, endpoint_id: str, url: str, error: str) -> None:
        now = self.clock.now()
        # One transaction: the flag, the parked deliveries and the audit event.
        if not await self.store.disable(endpoint_id, by=SYSTEM.id, now=now, error=error):
            return  # another round or replica disabled it (and alerted) first
        text = (
            f"⚠️ Webhook {endpoint_id} ({url}) has failed for "
            f"{self.disable_after.total_seconds() / 3600:g} h ({error}) and is disabled; "
            "its deliveries are kept. Fix the receiver, then "
            f"`herald webhooks enable {endpoint_id}`: they all go, in order."
        )
        log.warning(text)
        notifier = self.deps.notifier
        channel = self.deps.settings.alerts_channel
        if notifier is not None and channel:
            await notifier.delivery.call("chat.postMessage", channel=channel, text=text)
