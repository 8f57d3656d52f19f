"""Unverified Slack requests: 401 and no effect at all, for every way a signature can fail."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp import web

from tests.bot.conftest import Harness
from tests.bot.driver import sign


class Receiver:
    """A stranger's host named as `response_url` in a forged body: records every request."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        async def any_request(request: web.Request) -> web.Response:
            self.hits.append(f"{request.method} {request.path} {await request.text()}")
            return web.Response(text="ok")

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", any_request)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/hook"


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()
    await rec.start()
    yield rec
    assert rec.runner is not None
    await rec.runner.cleanup()


def bodies(h: Harness, hook: str) -> dict[str, tuple[str, str]]:
    """A slash command, a button click and an event, each naming `hook` as response_url."""
    command = {**h.driver.command_body("pause spring"), "response_url": hook}
    click = {
        "type": "block_actions",
        "user": {"id": "U_OP"},
        "channel": {"id": "C_OPS"},
        "response_url": hook,
        "trigger_id": h.fake.issue_trigger(),
        "actions": [{"action_id": "approve", "value": "d1", "block_id": "b"}],
    }
    event = h.driver.event_body(
        {"type": "message", "channel_type": "im", "channel": "D_OP", "user": "U_OP", "text": "hi"}
    )
    event["response_url"] = hook
    form = "application/x-www-form-urlencoded"
    return {
        "command": (urlencode(command), form),
        "click": (urlencode({"payload": json.dumps(click)}), form),
        "event": (json.dumps(event), "application/json"),
    }


def now() -> str:
    return str(int(time.time()))


def bad_headers(secret: str, body: str) -> dict[str, dict[str, str | None]]:
    """Every way the signature headers can fail, as header overrides (None removes)."""
    ts = now()
    good = sign(secret, ts, body)
    old, ahead = str(int(time.time()) - 600), str(int(time.time()) + 600)
    return {
        "no timestamp": {"X-Slack-Request-Timestamp": None, "X-Slack-Signature": good},
        "no signature": {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": None},
        "no headers": {"X-Slack-Request-Timestamp": None, "X-Slack-Signature": None},
        "timestamp not a number": {"X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": good},
        "timestamp a float": {
            "X-Slack-Request-Timestamp": ts + ".5",
            "X-Slack-Signature": sign(secret, ts + ".5", body),
        },
        "timestamp empty": {"X-Slack-Request-Timestamp": "", "X-Slack-Signature": good},
        "timestamp huge": {
            "X-Slack-Request-Timestamp": "9" * 400,
            "X-Slack-Signature": sign(secret, "9" * 400, body),
        },
        "timestamp negative": {
            "X-Slack-Request-Timestamp": "-1",
            "X-Slack-Signature": sign(secret, "-1", body),
        },
        "signature v1": {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v1" + good[2:]},
        "signature not hex": {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=zz"},
        "signature garbage": {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "garbage"},
        "forged": {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=" + "0" * 64},
        "wrong secret": {
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": sign("not-the-secret", ts, body),
        },
        "stale": {"X-Slack-Request-Timestamp": old, "X-Slack-Signature": sign(secret, old, body)},
        "future": {
            "X-Slack-Request-Timestamp": ahead,
            "X-Slack-Signature": sign(secret, ahead, body),
        },
    }


async def send(h: Harness, body: str, content_type: str, headers: dict[str, str | None]) -> int:
    sent = {"Content-Type": content_type}
    sent.update({k: v for k, v in headers.items() if v is not None})
    async with (
        aiohttp.ClientSession() as session,
        session.post(h.driver.url, data=body.encode(), headers=sent) as resp,
    ):
        return resp.status


def assert_no_effect(h: Harness, receiver: Receiver, case: str) -> None:
    assert h.fake.calls == [], f"{case}: Web API called: {h.fake.calls}"
    assert receiver.hits == [], f"{case}: response_url POSTed: {receiver.hits}"
    assert not any(h.fake.responses.values()), f"{case}: {h.fake.responses}"


class TestUnverifiedRequests:
    async def test_every_bad_signature_is_401_without_effect(
        self, harness: Harness, receiver: Receiver
    ) -> None:
        """Missing, malformed, forged, stale and future signatures: 401, nothing sent anywhere."""
        h = harness
        for kind, (body, content_type) in bodies(h, receiver.url).items():
            for case, headers in bad_headers(h.driver.secret, body).items():
                status = await send(h, body, content_type, headers)
                await h.settle()
                assert status == 401, f"{kind} / {case}: {status}"
                assert_no_effect(h, receiver, f"{kind} / {case}")

    async def test_tampered_body_is_401_without_effect(
        self, harness: Harness, receiver: Receiver
    ) -> None:
        """A body changed after signing (another response_url, another user) is refused."""
        h = harness
        for kind, (body, content_type) in bodies(h, receiver.url).items():
            ts = now()
            signature = sign(h.driver.secret, ts, body)
            tampered = body.replace("U_OP", "U_BOSS")
            assert tampered != body
            headers: dict[str, str | None] = {
                "X-Slack-Request-Timestamp": ts,
                "X-Slack-Signature": signature,
            }
            status = await send(h, tampered, content_type, headers)
            await h.settle()
            assert status == 401, f"{kind}: {status}"
            assert_no_effect(h, receiver, kind)

    async def test_a_verified_request_still_works(self, harness: Harness) -> None:
        """The gate lets a correctly signed request through (help answers at once)."""
        reply = await harness.driver.command("help")
        assert reply.status == 200 and "Herald commands" in reply.text

    async def test_unsigned_request_does_not_reach_bolt_parsing(
        self, harness: Harness, receiver: Receiver
    ) -> None:
        """An unsigned body that bolt cannot even parse is still a plain 401."""
        h = harness
        form = "application/x-www-form-urlencoded"
        status = await send(h, "payload=%7Bnot-json", form, {"X-Slack-Signature": "x"})
        await asyncio.sleep(0.05)
        assert status == 401
        assert_no_effect(h, receiver, "unparseable")

    async def test_bolt_layer_alone_refuses_bad_timestamp(
        self, harness: Harness, receiver: Receiver
    ) -> None:
        """Bolt's own verification (behind the gate) answers 401 too, never an error reply."""
        from slack_bolt.request.async_request import AsyncBoltRequest

        h = harness
        body, _ = bodies(h, receiver.url)["command"]
        request = AsyncBoltRequest(
            body=body,
            headers={"x-slack-request-timestamp": "abc", "x-slack-signature": "v0=00"},
        )
        response = await h.app.async_dispatch(request)
        await h.settle()
        assert response.status == 401
        assert_no_effect(h, receiver, "bolt layer")
