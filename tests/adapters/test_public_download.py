"""The SSRF guard on media URLs: public addresses only, every redirect hop checked."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from engine.adapters.file_media_store import Fetched, FileMediaStore, MemoryMediaIndex
from engine.adapters.public_download import BlockedUrl, PublicOnlyResolver, address_problem
from engine.clock import ManualClock
from tests.adapters.media_publisher_support import NOW
from tests.fakes.dns import NamesResolver
from tests.media_samples import make_image


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[tuple[str, list[dict[str, str]]]]:
    """A loopback server: /img.jpg, /to?u=URL redirects there, /loop/N redirects to N+1.
    Yields its base URL and the headers of every request it got."""
    body = make_image(tmp_path / "i.jpg").read_bytes()
    seen: list[dict[str, str]] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        seen.append(dict(request.headers))
        if request.path == "/to":
            raise web.HTTPFound(request.query["u"])
        if request.path.startswith("/loop/"):
            raise web.HTTPFound(f"/loop/{int(request.path.split('/')[2]) + 1}")
        return web.Response(body=body, content_type="image/jpeg")

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}", seen
    await runner.cleanup()


def store(tmp_path: Path, **kwargs: object) -> FileMediaStore:
    return FileMediaStore(tmp_path / "media", MemoryMediaIndex(), ManualClock(NOW), **kwargs)  # type: ignore[arg-type]


def stored_files(tmp_path: Path) -> list[Path]:
    return [p for p in (tmp_path / "media").rglob("*") if p.is_file()]


class TestAddresses:
    @pytest.mark.parametrize(
        ("address", "problem"),
        [
            ("10.0.0.5", "private"),
            ("192.168.1.20", "private"),
            ("127.0.0.1", "loopback"),
            ("169.254.169.254", "link-local"),
            ("224.0.0.1", "multicast"),
            ("240.0.0.1", "reserved"),
            ("0.0.0.0", "unspecified"),
            ("100.64.0.1", "non-public"),
            ("::1", "loopback"),
            ("fe80::1", "link-local"),
            ("fc00::5", "private"),
            ("::ffff:10.0.0.5", "private"),
            ("2002:0a00:0005::1", "private"),
            ("93.184.216.34", None),
            ("2606:4700::1111", None),
        ],
    )
    def test_classification(self, address: str, problem: str | None) -> None:
        """Only global unicast addresses are public; IPv4 wrapped in IPv6 counts as IPv4."""
        assert address_problem(ipaddress.ip_address(address)) == problem


class TestGuard:
    async def test_private_literal_is_refused_before_any_connection(self, tmp_path: Path) -> None:
        """A URL naming 10.0.0.5: one line saying why, nothing stored, nothing sent."""
        with pytest.raises(BlockedUrl) as caught:
            await store(tmp_path).resolve("http://10.0.0.5/clip.mp4")
        assert str(caught.value) == (
            "media clip.mp4: URL resolves to a private address 10.0.0.5; "
            "Herald only fetches public URLs"
        )
        assert stored_files(tmp_path) == []

    async def test_every_resolved_address_is_checked(self, tmp_path: Path) -> None:
        """A name resolving to a public and a private address is refused (DNS may hand out
        either), naming the private one."""
        names = NamesResolver({"cdn.example": ["93.184.216.34", "10.0.0.5"]})
        with pytest.raises(BlockedUrl, match=r"private address 10\.0\.0\.5"):
            await store(tmp_path, resolver=names).resolve("https://cdn.example/clip.mp4")
        assert names.asked == ["cdn.example"]

    async def test_public_names_resolve(self) -> None:
        """A name whose addresses are all public passes the resolver unchanged."""
        guard = PublicOnlyResolver(NamesResolver({"cdn.example": ["93.184.216.34"]}))
        [result] = await guard.resolve("cdn.example", 443)
        assert result["host"] == "93.184.216.34"

    async def test_localhost_by_name(self, tmp_path: Path, server: tuple[str, list]) -> None:
        """`localhost` resolves to loopback through the system resolver: refused."""
        port = server[0].rsplit(":", 1)[1]
        with pytest.raises(BlockedUrl, match="loopback address"):
            await store(tmp_path).resolve(f"http://localhost:{port}/img.jpg")
        assert server[1] == []

    async def test_a_redirect_hop_is_checked_again(
        self, tmp_path: Path, server: tuple[str, list]
    ) -> None:
        """A fetcher's trusted origin redirecting to a metadata address is refused there."""
        base, seen = server

        async def fetch(ref: str) -> Fetched:
            return Fetched(f"{base}/to?u=http://169.254.169.254/latest/meta-data", {})

        media = store(tmp_path, fetchers={"slack": fetch}, trusted_origins=(base,))
        with pytest.raises(BlockedUrl, match=r"link-local address 169\.254\.169\.254"):
            await media.resolve("slack:F1")
        assert len(seen) == 1 and stored_files(tmp_path) == []

    async def test_redirect_to_another_scheme(
        self, tmp_path: Path, server: tuple[str, list]
    ) -> None:
        """A redirect to file:// or ftp:// is not followed."""
        base, _ = server
        media = store(tmp_path, allow_private_urls=True)
        with pytest.raises(BlockedUrl, match=r"only http\(s\) URLs"):
            await media.resolve(f"{base}/to?u=file:///etc/passwd")

    async def test_redirects_are_capped(self, tmp_path: Path, server: tuple[str, list]) -> None:
        """Five redirects are followed, a sixth is refused."""
        base, seen = server
        media = store(tmp_path, allow_private_urls=True)
        with pytest.raises(BlockedUrl, match="more than 5 redirects"):
            await media.resolve(f"{base}/loop/0")
        assert len(seen) == 6
        asset = await media.resolve(f"{base}/to?u={base}/img.jpg")
        assert asset.kind == "image"

    async def test_credentials_stay_with_their_origin(
        self, tmp_path: Path, server: tuple[str, list]
    ) -> None:
        """A bot token sent to the fetcher's origin is not forwarded to a redirect's host."""
        base, seen = server
        port = base.rsplit(":", 1)[1]

        async def fetch(ref: str) -> Fetched:
            auth = {"Authorization": "Bearer x"}
            return Fetched(f"{base}/to?u=http://localhost:{port}/img.jpg", auth)

        media = store(tmp_path, fetchers={"slack": fetch}, allow_private_urls=True)
        await media.resolve("slack:F1")
        assert seen[0].get("Authorization") == "Bearer x"
        assert "Authorization" not in seen[1]

    async def test_trusted_origin_counts_only_for_fetchers(
        self, tmp_path: Path, server: tuple[str, list]
    ) -> None:
        """The configured Slack origin (loopback in tests) is not open to users' URLs."""
        base, seen = server
        media = store(tmp_path, trusted_origins=(base,))
        with pytest.raises(BlockedUrl, match=r"loopback address 127\.0\.0\.1"):
            await media.resolve(f"{base}/img.jpg")
        assert seen == []

    async def test_allowed_for_tests_and_local_setups(
        self, tmp_path: Path, server: tuple[str, list]
    ) -> None:
        """HERALD_MEDIA_ALLOW_PRIVATE_URLS lets a local server's file in."""
        base, _ = server
        asset = await store(tmp_path, allow_private_urls=True).resolve(f"{base}/img.jpg")
        assert asset.kind == "image" and len(stored_files(tmp_path)) == 1
