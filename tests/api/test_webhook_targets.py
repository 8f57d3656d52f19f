"""Webhook targets reach only public addresses (SSRF): a private literal is refused when
added (API and CLI), a name that resolves privately at delivery time is a refused, logged
and audited delivery, redirects are not followed; HERALD_WEBHOOK_ALLOW_PRIVATE_URLS lifts it."""

from __future__ import annotations

import argparse
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp import web

from bot.api.webhooks import WebhookDeliverer
from bot.cli.api import webhooks as webhooks_cli
from engine.adapters.public_download import BlockedUrl
from engine.models import SYSTEM
from tests.api.conftest import REQUEST, Api, make_tokens, start_api, stop_api
from tests.api.receiver import Receiver, running_receiver
from tests.bot.conftest import ACCOUNTS_CSV, APPROVER
from tests.bot.fake_slack import FakeSlack
from tests.fakes.dns import NamesResolver


async def _start(fake: FakeSlack, tmp_path: Path, **extra: str) -> Api:
    from storage.migrate import upgrade

    url = f"sqlite+aiosqlite:///{tmp_path / 'herald.db'}"
    await upgrade(url)
    api = await start_api(fake, url, HERALD_EVENT_WEBHOOK_INTERVAL_SECONDS="3600", **extra)
    await api.service.import_accounts(SYSTEM, ACCOUNTS_CSV)
    await make_tokens(api)
    return api


@pytest.fixture
async def guarded(fake: FakeSlack, tmp_path: Path) -> AsyncIterator[Api]:
    """The default: webhook targets must be public."""
    api = await _start(fake, tmp_path)
    yield api
    await stop_api(api)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with running_receiver() as r:
        yield r


async def _events(api: Api, kind: str) -> list[dict[str, object]]:
    return [e.data for e in await api.service.history(limit=200) if e.kind == kind]


class TestAddingTargets:
    async def test_private_literals_are_refused_when_added(self, guarded: Api) -> None:
        """Loopback, private, link-local (cloud metadata) and `localhost` targets are a 422
        naming `url` and the address; nothing is stored or audited."""
        for url, said in [
            ("http://127.0.0.1:8080/hook", "loopback address 127.0.0.1"),
            ("https://10.1.2.3/hook", "private address 10.1.2.3"),
            ("http://169.254.169.254/latest", "link-local address 169.254.169.254"),
            ("http://[::ffff:192.168.0.1]/h", "private address ::ffff:c0a8:1"),
            ("http://localhost:9000/h", "loopback address localhost"),
        ]:
            status, body, _ = await guarded.call(
                "POST", "/webhooks", who="approver", json={"url": url, "events": ["*"]}
            )
            assert status == 422 and body["field"] == "url", (url, body)
            assert said in body["detail"] and "only posts to public URLs" in body["detail"]
        _, listed, _ = await guarded.call("GET", "/webhooks", who="approver")
        assert listed == [] and await _events(guarded, "webhook.added") == []

    async def test_cli_refuses_a_private_literal(self, guarded: Api) -> None:
        """`herald webhooks add http://127.0.0.1/...` is refused with the same message."""
        args = argparse.Namespace(
            action="add", url="http://127.0.0.1:1/h", events="*", user=APPROVER
        )
        with pytest.raises(BlockedUrl, match="webhook URL resolves to a loopback address"):
            await webhooks_cli(args, guarded.ctx.webhooks, guarded.clock.now())
        assert await guarded.ctx.webhooks.list() == []


class TestDeliveryGuard:
    async def test_a_name_resolving_privately_is_refused_and_audited_once(
        self, guarded: Api, receiver: Receiver, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A public-looking name that resolves to loopback at delivery time (DNS rebinding)
        is never connected to: each delivery fails as refused, is logged, and the failing
        streak is audited once as `webhook.refused`."""
        port = receiver.url.split(":")[2].split("/")[0]
        status, hook, _ = await guarded.call(
            "POST",
            "/webhooks",
            who="approver",
            json={"url": f"http://hooks.example.test:{port}/hook", "events": ["*"]},
        )
        assert status == 201, hook
        dns = NamesResolver({"hooks.example.test": ["127.0.0.1"]})
        deliverer = WebhookDeliverer(guarded.ctx.stores, guarded.deps, resolver=dns)
        await guarded.call("POST", "/distributions", json=REQUEST)
        try:
            with caplog.at_level(logging.WARNING, logger="herald.webhooks"):
                for _ in range(4):
                    assert await deliverer.run_once() == 0
                    guarded.clock.advance(timedelta(minutes=5))
        finally:
            await deliverer.stop()
        assert receiver.requests == 0 and "hooks.example.test" in dns.asked
        (refused,) = await _events(guarded, "webhook.refused")
        assert refused["webhook"] == hook["id"]
        assert "loopback address 127.0.0.1" in str(refused["error"])
        assert any("refused" in r.getMessage() for r in caplog.records)
        _, listed, _ = await guarded.call("GET", "/webhooks", who="approver")
        assert "refused: webhook URL resolves to a loopback" in listed[0]["last_error"]


class TestPrivateTargetsAllowed:
    async def test_setting_allows_loopback_but_redirects_are_not_followed(
        self, fake: FakeSlack, tmp_path: Path, receiver: Receiver
    ) -> None:
        """With HERALD_WEBHOOK_ALLOW_PRIVATE_URLS a loopback receiver is added and gets
        deliveries; a target answering a redirect is a failure naming it, never followed."""
        api = await _start(fake, tmp_path, HERALD_WEBHOOK_ALLOW_PRIVATE_URLS="true")
        hops: list[str] = []

        async def redirect(request: web.Request) -> web.Response:
            hops.append(request.path)
            raise web.HTTPFound(receiver.url)

        app = web.Application()
        app.router.add_post("/moved", redirect)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        moved = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/moved"  # type: ignore[union-attr]
        try:
            status, hook, _ = await api.call(
                "POST", "/webhooks", who="approver", json={"url": moved, "events": ["*"]}
            )
            assert status == 201, hook
            assert await api.ctx.deliverer.run_once() == 0
            assert hops == ["/moved"] and receiver.requests == 0
            _, listed, _ = await api.call("GET", "/webhooks", who="approver")
            assert "HTTP 302" in listed[0]["last_error"]
            assert "not followed" in listed[0]["last_error"]
            assert await _events(api, "webhook.refused") == []
        finally:
            await runner.cleanup()
            await stop_api(api)
