"""Two replicas (two app instances, one PostgreSQL): an SSE client on either sees every
event in order, and an Idempotency-Key answers the same on both."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from engine.models import SYSTEM
from storage.event_log import EventLog
from tests.api.conftest import REQUEST, Api, make_tokens, start_api, stop_api
from tests.api.receiver import Receiver
from tests.api.sse_client import SseReader
from tests.bot.conftest import ACCOUNTS_CSV, T0
from tests.bot.fake_slack import FakeSlack
from tests.conftest import empty_postgres

pytestmark = pytest.mark.postgres
# The receiver listens on loopback: webhook targets may be private here.
PRIVATE = {"HERALD_WEBHOOK_ALLOW_PRIVATE_URLS": "true"}


@pytest.fixture
async def replicas(fake: FakeSlack, migrated_postgres_url: str) -> AsyncIterator[tuple[Api, Api]]:
    from engine.clock import ManualClock

    await empty_postgres(migrated_postgres_url)
    clock = ManualClock(T0)
    a = await start_api(fake, migrated_postgres_url, clock, **PRIVATE)
    b = await start_api(fake, migrated_postgres_url, clock, **PRIVATE)
    await a.service.import_accounts(SYSTEM, ACCOUNTS_CSV)
    await make_tokens(a)
    b.tokens = a.tokens
    yield a, b
    await stop_api(a)
    await stop_api(b)


class TestReplicas:
    async def test_sse_on_one_replica_sees_the_other(self, replicas: tuple[Api, Api]) -> None:
        """Everything done on replica A (API calls, dispatcher publishes) streams from B in
        seq order, none missing."""
        a, b = replicas
        resp = await b.session.get(f"{b.url}/api/v1/events?after=0", headers=b.auth("operator"))
        reader = SseReader(resp)
        _status, d, _ = await a.call("POST", "/distributions", json=REQUEST)
        await a.call("POST", f"/distributions/{d['id']}/plan")
        await a.call("POST", f"/distributions/{d['id']}/approve", who="approver", json={})
        for _ in range(40):
            a.clock.advance(timedelta(minutes=10))
            await a.deps.herald.dispatcher.tick()
        log = EventLog(a.deps.herald.repository.engine)
        expected = [e.seq for e in await log.after(0, limit=10_000)]
        assert len(expected) > 10
        got = await reader.take(len(expected), timeout=10)
        resp.close()
        assert [int(e.id or 0) for e in got] == expected
        assert sum(1 for e in got if e.event == "slot.published") > 0

    async def test_idempotency_key_across_replicas(self, replicas: tuple[Api, Api]) -> None:
        """The same key on the other replica replays the first answer; one distribution."""
        a, b = replicas
        headers = {"Idempotency-Key": "ci-run-7"}
        first = await a.call("POST", "/distributions", json=REQUEST, headers=headers)
        again = await b.call("POST", "/distributions", json=REQUEST, headers=headers)
        assert first[0] == again[0] == 201 and first[1]["id"] == again[1]["id"]
        assert len(await b.service.list()) == 1

    async def test_webhook_kept_across_disable_on_one_replica_enable_on_the_other(
        self, replicas: tuple[Api, Api], receiver: Receiver
    ) -> None:
        """Disabled on A, events on both, enabled on B, both replicas delivering: every
        event from the subscription on arrives once, verified."""
        a, b = replicas
        status, hook, _ = await a.call(
            "POST", "/webhooks", who="approver", json={"url": receiver.url, "events": ["*"]}
        )
        assert status == 201
        receiver.secret = hook["secret"]
        await a.call("POST", f"/webhooks/{hook['id']}/disable", who="approver")
        _status, d, _ = await a.call("POST", "/distributions", json=REQUEST)
        await b.call("POST", f"/distributions/{d['id']}/plan")
        assert await a.ctx.deliverer.run_once() + await b.ctx.deliverer.run_once() == 0
        await b.call("POST", f"/webhooks/{hook['id']}/enable", who="approver")
        for _ in range(5):
            a.clock.advance(timedelta(minutes=1))
            await asyncio.gather(a.ctx.deliverer.run_once(), b.ctx.deliverer.run_once())
        kinds = [e.kind for e in reversed(await a.service.history(limit=100))]
        expected = kinds[kinds.index("webhook.added") :]
        got = sorted(receiver.received, key=lambda e: e["seq"])
        assert [e["kind"] for e in got] == expected and receiver.bad_signatures == 0
