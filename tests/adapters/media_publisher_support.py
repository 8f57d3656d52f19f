"""Helpers for the media publishers' tests: a media store and fake servers (the token
refresher is tests/adapters/publisher_support.py's, with `grant`)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web

from engine.adapters.file_media_store import FileMediaStore, MemoryMediaIndex, media_id_for
from engine.clock import ManualClock
from engine.media import MediaAsset, MediaKind
from engine.models import Account
from engine.ports import PublishRequest
from engine.request import Content

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def media_store(root: Path, clock: ManualClock, **kwargs: object) -> FileMediaStore:
    return FileMediaStore(root, MemoryMediaIndex(), clock, **kwargs)  # type: ignore[arg-type]


async def put_bytes(
    store: FileMediaStore,
    data: bytes,
    *,
    kind: MediaKind = MediaKind.VIDEO,
    mime: str = "video/mp4",
    name: str = "clip.mp4",
    size: tuple[int, int] = (1080, 1920),
    duration: float = 30.0,
) -> MediaAsset:
    """Store `data` as if it were probed media (fakes never decode bytes)."""
    sha = hashlib.sha256(data).hexdigest()
    asset = MediaAsset(
        media_id_for(sha),
        kind,
        mime,
        len(data),
        sha,
        name,
        *size,
        duration if kind is MediaKind.VIDEO else None,
        "h264",
    )
    path = store.path_of(asset)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    await store._index.put_media(asset)
    return asset


def publish_request(
    platform: str,
    media: list[MediaAsset],
    *,
    account_id: str = "acc-1",
    slot_id: str = "s-1",
    content_type: str = "video",
    caption: str = "Winter is here\nwarm layers",
) -> PublishRequest:
    account = Account(id=account_id, platform=platform, handle=f"@{account_id}", timezone="UTC")
    content = Content(id="c1", caption=caption, media=[m.id for m in media])
    return PublishRequest(
        slot_id=slot_id,
        distribution_id="d-1",
        account=account,
        platform=platform,
        language="en",
        caption=caption,
        hashtags=("winter",),
        content=content,
        content_type=content_type,
        idempotency_key=f"herald:{slot_id}",
    )


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"
