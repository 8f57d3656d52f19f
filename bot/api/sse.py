"""Live events as server-sent events, read from the audit log by seq.

One `EventHub` per process polls the log (every replica reads the same database, so a
client on any replica sees every event, in seq order) and fans events out to bounded
per-client queues. A client starts after `Last-Event-ID` (or `?after=`), reads what it
missed from the database, then follows the hub; heartbeat comments keep proxies open; a
client whose queue overflows is sent a final `dropped` event naming the id to resume after.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.api import schemas as s
from bot.api.core import Call, route
from bot.api.problems import Problem
from engine.errors import StorageError

log = logging.getLogger("herald.api.sse")


@dataclass(eq=False)
class Subscriber:
    distribution_id: str | None
    queue: asyncio.Queue[tuple[Any, bytes]]
    overflowed: bool = False
    # Events up to here come from the database read, not the queue (until the stream knows
    # where it starts, everything does: older events must not fill its queue).
    after: int = sys.maxsize


@dataclass
class EventHub:
    """Polls the audit log and hands new events to every subscriber."""

    events: Any  # storage.event_log.EventLog
    interval: float = 0.2
    queue_size: int = 1000
    position: int = 0
    subscribers: set[Subscriber] = field(default_factory=set)
    closing: bool = False  # the server is shutting down: streams end
    _task: asyncio.Task[None] | None = None
    _wake: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self) -> None:
        self.position = await self.events.last_seq()
        self._task = asyncio.create_task(self._run())

    async def close_streams(self, app: object = None) -> None:
        """Let every open stream end (on the app's shutdown, before handlers are awaited)."""
        self.closing = True

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None

    def wake(self) -> None:
        """Poll now (a local commit just happened)."""
        self._wake.set()

    def subscribe(self, distribution_id: str | None) -> Subscriber:
        sub = Subscriber(distribution_id, asyncio.Queue(self.queue_size))
        self.subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self.subscribers.discard(sub)

    async def poll(self) -> int:
        """Read and fan out everything after `position`; returns how many events."""
        found = 0
        while True:
            batch = await self.events.after(self.position, limit=1000)
            for item in batch:
                encoded = frame(item)  # once per event, whatever the number of clients
                for sub in list(self.subscribers):
                    if item.seq <= sub.after or sub.distribution_id not in (
                        None,
                        item.event.distribution_id,
                    ):
                        continue
                    try:
                        sub.queue.put_nowait((item, encoded))
                    except asyncio.QueueFull:
                        sub.overflowed = True
                self.position = item.seq
            found += len(batch)
            if len(batch) < 1000:
                return found

    async def _run(self) -> None:
        while True:
            try:
                if self.subscribers:
                    await self.poll()
                else:
                    self.position = await self.events.last_seq()
            except Exception:
                log.exception("event hub poll failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
            self._wake.clear()


def frame(item: Any) -> bytes:
    data = json.dumps(item.to_json(), separators=(",", ":"))
    return f"id: {item.seq}\nevent: {item.event.kind}\ndata: {data}\n\n".encode()


async def stream(call: Call, distribution_id: str | None) -> web.StreamResponse:
    ctx = call.ctx
    header = call.request.headers.get("Last-Event-ID")
    after: int | None = call.query.after
    if header is not None:
        try:
            after = int(header)
        except ValueError:
            raise Problem(422, "Last-Event-ID: not an event id", field="Last-Event-ID") from None
    hub: EventHub = ctx.hub
    sub = hub.subscribe(distribution_id)  # before the backlog read: nothing falls between
    sent = await ctx.events.last_seq() if after is None else after
    sub.after = sent  # what the hub skipped meanwhile, the first database read finds
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(call.request)
    ctx.metrics.inc("herald_api_sse_connections_total")
    try:
        await response.write(f"retry: 2000\n: resuming after {sent}\n\n".encode())
        while True:
            # Catch up from the database (the whole backlog, or after an overflow).
            while True:
                sub.overflowed = False
                batch = await _read_after(ctx.events, sent, distribution_id)
                for item in batch:
                    await _send(response, item, ctx.write_timeout)
                    sent = item.seq
                if len(batch) < 500:
                    break
            # Follow the hub (looking up every second: has the client or the server gone?).
            tick, idle = min(1.0, ctx.heartbeat), 0.0
            while not sub.overflowed:
                if hub.closing or _gone(call.request):
                    return response
                try:
                    item, encoded = await asyncio.wait_for(sub.queue.get(), tick)
                except TimeoutError:
                    idle += tick
                    if idle >= ctx.heartbeat:
                        idle = 0.0
                        beat = response.write(b": heartbeat\n\n")
                        await asyncio.wait_for(beat, ctx.write_timeout)
                    continue
                idle = 0.0
                # Whatever else is queued goes out in the same write (one syscall and one
                # timeout per burst, not per event: a 10 000-slot run is bursty).
                chunks, last = [], sent
                while True:
                    if item.seq > last:  # not already sent from the backlog
                        chunks.append(encoded)
                        last = item.seq
                    if sub.queue.empty() or len(chunks) >= 500:
                        break
                    item, encoded = sub.queue.get_nowait()
                if chunks:
                    await asyncio.wait_for(response.write(b"".join(chunks)), ctx.write_timeout)
                    sent = last
            # It could not keep up: say where to resume, and end the stream.
            ctx.metrics.inc("herald_api_sse_dropped_total")
            notice = json.dumps({"resume_after": sent, "reason": "client too slow"})
            await response.write(f"event: dropped\ndata: {notice}\n\n".encode())
            break
    except (ConnectionResetError, TimeoutError):
        pass  # the client left or stopped reading
    finally:
        hub.unsubscribe(sub)
    return response


async def _read_after(events: Any, seq: int, distribution_id: str | None) -> list[Any]:
    """The next events from the database; a busy or briefly unreachable database is retried
    for a few seconds before the stream gives up (the client then resumes by Last-Event-ID)."""
    for attempt in range(10):
        try:
            return await events.after(seq, distribution_id=distribution_id, limit=500)
        except StorageError:
            if attempt == 9:
                raise
            await asyncio.sleep(0.5)
    return []


def _gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


async def _send(response: web.StreamResponse, item: Any, timeout: float) -> None:
    await asyncio.wait_for(response.write(frame(item)), timeout)


@route(
    "GET",
    "/events",
    scope="read",
    summary="Every audit event as server-sent events (id = the audit log's seq)",
    query=s.StreamQuery,
    stream=True,
    tags=("audit log",),
)
async def all_events(call: Call) -> web.StreamResponse:
    return await stream(call, None)


@route(
    "GET",
    "/distributions/{id}/events",
    scope="read",
    summary="One distribution's audit events as server-sent events",
    query=s.StreamQuery,
    stream=True,
    tags=("distributions",),
)
async def distribution_events(call: Call) -> web.StreamResponse:
    d = await call.ctx.service.resolve(call.param("id"))
    return await stream(call, d.id)
