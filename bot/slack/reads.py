"""Short-lived, single-flight caches of the heavy reads shared by every Slack surface.

`/herald status`, the Home tab, plain-language questions and the status line all need a
distribution's StatusView. The full `service.status` lists every waiting slot (for the
next due time and the late count): ~100 ms of event-loop CPU on a 10 000-slot run. So:

- the counts (one GROUP BY through the Repository port) are read for every answer, and
  the next due time and late count come from a full read at most `full_every` s old;
- answers are reused for `ttl` seconds, and concurrent askers share one read; an answer
  older than that which no write invalidated is still given while one read refreshes it
  behind (nobody waits for a read that only moves counts);
- a write never hides behind the cache: Herald's own writes `invalidate` (the notifier
  hears every one), and a reused answer is checked against the distribution's version, so
  a write by another process (the CLI, a replica) shows at once too. When a `feed` hears
  every process's writes (the API's audit-log poller) and says it is current, that check
  is skipped: such a write shows within the feed's poll interval, and a cached answer
  costs no database read at all.

The Home tab's account summary (every account) is cached the same way, a little longer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from engine.models import DistributionStatus, SlotStatus
from engine.ports import Repository
from engine.queries import DistributionReads

log = logging.getLogger("herald.slack")
_RUNNING = {DistributionStatus.EXECUTING, DistributionStatus.PAUSED}


class StatusCache:
    """`status(key)` and `accounts()` through the read-only queries, reused for a few
    seconds."""

    def __init__(
        self,
        service: DistributionReads,
        *,
        repository: Repository | None = None,
        ttl: float = 2.0,
        full_every: float = 30.0,
        accounts_ttl: float = 60.0,
    ) -> None:
        self._service = service
        self._repository = repository
        self.ttl = ttl
        self.full_every = full_every
        self.accounts_ttl = accounts_ttl
        # Set by whoever invalidates on every process's writes: while it returns True, a
        # reused answer needs no version check.
        self.feed: Callable[[], bool] | None = None
        self._generation = 0  # bumped by invalidate: a read that straddles one is not kept
        self._values: dict[str, tuple[float, Any]] = {}
        self._full: dict[str, tuple[float, Any]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._refreshing: dict[str, asyncio.Task[None]] = {}

    async def status(self, key: str, *, fresh: bool = False) -> Any:
        """The StatusView of `key` (id or name). Its counts are at most `ttl` seconds old
        (current with `fresh`); next due time and late count at most `full_every`."""
        ttl = 0.0 if fresh else self.ttl
        cached = self._values.get(f"status:{key}")
        followed = self.feed is not None and self.feed()
        checked = cached is not None and not fresh and not followed
        if checked and cached is not None and not await self._current(cached[1]):
            self.invalidate(cached[1].distribution.id)
        return await self._read(f"status:{key}", ttl, lambda: self._compose(key))

    async def _current(self, view: Any) -> bool:
        """Whether `view` still shows the distribution's latest saved version (one
        single-row read; another process may have written since)."""
        try:
            dist = await self._service.resolve(view.distribution.id)
        except Exception:  # gone or unreadable: the full read answers (or raises) properly
            return False
        return bool(dist.version == view.distribution.version)

    def invalidate(self, distribution_id: str | None = None) -> None:
        """Forget what is cached about `distribution_id` (under any key: id or name), or
        about every distribution."""
        self._generation += 1
        for cache in (self._values, self._full):
            for key, (_, value) in list(cache.items()):
                dist = getattr(value, "distribution", None)
                if dist is not None and distribution_id in (None, dist.id):
                    cache.pop(key, None)

    async def _refresh(self, key: str, load: Callable[[], Awaitable[Any]]) -> None:
        try:
            await self._read(key, 0.0, load)
        except Exception as exc:  # the next asker reads (and reports) it
            log.info("background refresh of %s failed: %s", key, exc)

    async def close(self) -> None:
        """Wait for background refreshes (before the loop closes)."""
        if self._refreshing:
            await asyncio.gather(*self._refreshing.values(), return_exceptions=True)

    def invalidate_accounts(self) -> None:
        """Forget the account summary (an account's state or health changed)."""
        self._values.pop("accounts", None)

    async def accounts(self, *, fresh: bool = False) -> Any:
        """Every account (the Home tab's health summary), at most `accounts_ttl` seconds old."""
        ttl = 0.0 if fresh else self.accounts_ttl
        return await self._read("accounts", ttl, lambda: self._service.accounts(None))

    async def _compose(self, key: str) -> Any:
        full = self._full.get(key)
        if self._repository is None or full is None or time.monotonic() - full[0] > self.full_every:
            view = await self._service.status(key)
            self._full[key] = (time.monotonic(), view)
            return view
        old = full[1]
        async with self._repository.reading() as uow:
            dist = await uow.get_distribution(old.distribution.id)
            counts = await uow.slot_counts(dist.id)
        running = dist.status in _RUNNING
        return replace(
            old,
            distribution=dist,
            counts=counts,
            published=counts.get(SlotStatus.PUBLISHED, 0),
            failed=counts.get(SlotStatus.FAILED, 0),
            next_due_at=old.next_due_at if running else None,
            late=old.late if running else 0,
        )

    async def _read(self, key: str, ttl: float, load: Callable[[], Awaitable[Any]]) -> Any:
        cached = self._values.get(key)
        if cached is not None and ttl > 0:
            if time.monotonic() - cached[0] < ttl:
                return cached[1]
            # Older than `ttl` but not invalidated (no write changed what it shows, only
            # counts moved): answer it and refresh behind, so no asker waits for the read.
            if key not in self._refreshing:
                task = asyncio.create_task(self._refresh(key, load))
                self._refreshing[key] = task
                task.add_done_callback(lambda _: self._refreshing.pop(key, None))
            return cached[1]
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            cached = self._values.get(key)
            if cached is not None and time.monotonic() - cached[0] < ttl:
                return cached[1]
            generation = self._generation
            value = await load()
            if generation != self._generation:
                return value  # read before a write was announced: answer, but do not keep
            self._values[key] = (time.monotonic(), value)
            if len(self._values) > 1000:  # forget the oldest half; keys are few in practice
                for old in sorted(self._values, key=lambda k: self._values[k][0])[:500]:
                    self._values.pop(old, None)
                    self._locks.pop(old, None)
            return value
