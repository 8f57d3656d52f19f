"""Signed media links: served with ranges while valid, refused when expired or forged."""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta
from pathlib import Path

import aiohttp
from aiohttp import web

from bot.media.routes import media_routes
from engine.clock import ManualClock
from tests.adapters.media_publisher_support import NOW, media_store, put_bytes, serve
from tests.bot.fake_slack import FakeSlack
from tests.media_samples import make_image, make_video


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


async def test_herald_serve_answers_signed_links_and_refuses_the_rest(
    fake: FakeSlack, tmp_path: Path
) -> None:
    """`herald serve` with HERALD_PUBLIC_URL and a signing key (SQLite, the media table):
    a link Herald signed serves the stored file (GET and HEAD, as platforms check a URL
    first); an expired link, a tampered signature, another file's id, or no signature gets
    the same 403; without a key there is no /media route at all."""
    from bot.bootstrap import build_herald
    from bot.cli.serve import serve as herald_serve
    from storage.migrate import upgrade
    from tests.bot.conftest import bot_settings
    from tests.conftest import _free_port as free_port

    url = f"sqlite+aiosqlite:///{tmp_path}/herald.db"
    await upgrade(url)
    port = free_port()
    settings = bot_settings(
        fake.api_url,
        HERALD_DATABASE_URL=url,
        HERALD_PUBLIC_URL="https://herald.example",
        HERALD_MEDIA_SIGNING_KEY="a-long-random-signing-key",
        HERALD_MEDIA_DIR=str(tmp_path / "media"),
        HERALD_MEDIA_LINK_TTL_SECONDS="600",
    )
    herald = build_herald(settings)
    video = await herald.media.ingest_path(make_video(tmp_path / "clip.mp4"))
    other = await herald.media.ingest_path(make_image(tmp_path / "still.jpg"))
    link = herald.media.signed_url(video.id, ttl_seconds=600)
    assert link.startswith(f"https://herald.example/media/{video.id}?exp=")
    local = f"http://127.0.0.1:{port}" + link.removeprefix("https://herald.example")
    exp = int(local.split("exp=")[1].split("&")[0])
    stale = f"{exp - 700}"
    stop, started = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(
        herald_serve(settings, port=port, stop=stop, started=started, herald=herald)
    )
    try:
        await asyncio.wait_for(started.wait(), 10)
        async with aiohttp.ClientSession() as http:
            async with http.get(local) as r:
                assert (
                    r.status == 200 and await r.read() == herald.media.path_of(video).read_bytes()
                )
                assert r.headers["Cache-Control"] == "private, no-store"
            async with http.head(local) as r:
                assert r.status == 200 and int(r.headers["Content-Length"]) == video.size_bytes
            expired = local.replace(f"exp={exp}", f"exp={stale}").split("&sig=")[0]
            expired += f"&sig={herald.media.signature(video.id, int(stale))}"
            tampered = local[:-4] + ("0000" if not local.endswith("0000") else "1111")
            foreign = local.replace(video.id, other.id)
            bare = local.split("?")[0]
            for bad in (expired, tampered, foreign, bare):
                async with http.get(bad) as r:
                    assert (r.status, await r.text()) == (403, "link expired or not valid\n")
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await herald.stop()
    keyless = build_herald(bot_settings(fake.api_url, HERALD_PUBLIC_URL="https://h.example"))
    assert keyless.media.signed_url(video.id, ttl_seconds=60) is None
    await keyless.stop()
