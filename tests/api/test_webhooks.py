"""Outbound webhooks: signed deliveries a receiver verifies, at least once through the
persisted outbox (a receiver down for a while gets everything after), and an endpoint
failing for a day is disabled with one Slack alert."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.api.webhooks import verify
from engine.models import SYSTEM
from tests.api.conftest import REQUEST, Api, make_tokens, start_api, stop_api
from tests.bot.conftest import ACCOUNTS_CSV, ALERTS
from tests.bot.fake_slack import FakeSlack


@dataclass
class Receiver:
    """A webhook receiver on loopback that verifies every signature, as docs/api.md says."""

    secret: str = ""
    up: bool = True
    received: list[dict[str, Any]] = field(default_factory=list)
    delivery_ids: list[str] = field(default_factory=list)
    bad_signatures: int = 0
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        if not self.up:
            return web.Response(status=503)
        body = await request.read()
        ok = verify(
            self.secret,
            request.headers["Herald-Webhook-Timestamp"],
            body,
            request.headers["Herald-Webhook-Signature"],
            now=float(request.headers["Herald-Webhook-Timestamp"]),
        )
        if not ok:
            self.bad_signatures += 1
            return web.Response(status=401)
        self.received.append(await request.json())
        self.delivery_ids.append(request.headers["Herald-Webhook-Id"])
        return web.Response(status=204)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    app = web.Application()
    app.router.add_post("/hook", r.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    r.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/hook"  # type: ignore[union-attr]
    yield r
    await runner.cleanup()


@pytest.fixture
async def hooked(fake: FakeSlack, tmp_path: Path) -> AsyncIterator[Api]:
    """An app whose background deliverer stays idle: tests drive rounds themselves."""
    from storage.migrate import upgrade

    url = f"sqlite+aiosqlite:///{tmp_path / 'herald.db'}"
    await upgrade(url)
    api = await start_api(fake, url, HERALD_EVENT_WEBHOOK_INTERVAL_SECONDS="3600")
    await api.service.import_accounts(SYSTEM, ACCOUNTS_CSV)
    await make_tokens(api)
    yield api
    await stop_api(api)


async def _subscribe(api: Api, receiver: Receiver, events: list[str]) -> str:
    status, hook, _ = await api.call(
        "POST", "/webhooks", who="approver", json={"url": receiver.url, "events": events}
    )
    assert status == 201, hook
    receiver.secret = hook["secret"]
    return str(hook["id"])


class TestDelivery:
    async def test_signed_deliveries_of_subscribed_kinds(
        self, hooked: Api, receiver: Receiver
    ) -> None:
        """Only subscribed kinds are delivered, each signed; the secret is never listed."""
        await _subscribe(hooked, receiver, ["distribution.created", "distribution.planned"])
        _, d, _ = await hooked.call("POST", "/distributions", json=REQUEST)
        await hooked.call("POST", f"/distributions/{d['id']}/plan")
        await hooked.call("POST", f"/distributions/{d['id']}/simulate")
        assert await hooked.ctx.deliverer.run_once() == 2
        # Deliveries run concurrently, so they may arrive in any order; `seq` orders them.
        delivered = sorted(receiver.received, key=lambda e: e["seq"])
        assert [e["kind"] for e in delivered] == [
            "distribution.created",
            "distribution.planned",
        ]
        assert receiver.bad_signatures == 0
        assert receiver.received[0]["distribution_id"] == d["id"]
        _status, listed, _ = await hooked.call("GET", "/webhooks", who="approver")
        assert listed[0]["delivered"] == 2 and listed[0]["secret"] is None
        assert await hooked.ctx.deliverer.run_once() == 0  # nothing twice

    async def test_operator_cannot_manage_webhooks(self, hooked: Api, receiver: Receiver) -> None:
        """Adding an endpoint needs the approve scope (and an approver)."""
        status, _problem, _ = await hooked.call(
            "POST", "/webhooks", json={"url": receiver.url, "events": ["*"]}
        )
        assert status == 403

    async def test_receiver_down_gets_everything_afterwards(
        self, hooked: Api, receiver: Receiver
    ) -> None:
        """Deliveries that failed while the receiver was down are retried with backoff and
        all arrive, in order, once it is back."""
        await _subscribe(hooked, receiver, ["*"])
        receiver.up = False
        _status, d, _ = await hooked.call("POST", "/distributions", json=REQUEST)
        await hooked.call("POST", f"/distributions/{d['id']}/plan")
        assert await hooked.ctx.deliverer.run_once() == 0
        for _ in range(3):  # down for a while: every attempt fails, backing off
            hooked.clock.advance(timedelta(minutes=5))
            await hooked.call("POST", f"/distributions/{d['id']}/simulate")
            assert await hooked.ctx.deliverer.run_once() == 0
        receiver.up = True
        hooked.clock.advance(timedelta(hours=1))
        delivered = 0
        for _ in range(5):
            delivered += await hooked.ctx.deliverer.run_once()
        kinds = [e["kind"] for e in receiver.received]
        history = [e.kind for e in reversed(await hooked.service.history(limit=100))]
        expected = history[history.index("webhook.added") :]  # from the subscription on
        assert delivered == len(expected) == len(kinds)
        assert sorted(kinds) == sorted(expected)
        assert len(set(receiver.delivery_ids)) == len(receiver.delivery_ids)
        seqs = sorted(e["seq"] for e in receiver.received)
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))

    async def test_failing_for_a_day_is_disabled_with_one_alert(
        self, hooked: Api, receiver: Receiver, fake: FakeSlack
    ) -> None:
        """After a day of failures the endpoint is disabled once, with one alert in Slack."""
        hook_id = await _subscribe(hooked, receiver, ["*"])
        receiver.up = False
        await hooked.call("POST", "/distributions", json=REQUEST)
        for _ in range(30):
            hooked.clock.advance(timedelta(hours=1))
            await hooked.call(
                "POST", "/distributions", json={**REQUEST, "name": f"n{time.time_ns()}"}
            )
            await hooked.ctx.deliverer.run_once()
        _status, listed, _ = await hooked.call("GET", "/webhooks", who="approver")
        assert listed[0]["id"] == hook_id and listed[0]["enabled"] is False
        alerts = [m for m in fake.channel_messages(ALERTS) if hook_id in m.text]
        assert len(alerts) == 1 and "disabled" in alerts[0].text
        kinds = [e.kind for e in await hooked.service.history(limit=200)]
        assert kinds.count("webhook.disabled") == 1
