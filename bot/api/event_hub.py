"""One poller of the audit log per process, shared by every SSE stream and cache.

The hub reads the events after the last seq it saw (every replica reads the same database,
so it sees every process's events, in seq order), hands each to its listeners (which keep
the process's caches current), and keeps the newest ones, framed once, in a shared log.
Streams read that log from their own cursor: a burst costs one slice per stream, not one
queue operation per event and stream. A stream more than `queue_size` events behind is
told where to resume (see bot/api/sse.py).
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from engine.models import Event

log = logging.getLogger("herald.api.sse")
BATCH = 1000  # events read per query
YIELD_EVERY = 200  # events handled between two turns of the event loop
# Streams woken per turn of the event loop when news comes: 200 streams woken at once
# wrote 200 bursts in one turn (30-60 ms on a loaded 2-core host, every poll), and every
# Slack ack and API answer waited behind them.
WAKE_BATCH = 20


def frame(item: Any) -> bytes:
    """An audit event (storage.event_log.LoggedEvent) as one SSE message."""
    data = json.dumps(item.to_json(), separators=(",", ":"))
    return f"id: {item.seq}\nevent: {item.event.kind}\ndata: {data}\n\n".encode()


@dataclass
class Pending:
    """What a stream has to send next from the shared log."""

    frames: list[bytes]
    last: int  # the seq of the newest event looked at (sent or not its distribution's)
    behind: int  # how many events of the stream wait, the ones in `frames` included


@dataclass
class EventHub:
    """Polls the audit log, tells listeners, and keeps the newest frames for streams."""

    events: Any  # storage.event_log.EventLog
    interval: float = 0.2
    queue_size: int = 1000
    position: int = 0  # the newest seq read
    # The shared log: frames of the events after `base`, in seq order (trimmed from the
    # front; a stream whose cursor is before `base` reads the database instead).
    base: int = 0
    seqs: list[int] = field(default_factory=list)
    owners: list[str | None] = field(default_factory=list)  # each event's distribution
    frames: list[bytes] = field(default_factory=list)
    streams: int = 0  # open streams (the hub frames events only while there are some)
    closing: bool = False  # the server is shutting down: streams end
    listeners: list[Callable[[Event], None]] = field(default_factory=list)
    polled_at: float = float("-inf")  # time.monotonic() of the last successful poll
    _task: asyncio.Task[None] | None = None
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _waiting: dict[asyncio.Event, None] = field(default_factory=dict)  # streams' wake-ups
    _waking: asyncio.Task[None] | None = None

    def listen(self, listener: Callable[[Event], None]) -> None:
        """Call `listener` with every new event, whichever process wrote it (it must be
        quick; what it raises is logged)."""
        self.listeners.append(listener)

    def current(self) -> bool:
        """Whether listeners have heard everything up to a few seconds ago (the last poll
        succeeded recently): caches may rely on them for invalidation. A loaded process's
        poll can take a second or two; beyond 5 s, caches read the database again."""
        limit = max(5.0, 10 * self.interval)
        return self._task is not None and time.monotonic() - self.polled_at <= limit

    async def start(self) -> None:
        self.position = self.base = await self.events.last_seq()
        self._task = asyncio.create_task(self._run())

    async def close_streams(self, app: object = None) -> None:
        """Let every open stream end (on the app's shutdown, before handlers are awaited)."""
        self.closing = True
        self._announce()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None

    def wake(self) -> None:
        """Poll now (a local commit just happened)."""
        self._wake.set()

    def news(self, event: asyncio.Event | None = None) -> asyncio.Event:
        """An event set when the next events (or the end) come: wait on it after
        `pending` found nothing. A stream passes the one it was given before, so that a
        stream waits on one event, not on a new one per heartbeat."""
        event = event or asyncio.Event()
        event.clear()
        self._waiting[event] = None
        return event

    def forget(self, event: asyncio.Event) -> None:
        """Stop waking `event` (its stream ended)."""
        self._waiting.pop(event, None)

    def covers(self, cursor: int) -> bool:
        """Whether every event read after `cursor` is in the shared log."""
        return cursor >= self.base

    def pending(self, cursor: int, distribution_id: str | None, limit: int = 500) -> Pending:
        """Up to `limit` frames after `cursor` (of one distribution, if given), and how
        many of the stream's events wait in all. Only when `covers(cursor)`."""
        start = bisect.bisect_right(self.seqs, cursor)
        if distribution_id is None:
            end = min(len(self.seqs), start + limit)
            last = self.seqs[end - 1] if end > start else cursor
            return Pending(self.frames[start:end], last, len(self.seqs) - start)
        picked: list[bytes] = []
        last, behind = cursor, 0
        for i in range(start, len(self.seqs)):
            if self.owners[i] != distribution_id:
                if len(picked) < limit:
                    last = self.seqs[i]
                continue
            behind += 1
            if len(picked) < limit:
                picked.append(self.frames[i])
                last = self.seqs[i]
        if len(picked) < limit:
            last = max(last, self.position)  # nothing else of its own up to what was read
        return Pending(picked, last, behind)

    async def poll(self) -> int:
        """Read and hand on everything after `position`; returns how many events."""
        found = 0
        while True:
            batch = await self.events.after(self.position, limit=BATCH)
            for n, item in enumerate(batch, 1):
                if n % YIELD_EVERY == 0:
                    await asyncio.sleep(0)  # a full batch is ~0.1 s of work: let others run
                for listener in self.listeners:
                    try:
                        listener(item.event)
                    except Exception:  # a cache left stale, not a stream stopped
                        log.exception("event listener failed on %s", item.event.kind)
                if self.streams:
                    self.seqs.append(item.seq)
                    self.owners.append(item.event.distribution_id)
                    self.frames.append(frame(item))  # once, whatever the number of streams
                else:
                    self.base = item.seq  # nobody reads the log: keep it empty
                self.position = item.seq
            found += len(batch)
            if batch:
                self._trim()
                self._announce()
            if len(batch) < BATCH:
                self.polled_at = time.monotonic()
                return found

    def _trim(self) -> None:
        keep = self.queue_size + BATCH  # a stream further behind is dropped anyway
        if len(self.seqs) > 2 * keep:
            cut = len(self.seqs) - keep
            self.base = self.seqs[cut - 1]
            del self.seqs[:cut], self.owners[:cut], self.frames[:cut]

    def _announce(self) -> None:
        waiting, self._waiting = list(self._waiting), {}
        for event in waiting[:WAKE_BATCH]:
            event.set()
        if len(waiting) > WAKE_BATCH:
            later = asyncio.get_running_loop().create_task(self._wake_in_turns(waiting))
            self._waking = later  # kept referenced until done

    async def _wake_in_turns(self, waiting: list[asyncio.Event]) -> None:
        # The rest, WAKE_BATCH a turn: requests and acks that came meanwhile go in between.
        # (This task itself starts a turn later than the first batch.)
        for start in range(WAKE_BATCH, len(waiting), WAKE_BATCH):
            for event in waiting[start : start + WAKE_BATCH]:
                event.set()
            await asyncio.sleep(0)

    async def _run(self) -> None:
        while True:
            try:
                if self.streams or self.listeners:
                    await self.poll()
                else:
                    self.position = self.base = await self.events.last_seq()
                    self.polled_at = time.monotonic()
            except Exception:
                log.exception("event hub poll failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
            self._wake.clear()
