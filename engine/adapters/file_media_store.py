"""`FileMediaStore`: media files in a directory, named by their sha256; facts in a MediaIndex.

Ingest streams (a local path, an http(s) URL, a Slack file) into `<dir>/.incoming/`, hashing
and counting as it writes (URLs only from public addresses: `public_download`), refuses
anything over the size cap, probes the file (PyAV, Pillow) and moves it to
`<dir>/<sha[:2]>/<sha>`: the same bytes are stored once. Reads go out in chunks. Signed
links (`/media/<id>?exp=&sig=`) let Instagram and TikTok pull files.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple
from urllib.parse import quote, urlsplit

from aiohttp.abc import AbstractResolver

from engine.adapters.public_download import BlockedUrl, open_public
from engine.adapters.pyav_media_probe import probe_file
from engine.errors import InvalidInput, MediaNotFound, MediaTooLarge, NetworkError
from engine.media import MediaAsset
from engine.models import Event
from engine.ports import Clock, MediaIndex

CHUNK = 1024 * 1024
DEFAULT_MAX_BYTES = 4 * 1024**3


class Fetched(NamedTuple):
    """Where a fetcher's file is: the URL, the headers to download it with (Slack: files.info's
    url_private and the bot token), and its name when the URL does not end in it."""

    url: str
    headers: Mapping[str, str]
    filename: str = ""


# A scheme's fetcher turns `scheme:ref` into where to download it.
Fetcher = Callable[[str], Awaitable[Fetched]]


class MemoryMediaIndex:
    """MediaIndex in a dict (tests, `herald plan` without a database)."""

    def __init__(self) -> None:
        self._rows: dict[str, MediaAsset] = {}

    async def get_media(self, media_id: str) -> MediaAsset:
        try:
            return self._rows[media_id]
        except KeyError:
            raise MediaNotFound(media_id) from None

    async def put_media(self, asset: MediaAsset, *, event: Event | None = None) -> None:
        # No audit log without a database: `event` is the SQL index's to keep.
        self._rows.setdefault(asset.id, asset)


def media_id_for(sha256: str) -> str:
    """Content addressing: the id is a prefix of the bytes' sha256."""
    return "m-" + sha256[:32]


class FileMediaStore:
    """MediaStore on a directory (HERALD_MEDIA_DIR) plus a MediaIndex for the facts."""

    def __init__(
        self,
        root: Path,
        index: MediaIndex,
        clock: Clock,
        *,
        public_url: str | None = None,
        signing_key: bytes | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
        fetchers: Mapping[str, Fetcher] | None = None,
        allow_private_urls: bool = False,
        trusted_origins: tuple[str, ...] = (),
        resolver: AbstractResolver | None = None,
    ) -> None:
        self.root = root
        self._index = index
        self._clock = clock
        self._public_url = public_url.rstrip("/") if public_url else None
        self._key = signing_key
        self.max_bytes = max_bytes
        self._fetchers = dict(fetchers or {})
        # URL downloads: public addresses only unless allowed (HERALD_MEDIA_ALLOW_PRIVATE_URLS);
        # `trusted_origins` (the configured Slack API) count only for fetchers' URLs.
        self._allow_private = allow_private_urls
        self._trusted = trusted_origins
        self._resolver = resolver

    # --- MediaStore
    async def get(self, media_id: str) -> MediaAsset:
        """Raises MediaNotFound."""
        return await self._index.get_media(media_id)

    async def resolve(self, ref: str) -> MediaAsset:
        """A media id, an http(s) URL or `scheme:ref` of a registered fetcher (`slack:F…`)."""
        ref = ref.strip()
        if ref.startswith("m-"):
            return await self.get(ref)
        scheme = ref.split(":", 1)[0].lower() if ":" in ref else ""
        if scheme in ("http", "https"):
            return await self.ingest_url(ref)
        if scheme in self._fetchers:
            fetched = await self._fetchers[scheme](ref.split(":", 1)[1])
            return await self.ingest_url(
                fetched.url,
                headers=fetched.headers,
                source=ref,
                trusted=True,
                filename=fetched.filename,
            )
        raise InvalidInput(
            f"media {ref[:60]!r}: give a media id (m-…), an http(s) URL or a Slack file; "
            "local paths are read only by the CLI"
        )

    async def chunks(
        self, media_id: str, *, chunk_size: int, start: int = 0
    ) -> AsyncIterator[bytes]:
        """The file's bytes from `start`, `chunk_size` at a time, read in a thread."""
        path = self.path_of(await self.get(media_id))
        handle: BinaryIO = await asyncio.to_thread(path.open, "rb")
        try:
            await asyncio.to_thread(handle.seek, start)
            while chunk := await asyncio.to_thread(handle.read, chunk_size):
                yield chunk
        finally:
            await asyncio.to_thread(handle.close)

    def signed_url(self, media_id: str, *, ttl_seconds: int) -> str | None:
        """`<public url>/media/<id>?exp=<unix>&sig=<hmac>`, or None without a public URL."""
        if self._public_url is None or self._key is None:
            return None
        expires = int(self._clock.now().timestamp()) + ttl_seconds
        sig = self.signature(media_id, expires)
        return f"{self._public_url}/media/{quote(media_id)}?exp={expires}&sig={sig}"

    # --- signed links
    def signature(self, media_id: str, expires: int) -> str:
        if self._key is None:
            raise InvalidInput("no media signing key configured")
        message = f"{media_id}.{expires}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def verify(self, media_id: str, expires: str, sig: str) -> bool:
        """True when the link is Herald's own and has not expired."""
        if self._key is None or not expires.isdigit():
            return False
        if int(expires) < self._clock.now().timestamp():
            return False
        return hmac.compare_digest(self.signature(media_id, int(expires)), sig)

    def path_of(self, asset: MediaAsset) -> Path:
        return self.root / asset.sha256[:2] / asset.sha256

    # --- ingest
    async def ingest_path(self, path: Path) -> MediaAsset:
        """Store a local file (the CLI, `herald plan`). Raises InvalidInput."""
        try:
            handle: BinaryIO = await asyncio.to_thread(path.open, "rb")
        except OSError as exc:
            raise InvalidInput(f"media {path}: {exc.strerror or exc}") from None

        async def read() -> AsyncIterator[bytes]:
            try:
                while chunk := await asyncio.to_thread(handle.read, CHUNK):
                    yield chunk
            finally:
                await asyncio.to_thread(handle.close)

        return await self.ingest_stream(read(), filename=path.name)

    async def ingest_url(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        source: str | None = None,
        trusted: bool = False,
        filename: str = "",
    ) -> MediaAsset:
        """Download `url` (streamed, at most `max_bytes`, public addresses only, each
        redirect checked) and store it. `trusted`: a fetcher's URL (its configured origins
        are allowed). Raises InvalidInput (too big, not media, not a public URL),
        NetworkError (the download failed)."""
        name = filename or os.path.basename(urlsplit(url).path) or "download"
        try:
            async with open_public(
                url,
                headers=headers,
                allow_private=self._allow_private,
                trusted_origins=self._trusted if trusted else (),
                resolver=self._resolver,
            ) as response:
                if response.status != 200:
                    raise NetworkError(f"media {name}: download answered HTTP {response.status}")
                length = response.content_length
                if length is not None and length > self.max_bytes:
                    raise MediaTooLarge(
                        f"media {name}: {length} bytes is over the "
                        f"{self.max_bytes // 1024**2} MB size cap"
                    )
                return await self.ingest_stream(
                    response.content.iter_chunked(CHUNK), filename=name, source_url=source or url
                )
        except BlockedUrl as exc:
            # Every other media problem names the file; a refused address does too.
            raise BlockedUrl(f"media {name}: {str(exc).removeprefix('media ')}") from None

    async def ingest_stream(
        self,
        chunks: AsyncIterator[bytes],
        *,
        filename: str,
        source_url: str | None = None,
        audit: Callable[[MediaAsset], Event] | None = None,
    ) -> MediaAsset:
        """Write `chunks` to the store, hashing and counting; probe; index (with `audit`'s
        event in the same transaction). InvalidInput, MediaTooLarge (over the cap)."""
        incoming = self.root / ".incoming"
        await asyncio.to_thread(incoming.mkdir, parents=True, exist_ok=True)
        tmp = incoming / uuid.uuid4().hex
        digest, size = hashlib.sha256(), 0
        try:
            handle: BinaryIO = await asyncio.to_thread(tmp.open, "wb")
            try:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise MediaTooLarge(
                            f"media {filename}: over the {self.max_bytes // 1024**2} MB size cap"
                        )
                    digest.update(chunk)
                    await asyncio.to_thread(handle.write, chunk)
            finally:
                await asyncio.to_thread(handle.close)
            if size == 0:
                raise InvalidInput(f"media {filename}: the file is empty")
            facts = await asyncio.to_thread(_probe_named, tmp, filename)
            sha = digest.hexdigest()
            asset = MediaAsset(
                id=media_id_for(sha),
                kind=facts.kind,
                mime_type=facts.mime_type,
                size_bytes=size,
                sha256=sha,
                filename=filename[:300],
                width=facts.width,
                height=facts.height,
                duration_s=facts.duration_s,
                codec=facts.codec,
                source_url=source_url,
            )
            final = self.path_of(asset)
            await asyncio.to_thread(final.parent.mkdir, parents=True, exist_ok=True)
            await asyncio.to_thread(os.replace, tmp, final)
        finally:
            await asyncio.to_thread(tmp.unlink, missing_ok=True)
        await self._index.put_media(asset, event=audit(asset) if audit else None)
        return await self._index.get_media(asset.id)


async def describe_path(path: Path) -> MediaAsset:
    """A local file's facts without storing it (`herald plan` touches nothing). InvalidInput."""

    def read() -> MediaAsset:
        digest, size = hashlib.sha256(), 0
        with path.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
        facts = probe_file(path)
        sha = digest.hexdigest()
        return MediaAsset(
            media_id_for(sha),
            facts.kind,
            facts.mime_type,
            size,
            sha,
            path.name,
            facts.width,
            facts.height,
            facts.duration_s,
            facts.codec,
        )

    try:
        return await asyncio.to_thread(read)
    except OSError as exc:
        raise InvalidInput(f"media {path}: {exc.strerror or exc}") from None


def _probe_named(path: Path, filename: str) -> Any:
    """Probe `path`, naming errors after the user's file name, not the temporary one."""
    suffixed = path.with_name(path.name + Path(filename).suffix.lower()[:8])
    os.replace(path, suffixed)
    try:
        return probe_file(suffixed)
    except InvalidInput as exc:
        raise InvalidInput(str(exc).replace(suffixed.name, filename)) from None
    finally:
        os.replace(suffixed, path)
