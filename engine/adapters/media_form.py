"""A stored media file as a multipart/form-data upload, streamed from the media store.

Postiz (`POST /upload`) and Mixpost (`POST /api/{ws}/media`) take a file as the multipart
field `file`; the part reads the store a chunk at a time and declares the file's size, so
the request has a Content-Length (servers behind PHP or a proxy need one) and a 1 GB video
is never held in memory.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Mapping
from typing import Any

import aiohttp
from aiohttp.payload import AsyncIterablePayload

from engine.media import MediaAsset
from engine.ports import MediaStore

CHUNK = 1024 * 1024


class _SizedStream(AsyncIterablePayload):
    """An async-iterable part whose length is known (the stored file's size)."""

    def __init__(self, value: AsyncIterable[bytes], size: int, **kwargs: Any) -> None:
        super().__init__(value, **kwargs)
        self._size = size


def media_form(
    store: MediaStore,
    asset: MediaAsset,
    *,
    field: str = "file",
    fields: Mapping[str, str] | None = None,
) -> aiohttp.MultipartWriter:
    """`fields` as text parts, then the file under `field`, named by its file name."""
    form = aiohttp.MultipartWriter("form-data")
    for name, value in (fields or {}).items():
        part = form.append(value)
        part.set_content_disposition("form-data", name=name)
    stream = _SizedStream(
        store.chunks(asset.id, chunk_size=CHUNK),
        asset.size_bytes,
        content_type=asset.mime_type,
    )
    stream.set_content_disposition("form-data", name=field, filename=upload_name(asset))
    form.append_payload(stream)
    return form


def upload_name(asset: MediaAsset) -> str:
    """The name the service stores: the user's file name, else the id with a suffix from the
    type (services pick the type from the bytes, but keep the name for people)."""
    if asset.filename:
        return asset.filename
    suffix = asset.mime_type.split("/", 1)[-1].replace("quicktime", "mov").replace("jpeg", "jpg")
    return f"{asset.id}.{suffix}"
