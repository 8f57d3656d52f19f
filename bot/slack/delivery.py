"""`SlackDelivery`: Web API calls that survive Slack being slow, rate limited or down.

- 429s are retried by the SDK after `Retry-After` (AsyncRateLimitErrorRetryHandler); if
  Slack still refuses, later calls wait out the same `Retry-After` before trying;
- a call that failed temporarily (429, 5xx, network) is kept in the persisted outbox and
  re-sent by `drain` (every few seconds once `start`ed); errors that can never succeed
  (`invalid_blocks`, `channel_not_found`) are logged and dropped;
- an outbox kind registered in `redo` is re-done by its callable instead of replayed;
- a call refused for good is told to each of `refused` (bot/slack/alerts_access.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.metrics import Metrics
from bot.slack.outbox import Outbox, entry_field
from engine.clock import SystemClock
from engine.ports import Clock

log = logging.getLogger("herald.slack.delivery")

# Slack errors worth trying again later; anything else (invalid_blocks, channel_not_found)
# would fail the same way forever and is only logged.
TEMPORARY_SLACK_ERRORS = frozenset(
    {"ratelimited", "service_unavailable", "internal_error", "fatal_error", "request_timeout"}
)
MAX_BACKOFF_SECONDS = 300.0
PARKED = timedelta(days=3650)  # the outbox has no dead-letter state: "never" is far away

Redo = Callable[[dict[str, Any]], Awaitable[dict[str, Any] | None]]
# Told of a call Slack refused for good: (method, error, the call's arguments).
Refused = Callable[[str, str, dict[str, Any]], Awaitable[None]]


class SlackDelivery:
    """Sends Web API calls; keeps the ones Slack could not take in the outbox."""

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        outbox: Outbox | None = None,
        clock: Clock | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.client = client
        self.outbox = outbox
        self.clock: Clock = clock or SystemClock()
        self.metrics = metrics or Metrics()
        self.redo: dict[str, Redo] = {}
        self.refused: list[Refused] = []
        self._blocked_until = 0.0
        self.last_failure: str | None = None  # "temporary" or "permanent" after a None
        self._drainer: asyncio.Task[None] | None = None

    def start(self, interval: float) -> None:
        """Re-send the outbox every `interval` seconds (needs a running loop)."""
        if self.outbox is not None and self._drainer is None:
            self._drainer = asyncio.get_running_loop().create_task(self._drain_loop(interval))

    async def close(self) -> None:
        """Stop re-sending."""
        if self._drainer is not None and not self._drainer.done():
            self._drainer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._drainer
        self._drainer = None

    async def call(
        self,
        method: str,
        *,
        persist: bool = True,
        persist_as: tuple[str, dict[str, Any]] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any] | None:
        """One Web API call; on a temporary failure the call goes to the outbox (if
        `persist`; as `persist_as` = (kind, payload) when given) and None is returned.
        Honours Retry-After for later calls too."""
        wait = self._blocked_until - self.clock.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        try:
            response = await self.client.api_call(method, json=kwargs)
            self.metrics.inc("herald_slack_calls_total", method=method, result="ok")
            return dict(response.data) if isinstance(response.data, dict) else {}
        except SlackApiError as exc:
            error = str(exc.response.get("error", "")) if exc.response is not None else ""
            status = exc.response.status_code if exc.response is not None else 0
            if status == 429:
                retry_after = float(exc.response.headers.get("Retry-After", 1) or 1)
                self._blocked_until = self.clock.monotonic() + retry_after
            temporary = status == 429 or status >= 500 or error in TEMPORARY_SLACK_ERRORS
            self.metrics.inc("herald_slack_calls_total", method=method, result=error or str(status))
            if not temporary:
                log.warning("Slack refused %s: %s", method, error or status)
                self.last_failure = "permanent"
                for listener in self.refused:
                    await listener(method, error, kwargs)
                return None
            reason = error or f"HTTP {status}"
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            self.metrics.inc("herald_slack_calls_total", method=method, result="network")
            reason = f"network: {type(exc).__name__}"
        self.last_failure = "temporary"
        if persist and self.outbox is not None:
            kind, payload = persist_as or (method, kwargs)
            await self.outbox.enqueue(kind, payload)
            self.metrics.inc("herald_slack_outbox_enqueued_total")
            log.info("Slack %s failed (%s); kept in the outbox", method, reason)
        return None

    async def drain(self, limit: int = 50) -> int:
        """Re-send what is due in the outbox; returns how many went out."""
        if self.outbox is None:
            return 0
        sent = 0
        now = self.clock.now()
        for entry in await self.outbox.due(now, limit):
            entry_id = entry_field(entry, "id")
            kind, payload = entry_field(entry, "kind"), entry_field(entry, "payload")
            if kind in self.redo:
                result = await self.redo[kind](payload)
            else:
                result = await self.call(kind, persist=False, **payload)
            if result is not None:
                await self.outbox.mark_sent(entry_id, now)
                sent += 1
            elif self.last_failure == "permanent":
                # Slack will never take it (message deleted, channel archived): park it.
                await self.outbox.mark_failed(entry_id, "refused by Slack", now + PARKED)
            else:
                attempts = int(
                    getattr(entry, "attempts", 0)
                    or (entry.get("attempts", 0) if isinstance(entry, dict) else 0)
                )
                backoff = min(MAX_BACKOFF_SECONDS, 5.0 * 2**attempts)
                await self.outbox.mark_failed(
                    entry_id, "Slack unavailable", now + timedelta(seconds=backoff)
                )
        return sent

    async def _drain_loop(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.drain()
            except Exception:
                log.exception("outbox drain failed")
