"""WebhookPublisher against a real aiohttp posting service on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from aiohttp import web

from engine.adapters.webhook_publisher import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookPublisher,
    sign,
)
from engine.clock import ManualClock
from engine.errors import (
    AccountSuspended,
    NetworkError,
    OutcomeUnknown,
    RateLimited,
    UnknownPublishError,
)
from engine.ports import PublishRequest
from engine.request import Content
from tests.adapters.media_publisher_support import NOW, media_store, put_bytes
from tests.engine.execution_support import make_accounts

SECRET = "s3cret"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _request(key: str = "herald:d-x.0") -> PublishRequest:
    return PublishRequest(
        slot_id="d-x.0",
        distribution_id="d-x",
        account=make_accounts(1, ["twitter"])[0],
        platform="twitter",
        language="en",
        caption="hello",
        hashtags=("new",),
        content=Content(id="c1", caption="hello"),
        content_type="post",
        idempotency_key=key,
    )


class _Service:
    """A posting service whose answer is set per test; records what it received."""

    def __init__(self) -> None:
        self.handler: Handler | None = None
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.posted: dict[str, str] = {}

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.received.append((dict(request.headers), body))
        assert self.handler is not None
        return await self.handler(request)


@pytest.fixture
async def service() -> AsyncIterator[tuple[_Service, str]]:
    svc = _Service()
    app = web.Application()
    app.router.add_post("/posts", svc.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield svc, f"http://127.0.0.1:{port}/posts"
    await runner.cleanup()


def _answer(status: int, body: object = None, headers: dict[str, str] | None = None) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.json_response(body or {}, status=status, headers=headers)

    return handler


class TestWebhookPublisher:
    async def test_success_is_signed_and_keyed(self, service: tuple[_Service, str]) -> None:
        """2xx gives post id and URL; the body is HMAC-signed and carries the idempotency key."""
        svc, url = service
        svc.handler = _answer(201, {"id": "p-1", "url": "https://x.example/p-1"})
        publisher = WebhookPublisher(url, SECRET)
        try:
            receipt = await publisher.publish(_request())
        finally:
            await publisher.close()
        assert (receipt.post_id, receipt.url) == ("p-1", "https://x.example/p-1")
        headers, body = svc.received[0]
        assert headers["Idempotency-Key"] == "herald:d-x.0"
        assert headers[SIGNATURE_HEADER] == sign(SECRET, headers[TIMESTAMP_HEADER], body)
        assert json.loads(body)["account"]["handle"] == "@twitter_00"
        assert SECRET not in repr(publisher)

    def test_repr_hides_the_url_secret(self) -> None:
        """The publisher's repr (logs, errors) shows its URL redacted."""
        publisher = WebhookPublisher("https://h.example/hooks/s3cr3tPath?token=t0k3n", SECRET)
        assert repr(publisher) == "WebhookPublisher('https://h.example/…Path?token=…')"

    @pytest.mark.parametrize(
        ("status", "body", "headers", "error"),
        [
            (429, {"error": "slow down"}, {"Retry-After": "120"}, RateLimited),
            (423, {"error": "locked"}, None, AccountSuspended),
            (400, {"error": "account_suspended"}, None, AccountSuspended),
            (503, {"error": "down"}, None, NetworkError),
            (422, {"error": "caption too long"}, None, UnknownPublishError),
            (200, {"ok": True}, None, OutcomeUnknown),
        ],
    )
    async def test_answers_map_to_engine_errors(
        self,
        service: tuple[_Service, str],
        status: int,
        body: dict[str, object],
        headers: dict[str, str] | None,
        error: type[Exception],
    ) -> None:
        """Each documented answer raises its engine error (2xx without an id is unknown)."""
        svc, url = service
        svc.handler = _answer(status, body, headers)
        publisher = WebhookPublisher(url, SECRET)
        try:
            with pytest.raises(error) as caught:
                await publisher.publish(_request())
        finally:
            await publisher.close()
        if isinstance(caught.value, RateLimited):
            assert caught.value.retry_after == timedelta(seconds=120)

    async def test_timeout_after_sending_is_outcome_unknown(
        self, service: tuple[_Service, str]
    ) -> None:
        """A service that received the post but answers too late gives OutcomeUnknown."""
        svc, url = service

        async def slow(request: web.Request) -> web.StreamResponse:
            await asyncio.sleep(1)
            return web.json_response({"id": "late"})

        svc.handler = slow
        publisher = WebhookPublisher(url, SECRET, timeout_seconds=0.3)
        try:
            with pytest.raises(OutcomeUnknown, match="after the post was sent"):
                await publisher.publish(_request())
        finally:
            await publisher.close()
        assert len(svc.received) == 1

    async def test_connection_refused_is_a_network_error(self) -> None:
        """Nothing listening: a NetworkError (nothing was sent, a retry is safe)."""
        publisher = WebhookPublisher("http://127.0.0.1:9/posts", SECRET, timeout_seconds=1)
        try:
            with pytest.raises(NetworkError, match="cannot reach"):
                await publisher.publish(_request())
        finally:
            await publisher.close()


class TestWebhookDispatch:
    async def test_dispatcher_publishes_through_the_webhook(
        self, service: tuple[_Service, str]
    ) -> None:
        """A run dispatched through a real posting service stores the service's post ids."""
        from engine.clock import ManualClock
        from engine.dispatcher import Dispatcher, DispatcherConfig
        from tests.engine.execution_support import (
            T0,
            RecordingNotifier,
            memory_repository,
            seed_run,
            slots_of,
        )

        svc, url = service

        async def post(request: web.Request) -> web.StreamResponse:
            key = request.headers["Idempotency-Key"]
            svc.posted.setdefault(key, f"p-{len(svc.posted)}")
            return web.json_response({"id": svc.posted[key], "url": f"https://x.example/{key}"})

        svc.handler = post
        repository = memory_repository()
        clock = ManualClock(T0)
        distribution, _ = await seed_run(repository, make_accounts(2), spacing=timedelta(0))
        publisher = WebhookPublisher(url, SECRET)
        try:
            dispatcher = Dispatcher(
                repository,
                publisher,
                clock,
                RecordingNotifier(),
                config=DispatcherConfig(worker_id="w-hook"),
            )
            await dispatcher.tick()
        finally:
            await publisher.close()
        slots = await slots_of(repository, distribution.id)
        assert {s.status for s in slots} == {"PUBLISHED"}
        assert {s.post_id for s in slots} == set(svc.posted.values())
        assert len(svc.posted) == len(slots) == 6


class TestWebhookMedia:
    async def test_media_go_as_facts_and_signed_links(
        self, service: tuple[_Service, str], tmp_path: Path
    ) -> None:
        """A slot's files are in the payload as facts and a signed link under
        HERALD_PUBLIC_URL that the store verifies; the bytes are not in the body."""
        svc, url = service
        svc.handler = _answer(201, {"id": "p-2"})
        clock = ManualClock(NOW)
        store = media_store(
            tmp_path, clock, public_url="https://herald.example", signing_key=b"k" * 32
        )
        asset = await put_bytes(store, b"\x00video-bytes" * 10)
        publisher = WebhookPublisher(url, SECRET)
        publisher.attach_media(store, ttl_seconds=600)
        try:
            await publisher.publish(replace(_request(), media=(asset,)))
        finally:
            await publisher.close()
        _, body = svc.received[0]
        (sent,) = json.loads(body)["media"]
        assert sent["id"] == asset.id and sent["sha256"] == asset.sha256
        assert (sent["kind"], sent["mime_type"], sent["size_bytes"]) == ("video", "video/mp4", 120)
        assert (sent["width"], sent["height"], sent["duration_s"]) == (1080, 1920, 30.0)
        link = urlsplit(sent["url"])
        assert sent["url"].startswith(f"https://herald.example/media/{asset.id}?")
        query = dict(parse_qsl(link.query))
        assert store.verify(asset.id, query["exp"], query["sig"])
        assert int(query["exp"]) == int(NOW.timestamp()) + 600
        assert b"video-bytes" not in body

    async def test_no_link_is_a_plan_time_problem(self, tmp_path: Path) -> None:
        """Without a public URL (and no URL of the user's), plan time says the posting
        service could not get the file; a text-only slot sends `media: []`."""
        store = media_store(tmp_path, ManualClock(NOW))
        asset = await put_bytes(store, b"bytes")
        publisher = WebhookPublisher("http://127.0.0.1:9/posts", SECRET)
        publisher.attach_media(store)
        content = Content(id="c1", caption="hello")
        problem = publisher.media_problem([asset], content)
        assert problem is not None and "HERALD_PUBLIC_URL" in problem
        linked = Content(id="c1", caption="hello", media_url="https://cdn.example/clip.mp4")
        assert publisher.media_problem([asset], linked) is None
        assert publisher.media_problem([], content) is None
