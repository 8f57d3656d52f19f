"""FileMediaStore: content-addressed files, probed facts in the media table, streamed I/O."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web

from engine.adapters.file_media_store import (
    Fetched,
    FileMediaStore,
    MemoryMediaIndex,
    describe_path,
)
from engine.clock import ManualClock
from engine.errors import InvalidInput, MediaNotFound, NetworkError
from engine.media import MediaKind
from storage.media_index import SQLAlchemyMediaIndex
from storage.migrate import upgrade
from tests.media_samples import make_image, make_video

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
async def store(tmp_path: Path, sqlite_url: str) -> AsyncIterator[FileMediaStore]:
    await upgrade(sqlite_url)
    index = SQLAlchemyMediaIndex(sqlite_url)
    yield FileMediaStore(
        tmp_path / "media",
        index,
        ManualClock(NOW),
        public_url="https://herald.example/",
        signing_key=b"k" * 32,
        max_bytes=5 * 1024 * 1024,
        # The download tests serve from loopback (the guard itself: test_public_download).
        allow_private_urls=True,
    )
    await index.close()


class TestIngest:
    async def test_video_is_probed_and_stored_by_checksum(
        self, store: FileMediaStore, tmp_path: Path
    ) -> None:
        """A local video is stored under its sha256 with codec, size, duration, dimensions."""
        path = make_video(tmp_path / "clip.mp4", width=72, height=128, seconds=2)
        asset = await store.ingest_path(path)
        data = path.read_bytes()
        assert asset.sha256 == hashlib.sha256(data).hexdigest()
        assert asset.id == "m-" + asset.sha256[:32]
        assert (asset.kind, asset.mime_type, asset.codec) == (MediaKind.VIDEO, "video/mp4", "h264")
        assert (asset.width, asset.height, asset.size_bytes) == (72, 128, len(data))
        assert asset.duration_s == pytest.approx(2.0, abs=0.2)
        assert store.path_of(asset).read_bytes() == data
        assert await store.get(asset.id) == asset

    async def test_same_bytes_twice_is_one_file(
        self, store: FileMediaStore, tmp_path: Path
    ) -> None:
        """Ingesting the same bytes under two names gives one id and one stored file."""
        a = await store.ingest_path(make_image(tmp_path / "a.jpg"))
        b = await store.ingest_path(make_image(tmp_path / "b.jpg"))
        assert a.id == b.id and a.filename == "a.jpg"
        files = [p for p in (tmp_path / "media").rglob("*") if p.is_file()]
        assert len(files) == 1

    async def test_not_media_is_refused_by_name(
        self, store: FileMediaStore, tmp_path: Path
    ) -> None:
        """A text file is refused with a message naming the user's file; nothing is kept."""
        path = tmp_path / "notes.txt"
        path.write_text("not a video")
        with pytest.raises(InvalidInput, match=r"notes\.txt: not an image or video"):
            await store.ingest_path(path)
        assert not [p for p in (tmp_path / "media").rglob("*") if p.is_file()]

    async def test_unknown_id(self, store: FileMediaStore) -> None:
        """An unknown media id raises MediaNotFound."""
        with pytest.raises(MediaNotFound):
            await store.get("m-nope")

    async def test_local_paths_refused_by_resolve(self, store: FileMediaStore) -> None:
        """resolve() (Slack, API) never reads local files."""
        with pytest.raises(InvalidInput, match="local paths are read only by the CLI"):
            await store.resolve("/etc/passwd")

    async def test_chunks_stream_from_an_offset(
        self, store: FileMediaStore, tmp_path: Path
    ) -> None:
        """chunks() yields the bytes from `start`, at most chunk_size at a time."""
        asset = await store.ingest_path(make_video(tmp_path / "v.mp4"))
        data = store.path_of(asset).read_bytes()
        parts = [c async for c in store.chunks(asset.id, chunk_size=1000, start=10)]
        assert max(len(p) for p in parts) <= 1000
        assert b"".join(parts) == data[10:]

    async def test_describe_path_stores_nothing(self, tmp_path: Path) -> None:
        """`herald plan` reads facts in place: same id as a stored copy, nothing written."""
        path = make_image(tmp_path / "p.png", fmt="PNG")
        asset = await describe_path(path)
        assert asset.mime_type == "image/png" and asset.size_bytes == path.stat().st_size
        assert os.listdir(tmp_path) == ["p.png"]


class TestDownload:
    async def _serve(self, aiohttp_body: bytes, *, length: bool = True) -> web.AppRunner:
        async def handler(request: web.Request) -> web.StreamResponse:
            if request.path == "/missing":
                return web.Response(status=404)
            if request.path == "/auth" and request.headers.get("Authorization") != "Bearer xoxb":
                return web.Response(status=403)
            response = web.StreamResponse()
            if length:
                response.content_length = len(aiohttp_body)
            await response.prepare(request)
            for i in range(0, len(aiohttp_body), 65536):
                await response.write(aiohttp_body[i : i + 65536])
            await response.write_eof()
            return response

        app = web.Application()
        app.router.add_get("/{name:.*}", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        return runner

    @staticmethod
    def _base(runner: web.AppRunner) -> str:
        port = runner.addresses[0][1]
        return f"http://127.0.0.1:{port}"

    async def test_url_download(self, store: FileMediaStore, tmp_path: Path) -> None:
        """An http URL is downloaded in chunks, probed and kept with its source URL."""
        body = make_video(tmp_path / "u.mp4").read_bytes()
        runner = await self._serve(body)
        try:
            url = f"{self._base(runner)}/clip.mp4"
            asset = await store.resolve(url)
        finally:
            await runner.cleanup()
        assert asset.source_url == url and asset.filename == "clip.mp4"
        assert asset.sha256 == hashlib.sha256(body).hexdigest()

    @pytest.mark.parametrize("length", [True, False])
    async def test_size_cap(self, store: FileMediaStore, length: bool) -> None:
        """A download over the cap is refused, announced or not, and nothing is kept."""
        runner = await self._serve(b"\0" * (6 * 1024 * 1024), length=length)
        try:
            with pytest.raises(InvalidInput, match="cap"):
                await store.resolve(f"{self._base(runner)}/big.mp4")
        finally:
            await runner.cleanup()
        assert not [p for p in store.root.rglob("*") if p.is_file()]

    async def test_failed_download(self, store: FileMediaStore) -> None:
        """A 404 is a NetworkError naming the file."""
        runner = await self._serve(b"")
        try:
            with pytest.raises(NetworkError, match="missing: download answered HTTP 404"):
                await store.resolve(f"{self._base(runner)}/missing")
        finally:
            await runner.cleanup()

    async def test_fetcher_scheme_downloads_with_headers(self, tmp_path: Path) -> None:
        """A registered scheme (slack:F…) is turned into a URL and headers, then streamed."""
        body = make_image(tmp_path / "s.jpg").read_bytes()
        runner = await self._serve(body)
        base = self._base(runner)

        async def slack(file_id: str) -> Fetched:
            return Fetched(f"{base}/auth", {"Authorization": "Bearer xoxb"}, "s.jpg")

        store = FileMediaStore(
            tmp_path / "m",
            MemoryMediaIndex(),
            ManualClock(NOW),
            fetchers={"slack": slack},
            trusted_origins=(base,),
        )
        try:
            asset = await store.resolve("slack:F123")
        finally:
            await runner.cleanup()
        assert asset.kind is MediaKind.IMAGE and asset.source_url == "slack:F123"
        assert asset.filename == "s.jpg"  # the fetcher's name, not the URL's last part


class TestSignedLinks:
    async def test_sign_verify_expire(self, store: FileMediaStore) -> None:
        """A signed link verifies until it expires; a changed id or signature never does."""
        url = store.signed_url("m-abc", ttl_seconds=600)
        assert url is not None and url.startswith("https://herald.example/media/m-abc?exp=")
        exp = url.split("exp=")[1].split("&")[0]
        sig = url.split("sig=")[1]
        assert store.verify("m-abc", exp, sig)
        assert not store.verify("m-abd", exp, sig)
        assert not store.verify("m-abc", exp, "0" * 64)
        assert not store.verify(
            "m-abc", str(int(exp) - 700), store.signature("m-abc", int(exp) - 700)
        )

    def test_no_public_url_no_link(self, tmp_path: Path) -> None:
        """Without HERALD_PUBLIC_URL there is no signed link (pull mode needs the user's URL)."""
        store = FileMediaStore(tmp_path, MemoryMediaIndex(), ManualClock(NOW))
        assert store.signed_url("m-abc", ttl_seconds=60) is None


class TestPublishHandles:
    async def test_handles_survive_a_new_connection(self, sqlite_url: str) -> None:
        """A kept handle is read back by a fresh engine (a restart); a new one replaces it."""
        from storage.database import create_engine
        from storage.media_index import SQLAlchemyPublishHandles

        await upgrade(sqlite_url)
        first = create_engine(sqlite_url)
        await SQLAlchemyPublishHandles(first).remember("s-1", "tiktok", "v_pub_1")
        await SQLAlchemyPublishHandles(first).remember("s-1", "tiktok", "v_pub_2")
        await first.dispose()
        second = create_engine(sqlite_url)
        handles = SQLAlchemyPublishHandles(second)
        assert await handles.recall("s-1", "tiktok") == "v_pub_2"
        assert await handles.recall("s-1", "youtube") is None
        await second.dispose()
