"""/media: upload a media file (the raw body, streamed into the media store a chunk at a time)
and read a stored file's facts with each platform's verdict on it (docs/api.md).

An uploaded file's id (`m-…`) is then named in a request's or library item's `media`.
"""

from __future__ import annotations

import mimetypes
from collections.abc import AsyncIterator
from typing import Any

from aiohttp.multipart import content_disposition_filename, parse_content_disposition
from pydantic import BaseModel, ConfigDict, Field

from bot.api.core import Call, route
from bot.api.problems import Problem
from engine.errors import InvalidInput, MediaTooLarge
from engine.media import MediaAsset
from engine.media_upload import media_verdicts, upload_media

TAGS = ("media",)
CHUNK = 1024 * 1024
# Types a client may declare: the file's own, or "just bytes"; Herald reads the bytes anyway.
OPAQUE = ("application/octet-stream", "")


class UploadQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    filename: str | None = Field(
        default=None,
        min_length=1,
        max_length=300,
        description="the file's name (else Content-Disposition's filename, else one made "
        "from Content-Type)",
    )


class PlatformVerdict(BaseModel):
    platform: str
    content_type: str | None = Field(description="what the platform would post it as")
    takes: bool
    problems: list[str] = Field(description="why the platform would refuse it (plan-time checks)")


class MediaOut(BaseModel):
    """A stored file's facts (read from the bytes by PyAV/Pillow) and each platform's verdict."""

    id: str = Field(description="name it in a request's or library item's `media`")
    kind: str = Field(description="image or video")
    mime_type: str
    size_bytes: int
    sha256: str
    filename: str
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None
    codec: str | None = None
    platforms: list[PlatformVerdict]

    @classmethod
    def of(cls, asset: MediaAsset, table: Any) -> MediaOut:
        return cls(
            id=asset.id,
            kind=asset.kind.value,
            mime_type=asset.mime_type,
            size_bytes=asset.size_bytes,
            sha256=asset.sha256,
            filename=asset.filename,
            width=asset.width,
            height=asset.height,
            duration_s=asset.duration_s,
            codec=asset.codec,
            platforms=[
                PlatformVerdict(
                    platform=v.platform,
                    content_type=v.content_type,
                    takes=v.takes,
                    problems=list(v.problems),
                )
                for v in media_verdicts(asset, table)
            ],
        )


@route(
    "POST",
    "/media",
    scope="operate",
    summary="Upload a media file: the raw body is the file (streamed, at most "
    "HERALD_MEDIA_MAX_MB; 413 over it, 422 when it is not an image or video)",
    query=UploadQuery,
    response=MediaOut,
    status=201,
    raw_body={
        "image/*": {"schema": {"type": "string", "format": "binary"}},
        "video/*": {"schema": {"type": "string", "format": "binary"}},
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
    },
    streamed_body=True,
    tags=TAGS,
)
async def upload(call: Call) -> MediaOut:
    herald, request = call.ctx.deps.herald, call.request
    store = herald.media
    if store is None or not hasattr(store, "ingest_stream"):
        raise Problem(503, "no media store is configured (HERALD_MEDIA_DIR)")
    declared = request.content_type if request.headers.get("Content-Type") else ""
    if declared not in OPAQUE and not declared.startswith(("image/", "video/")):
        raise Problem(
            415,
            f"Content-Type {declared}: send the file's own type (image/…, video/…) or "
            "application/octet-stream",
            field="Content-Type",
        )
    cap = store.max_bytes
    length = request.content_length
    if length is not None and length > cap:
        raise Problem(
            413, f"body: {length:,} bytes is over the {cap // 1024**2} MB size cap", field="body"
        )
    filename = _filename(call, declared)

    async def chunks() -> AsyncIterator[bytes]:
        async for chunk in request.content.iter_chunked(CHUNK):
            yield chunk

    try:
        asset = await upload_media(
            store, call.actor, chunks(), filename=filename, clock=call.ctx.clock
        )
    except MediaTooLarge as exc:
        raise Problem(413, f"body: {exc}", field="body") from None
    except InvalidInput as exc:
        raise Problem(422, f"body: {exc}", field="body") from None
    return MediaOut.of(asset, herald.platforms)


@route(
    "GET",
    "/media/{media_id}",
    scope="read",
    summary="A stored media file's facts and each platform's verdict on it",
    response=MediaOut,
    tags=TAGS,
)
async def show(call: Call) -> MediaOut:
    herald = call.ctx.deps.herald
    if herald.media is None:
        raise Problem(503, "no media store is configured (HERALD_MEDIA_DIR)")
    asset = await herald.media.get(call.param("media_id"))
    return MediaOut.of(asset, herald.platforms)


def _filename(call: Call, declared: str) -> str:
    """The query's name, Content-Disposition's, or `upload` with the declared type's suffix
    (the probe reads the bytes, not the name; the name is for people and messages)."""
    if call.query.filename:
        return _plain(call.query.filename)
    disposition = call.request.headers.get("Content-Disposition")
    if disposition:
        _, params = parse_content_disposition(disposition)
        named = content_disposition_filename(params, "filename")
        if named:
            return _plain(named)
    suffix = mimetypes.guess_extension(declared) if declared not in OPAQUE else None
    return f"upload{suffix or ''}"


def _plain(name: str) -> str:
    """The last path segment, so a name never steers where anything is written."""
    return name.replace("\\", "/").rsplit("/", 1)[-1][:300] or "upload"
