"""Live events as server-sent events, read from the audit log by seq.

A stream starts after `Last-Event-ID` (or `?after=`), reads what it missed from the
database, then follows the process's `EventHub` (bot/api/event_hub.py: one poller of the
log per process, whose newest frames every stream reads from its own cursor; every replica
reads the same database, so a client on any replica sees every event, in seq order).
Heartbeat comments keep proxies open; a client more than `queue_size` events behind is
sent a final `dropped` event naming the id to resume after.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from bot.api import schemas as s
from bot.api.core import Call, route
from bot.api.event_hub import EventHub, frame
from bot.api.problems import Problem
from engine.errors import StorageError

CHUNK = 500  # events per database read and per write


async def stream(call: Call, distribution_id: str | None) -> web.StreamResponse:
    ctx = call.ctx
    header = call.request.headers.get("Last-Event-ID")
    after: int | None = call.query.after
    field = "after"
    if header is not None:
        field = "Last-Event-ID"
        try:
            after = int(header)
        except ValueError:
            raise Problem(422, "Last-Event-ID: not an event id", field=field) from None
        if after < 0:
            raise Problem(
                422, f"Last-Event-ID: {after} is not an event id (ids are >= 0)", field=field
            )
    hub: EventHub = ctx.hub
    newest = await ctx.events.last_seq()
    if after is not None and after > newest:
        # Nothing was ever sent with that id (another database, a typo): the stream would
        # stay silent until the log grew past it. Every replica reads the same log, so no
        # id a client was sent is ever ahead of this read.
        raise Problem(
            422,
            f"{field}: {after} is after the newest event ({newest}): "
            "resume from an id this server sent, or omit it to follow new events",
            field=field,
        )
    sent = newest if after is None else after
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(call.request)
    ctx.metrics.inc("herald_api_sse_connections_total")
    hub.streams += 1
    try:
        await response.write(f"retry: 2000\n: resuming after {sent}\n\n".encode())
        tick, idle = min(1.0, ctx.heartbeat), 0.0
        live = False  # caught up once (before that, a backlog is being read, not a lag)
        news: asyncio.Event | None = None
        while not (hub.closing or _gone(call.request)):
            if not hub.covers(sent):
                # Older than the hub's log (a reconnect, a new stream): from the database.
                read_up_to = hub.position  # visible in full: seqs commit in order
                batch = await _read_after(ctx.events, sent, distribution_id)
                if batch:
                    data = b"".join(frame(item) for item in batch)
                    async with asyncio.timeout(ctx.write_timeout):
                        await response.write(data)
                    sent = batch[-1].seq
                if len(batch) < CHUNK:
                    sent = max(sent, read_up_to)
                continue
            news = hub.news(news)
            todo = hub.pending(sent, distribution_id, CHUNK)
            if live and todo.behind > hub.queue_size:
                # Once caught up, it fell behind: it cannot keep up. Say where to resume,
                # and end the stream.
                ctx.metrics.inc("herald_api_sse_dropped_total")
                notice = json.dumps({"resume_after": sent, "reason": "client too slow"})
                await response.write(f"event: dropped\ndata: {notice}\n\n".encode())
                break
            live = live or todo.behind <= min(CHUNK, hub.queue_size)
            if todo.frames:
                # A burst goes out in one write (one syscall and one timeout, not one per
                # event: a 10 000-slot run is bursty).
                data = b"".join(todo.frames)
                # A timeout scope, not wait_for: that made a task per write per stream
                # (200 streams x 5 polls a second).
                async with asyncio.timeout(ctx.write_timeout):
                    await response.write(data)
                idle = 0.0
            sent = todo.last
            if todo.frames:
                continue
            try:
                async with asyncio.timeout(tick):
                    await news.wait()
            except TimeoutError:
                idle += tick
                if idle >= ctx.heartbeat:
                    idle = 0.0
                    async with asyncio.timeout(ctx.write_timeout):
                        await response.write(b": heartbeat\n\n")
    except (ConnectionResetError, TimeoutError):
        pass  # the client left or stopped reading
    finally:
        hub.streams -= 1
        if news is not None:
            hub.forget(news)
    return response


async def _read_after(events: Any, seq: int, distribution_id: str | None) -> list[Any]:
    """The next events from the database; a busy or briefly unreachable database is retried
    for a few seconds before the stream gives up (the client then resumes by Last-Event-ID)."""
    for attempt in range(10):
        try:
            return await events.after(seq, distribution_id=distribution_id, limit=CHUNK)
        except StorageError:
            if attempt == 9:
                raise
            await asyncio.sleep(0.5)
    return []


def _gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


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
