"""Memory benchmark: a 1 GB video through each upload protocol to the local fakes, printing
the process's peak RSS growth (target <= 64 MB) and throughput.

    uv run python bench/media_upload.py            # 1 GiB
    uv run python bench/media_upload.py --mb 256

The file is sparse (made with truncate, deleted at the end). Protocols: YouTube resumable
(8 MiB chunks), TikTok FILE_UPLOAD (10 MB chunks), X's v2 chunked upload (1 MiB appends),
LinkedIn's video parts (4 MiB upload instructions), and pull mode (Instagram, TikTok
PULL_FROM_URL) where the fake fetches Herald's signed link. Fakes and publisher share the
process, so the figure covers both ends; both stream and hash, nothing keeps the bytes.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aiohttp import web  # noqa: E402

from bot.media.routes import media_routes  # noqa: E402
from engine.adapters.file_media_store import FileMediaStore, MemoryMediaIndex  # noqa: E402
from engine.adapters.instagram_publisher import InstagramPublisher  # noqa: E402
from engine.adapters.linkedin_publisher import LinkedInPublisher  # noqa: E402
from engine.adapters.tiktok_publisher import TikTokPublisher  # noqa: E402
from engine.adapters.x_publisher import XPublisher  # noqa: E402
from engine.adapters.youtube_publisher import YouTubePublisher  # noqa: E402
from engine.clock import ManualClock  # noqa: E402
from engine.media import MediaAsset, MediaKind  # noqa: E402
from tests.adapters.media_publisher_support import (  # noqa: E402
    NOW,
    MemoryTokenRefresher,
    publish_request,
    serve,
)
from tests.fakes.instagram_api import VERSION, FakeInstagram  # noqa: E402
from tests.fakes.linkedin_api import FakeLinkedIn  # noqa: E402
from tests.fakes.tiktok_api import FakeTikTok  # noqa: E402
from tests.fakes.x_api import FakeX  # noqa: E402
from tests.fakes.youtube_api import FakeYouTube  # noqa: E402


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


BASELINE: list[float] = []


async def measure(name: str, size: int, run: Callable[[], Awaitable[object]]) -> None:
    """Run one upload while sampling RSS every 20 ms; print growth over the RSS the process
    had before the first upload (so later runs cannot hide behind an earlier high-water)."""
    base = BASELINE[0] if BASELINE else rss_mb()
    peak = rss_mb()
    done = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss_mb())
            await asyncio.sleep(0.02)

    sampler = asyncio.create_task(sample())
    started = time.perf_counter()
    await run()
    elapsed = time.perf_counter() - started
    done.set()
    await sampler
    print(
        f"{name:<28} {size / 2**20:7.0f} MiB in {elapsed:6.1f} s "
        f"({size / 2**20 / elapsed:6.1f} MiB/s); peak RSS growth {peak - base:5.1f} MB"
    )


async def main(megabytes: int) -> None:
    size = megabytes * 2**20
    clock = ManualClock(NOW)
    with tempfile.TemporaryDirectory(prefix="herald-bench-") as tmp:
        boxes: list[FileMediaStore] = []

        async def pull(request: web.Request) -> web.StreamResponse:
            return await media_routes(boxes[0])[0].handler(request)  # type: ignore[misc,operator]

        media_app = web.Application()
        media_app.router.add_get("/media/{media_id}", pull)
        herald, herald_base = await serve(media_app)
        store = FileMediaStore(
            Path(tmp), MemoryMediaIndex(), clock, public_url=herald_base, signing_key=b"b" * 32
        )
        boxes.append(store)
        sha = "ab" * 32
        video = MediaAsset(
            "m-bench", MediaKind.VIDEO, "video/mp4", size, sha, "big.mp4", 1080, 1920, 60.0, "h264"
        )
        path = store.path_of(video)
        path.parent.mkdir(parents=True)
        with path.open("wb") as handle:
            handle.truncate(size)  # sparse: no disk, no memory
        await store._index.put_media(video)
        request = publish_request("youtube", [video])
        BASELINE.append(rss_mb())
        print(f"baseline RSS {BASELINE[0]:.0f} MB")

        yt = FakeYouTube(units=10**9)
        yt_runner, yt_base = await serve(yt.app())
        yt.base = yt_base
        yt_tokens = MemoryTokenRefresher(yt.grant, "youtube")
        yt_tokens.connect("acc-1", "UC1")
        youtube = YouTubePublisher(yt_tokens, store, clock, base_url=yt_base)
        await measure("youtube resumable (8 MiB)", size, lambda: youtube.publish(request))
        await youtube.close()
        await yt_runner.cleanup()

        tt = FakeTikTok()
        tt_runner, tt_base = await serve(tt.app())
        tt.base = tt_base
        tt.verified_prefixes.append(herald_base)
        tt_tokens = MemoryTokenRefresher(tt.grant, "tiktok")
        tt_tokens.connect("acc-1", "creator1")
        tt.private_accounts.add("creator1")  # unaudited clients post only to private accounts
        tiktok = TikTokPublisher(tt_tokens, store, clock, base_url=tt_base)
        await measure("tiktok FILE_UPLOAD (10 MB)", size, lambda: tiktok.publish(request))
        pulling = TikTokPublisher(
            tt_tokens, store, clock, base_url=tt_base, pull_prefixes=(herald_base,)
        )
        await measure("tiktok PULL_FROM_URL", size, lambda: pulling.publish(request))
        await tiktok.close()
        await pulling.close()
        await tt_runner.cleanup()

        from engine.models import Account
        from tests.adapters.publisher_support import MemoryTokenRefresher as OAuthRefresher

        fx = FakeX()
        x_served = await fx.serve()
        x_tokens = OAuthRefresher()  # tokens never expire during the bench
        x_tokens.connect("x-01", "x", "2244994945", fx.add_user("2244994945", "herald_hq"))
        x = XPublisher(x_tokens, media=store, base_url=x_served.url, media_poll_seconds=0.01)
        x_account = Account("x-01", "twitter", "@herald_hq", "UTC", publisher="x")
        x_request = replace(publish_request("twitter", [video]), account=x_account)
        await measure("x chunked (1 MiB appends)", size, lambda: x.publish(x_request))
        await x.close()
        await x_served.close()

        fl = FakeLinkedIn()
        li_served = await fl.serve()
        li_tokens = OAuthRefresher()
        li_tokens.connect(
            "li-01", "linkedin", "urn:li:person:abc123", fl.add_member("abc123", "Ada")
        )
        linkedin = LinkedInPublisher(
            li_tokens, media=store, base_url=li_served.url, video_poll_seconds=0.01
        )
        li_account = Account("li-01", "linkedin", "@ada", "UTC", publisher="linkedin")
        li_request = replace(publish_request("linkedin", [video]), account=li_account)
        await measure("linkedin parts (4 MiB)", size, lambda: linkedin.publish(li_request))
        await linkedin.close()
        await li_served.close()

        ig = FakeInstagram()
        ig_runner, ig_base = await serve(ig.app())
        ig_tokens = MemoryTokenRefresher(ig.grant, "instagram")
        ig_tokens.connect("acc-1", "17841400000000001")
        instagram = InstagramPublisher(ig_tokens, store, clock, base_url=f"{ig_base}/{VERSION}")
        await measure("instagram pull (signed link)", size, lambda: instagram.publish(request))
        await instagram.close()
        await ig_runner.cleanup()
        await herald.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=1024, help="file size in MiB (default 1024)")
    asyncio.run(main(parser.parse_args().mb))
