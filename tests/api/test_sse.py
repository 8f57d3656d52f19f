"""Live events over SSE: ids are the audit log's seq, Last-Event-ID resumes with nothing
missed, heartbeats flow, and a client that cannot keep up is told where to resume."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from engine.models import SYSTEM, Event, new_event_id
from storage.event_log import EventLog
from tests.api.conftest import REQUEST, Api
from tests.api.sse_client import SseReader


async def _open(api: Api, path: str, last: str | None = None) -> aiohttp.ClientResponse:
    headers = api.auth("operator")
    if last is not None:
        headers["Last-Event-ID"] = last
    resp = await api.session.get(f"{api.url}/api/v1{path}", headers=headers)
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/event-stream")
    return resp


async def _append(api: Api, count: int, kind: str = "test.ping") -> None:
    now = api.clock.now()
    async with api.deps.herald.repository.unit_of_work() as uow:
        for i in range(count):
            await uow.append_event(Event(new_event_id(), now, kind, SYSTEM.id, data={"n": i}))


async def _all_seqs(api: Api, distribution_id: str | None = None) -> list[int]:
    log = EventLog(api.deps.herald.repository.engine)
    try:
        return [e.seq for e in await log.after(0, distribution_id=distribution_id, limit=10_000)]
    finally:
        await log.close()


class TestStream:
    async def test_reconnect_with_last_event_id_misses_nothing(self, api: Api) -> None:
        """Events before, during and between two connections all arrive once, in order."""
        resp = await _open(api, "/events?after=0")
        reader = SseReader(resp)
        _status, created, _ = await api.call("POST", "/distributions", json=REQUEST)
        await api.call("POST", f"/distributions/{created['id']}/plan")
        await _append(api, 5)
        first = await reader.take(4)
        resp.close()
        await _append(api, 7)  # while disconnected
        await api.call("POST", f"/distributions/{created['id']}/simulate")
        resp = await _open(api, "/events", last=first[-1].id)
        reader = SseReader(resp)
        total = len(await _all_seqs(api))
        rest = await reader.take(total - len(first))
        resp.close()
        ids = [int(e.id or 0) for e in first + rest]
        assert ids == await _all_seqs(api)
        assert ids == sorted(set(ids))
        kinds = [e.event for e in first + rest]
        assert "distribution.planned" in kinds and kinds[-1] == "distribution.simulated"
        assert (first + rest)[-1].data["seq"] == ids[-1]

    async def test_distribution_stream_has_only_its_events(self, api: Api) -> None:
        """/distributions/{id}/events carries that distribution's events only."""
        _, a, _ = await api.call("POST", "/distributions", json=REQUEST)
        _status, b, _ = await api.call("POST", "/distributions", json={**REQUEST, "name": "other"})
        resp = await _open(api, f"/distributions/{a['id']}/events?after=0")
        reader = SseReader(resp)
        await api.call("POST", f"/distributions/{b['id']}/plan")
        await api.call("POST", f"/distributions/{a['id']}/plan")
        got = await reader.take(2)
        resp.close()
        assert [e.event for e in got] == ["distribution.created", "distribution.planned"]
        assert {e.data["distribution_id"] for e in got} == {a["id"]}

    async def test_heartbeat(self, api: Api) -> None:
        """With nothing happening, heartbeat comments keep the stream alive."""
        api.ctx.heartbeat = 0.1
        resp = await _open(api, "/events")
        lines = []
        for _ in range(20):
            lines.append((await asyncio.wait_for(resp.content.readline(), 3)).decode().strip())
            if lines[-1] == ": heartbeat":
                break
        resp.close()
        assert ": heartbeat" in lines

    async def test_slow_client_is_dropped_with_resume_point(self, api: Api) -> None:
        """A client whose queue overflows gets a final `dropped` event naming the id to
        resume after; resuming there delivers the rest."""
        api.ctx.hub.queue_size = 3
        resp = await _open(api, "/events")
        reader = SseReader(resp)
        await _append(api, 1)
        first = await reader.take(1)
        await _append(api, 40)  # one poll pushes 40 events at a queue of 3
        got = first + await reader.take(50)
        resp.close()
        dropped = got[-1]
        assert dropped.event == "dropped"
        resume = dropped.data["resume_after"]
        assert resume == int(got[-2].id or 0)
        api.ctx.hub.queue_size = 1000
        resp = await _open(api, "/events", last=str(resume))
        seqs = await _all_seqs(api)
        rest = await SseReader(resp).take(len([s for s in seqs if s > resume]))
        resp.close()
        delivered = [int(e.id or 0) for e in got[:-1] + rest]
        assert delivered == [s for s in seqs if s >= int(first[0].id or 0)]

    async def test_a_backlog_is_read_not_dropped(self, api: Api) -> None:
        """A client reconnecting far behind (more than a slow client's allowance, some
        of it in the hub's memory) gets every event: catching up is not falling behind."""
        api.ctx.hub.queue_size = 5
        live = await _open(api, "/events")  # so the hub keeps frames in its shared log
        await _append(api, 60)
        await asyncio.sleep(3 * api.ctx.hub.interval)
        assert len(api.ctx.hub.seqs) >= 60
        resp = await _open(api, "/events?after=0")
        seqs = await _all_seqs(api)
        got = await SseReader(resp).take(len(seqs))
        resp.close()
        live.close()
        assert [int(e.id or 0) for e in got] == seqs

    async def test_many_streams_share_one_poller(self, api: Api) -> None:
        """Forty streams, on one distribution or all, each get exactly their events
        from one hub (frames are made once, not per stream)."""
        _, a, _ = await api.call("POST", "/distributions", json=REQUEST)
        everything = [await _open(api, "/events") for _ in range(30)]
        mine = [await _open(api, f"/distributions/{a['id']}/events") for _ in range(10)]
        await api.call("POST", f"/distributions/{a['id']}/plan")
        await _append(api, 5)
        for resp in everything:
            got = await SseReader(resp).take(6)
            assert [e.event for e in got] == ["distribution.planned"] + ["test.ping"] * 5
        for resp in mine:
            got = await SseReader(resp).take(1)
            assert got[0].event == "distribution.planned"
        for resp in everything + mine:
            resp.close()
        assert api.ctx.hub.streams <= 40

    async def test_bad_last_event_id(self, api: Api) -> None:
        """A Last-Event-ID that is not an id is a 422 naming the header."""
        headers: dict[str, Any] = {"Last-Event-ID": "yesterday"}
        status, problem, _ = await api.call("GET", "/events", headers=headers)
        assert status == 422 and problem["field"] == "Last-Event-ID"

    async def test_negative_or_future_resume_point_is_refused(self, api: Api) -> None:
        """A negative id, or one after the newest event (another database, a typo), is a 422
        naming where it came from: such a stream would stay silent, maybe for ever."""
        await _append(api, 3)
        newest = max(await _all_seqs(api))
        for where, value in (("header", "-5"), ("header", f"{newest + 1}"), ("query", "10**30")):
            if where == "header":
                kwargs: dict[str, Any] = {"headers": {"Last-Event-ID": value}}
                field = "Last-Event-ID"
            else:
                kwargs, field = {"params": {"after": str(10**30)}}, "after"
            status, problem, _ = await api.call("GET", "/events", **kwargs)
            assert (status, problem["field"]) == (422, field), problem
        status, problem, _ = await api.call("GET", "/events", headers={"Last-Event-ID": "1e3"})
        assert status == 422
        resp = await _open(api, "/events", last=str(newest - 1))
        got = await SseReader(resp).take(1)
        assert got[0].id == str(newest)
        resp.close()


class TestWakeUps:
    async def test_streams_are_woken_a_batch_per_loop_turn(self) -> None:
        """News wakes WAKE_BATCH waiting streams at once and the rest over the next
        turns of the loop (200 streams' writes in one turn stalled every request)."""
        from bot.api.event_hub import WAKE_BATCH, EventHub

        hub = EventHub(events=None)
        waiting = [hub.news() for _ in range(3 * WAKE_BATCH + 5)]
        hub._announce()
        assert sum(e.is_set() for e in waiting) == WAKE_BATCH
        await asyncio.sleep(0)
        assert sum(e.is_set() for e in waiting) == 2 * WAKE_BATCH
        for _ in range(3):
            await asyncio.sleep(0)
        assert all(e.is_set() for e in waiting)

    async def test_a_stream_waits_on_one_event(self) -> None:
        """A stream re-arming its event between heartbeats is registered once, cleared,
        and no longer woken once it ends."""
        from bot.api.event_hub import EventHub

        hub = EventHub(events=None)
        event = hub.news()
        event.set()
        assert hub.news(event) is event and not event.is_set()
        assert len(hub._waiting) == 1
        hub.forget(event)
        hub._announce()
        assert not event.is_set()
