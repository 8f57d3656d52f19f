"""Signed media links: served with ranges while valid, refused when expired or forged."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import aiohttp
from aiohttp import web

from bot.media.routes import media_routes
from engine.clock import ManualClock
from tests.adapters.media_publisher_support import NOW, media_store, put_bytes, serve


async def test_signed_link_serves_ranges_until_it_expires(tmp_path: Path) -> None:
    """A signed link serves the file and byte ranges; expired or altered links get 403."""
    clock = ManualClock(NOW)
    data = os.urandom(300_000)
    app = web.Application()
    store = media_store(tmp_path, clock, public_url="http://x", signing_key=b"s" * 32)
    asset = await put_bytes(store, data)
    app.add_routes(media_routes(store))
    runner, base = await serve(app)
    try:
        link = store.signed_url(asset.id, ttl_seconds=600)
        assert link is not None
        url = base + link.removeprefix("http://x")
        async with aiohttp.ClientSession() as http:
            async with http.get(url) as r:
                assert r.status == 200 and await r.read() == data
                assert r.headers["Content-Type"] == "video/mp4"
            async with http.get(url, headers={"Range": "bytes=100-199"}) as r:
                assert r.status == 206 and await r.read() == data[100:200]
            async with http.get(url.replace("sig=", "sig=0")) as r:
                assert r.status == 403
            clock.advance(timedelta(seconds=601))
            async with http.get(url) as r:
                assert r.status == 403
    finally:
        await runner.cleanup()
