"""A webhook receiver on loopback that verifies every signature, as docs/api.md says."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.api.webhooks import verify


@dataclass
class Receiver:
    """A webhook receiver on loopback that verifies every signature, as docs/api.md says."""

    secret: str = ""
    up: bool = True
    received: list[dict[str, Any]] = field(default_factory=list)
    delivery_ids: list[str] = field(default_factory=list)
    bad_signatures: int = 0
    requests: int = 0
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.requests += 1
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


@asynccontextmanager
async def running_receiver() -> AsyncIterator[Receiver]:
    """A Receiver listening on a loopback port (its `url`)."""
    r = Receiver()
    app = web.Application()
    app.router.add_post("/{path:.*}", r.handle)  # any path: hooks carry secrets in theirs
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    r.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/hook"  # type: ignore[union-attr]
    try:
        yield r
    finally:
        await runner.cleanup()
