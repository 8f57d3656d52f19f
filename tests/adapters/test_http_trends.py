"""HttpTrendSource against a local aiohttp trends service."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from engine.adapters.http_trends import HttpTrendSource
from engine.errors import InvalidInput, NetworkError
from engine.ports import Trend


class TrendsServer:
    def __init__(self) -> None:
        self.answer: Any = []
        self.status = 200
        self.delay = 0.0
        self.seen: list[Any] = []
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.seen.append(await request.json())
        await asyncio.sleep(self.delay)
        if isinstance(self.answer, str):
            return web.Response(text=self.answer, status=self.status)
        return web.json_response(self.answer, status=self.status)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/distribution/trends", self.handle)
        self.runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/distribution/trends"


@pytest.fixture
async def server() -> AsyncIterator[TrendsServer]:
    fake = TrendsServer()
    await fake.start()
    yield fake
    assert fake.runner is not None
    await fake.runner.cleanup()


class TestHttpTrendSource:
    async def test_reads_trends_for_platforms(self, server: TrendsServer) -> None:
        """The seed's request shape goes out; trends of other platforms are dropped."""
        server.answer = {
            "ok": True,
            "trends": [
                {
                    "platform": "tiktok",
                    "topic": "launch",
                    "score": 0.85,
                    "start_hour": 18,
                    "end_hour": 22,
                },
                {"platform": "linkedin", "topic": "b2b", "score": 0.4},
            ],
        }
        trends = await HttpTrendSource(server.url).trends(["TikTok", "youtube"])
        assert trends == [Trend("tiktok", "launch", 0.85, 18, 22)]
        assert server.seen == [{"platforms": ["tiktok", "youtube"]}]

    async def test_http_error_is_network_error(self, server: TrendsServer) -> None:
        """A 503 is a NetworkError naming the status."""
        server.status = 503
        with pytest.raises(NetworkError, match="503"):
            await HttpTrendSource(server.url).trends(["tiktok"])

    async def test_timeout(self, server: TrendsServer) -> None:
        """A slow service is cut at the timeout."""
        server.delay = 2.0
        with pytest.raises(NetworkError, match="unreachable"):
            await HttpTrendSource(server.url, timeout_s=0.2).trends(["tiktok"])

    async def test_broken_body(self, server: TrendsServer) -> None:
        """A score out of range is InvalidInput naming the entry."""
        server.answer = [{"platform": "tiktok", "topic": "x", "score": 7}]
        with pytest.raises(InvalidInput, match="entry 1"):
            await HttpTrendSource(server.url).trends(["tiktok"])

    async def test_unreachable(self) -> None:
        """Nothing listening is a NetworkError."""
        with pytest.raises(NetworkError):
            await HttpTrendSource("http://127.0.0.1:1/x", timeout_s=1).trends(["tiktok"])
