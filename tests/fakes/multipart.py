"""Reading an uploaded multipart `file` part the way the posting services' fakes need it."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import BodyPartReader, web


@dataclass(frozen=True, slots=True)
class ReadFile:
    """What a fake keeps of an uploaded file: never its bytes (uploads may be 1 GB)."""

    part: BodyPartReader
    sha256: str
    size: int
    head: bytes  # the first 16 bytes, to sniff the type from
    max_chunk: int  # the largest chunk read (proof the upload streamed)


async def file_parts(request: web.Request) -> AsyncIterator[ReadFile]:
    """Each multipart part named `file`, read through in 256 KB chunks."""
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader) or part.name != "file":
            continue
        digest, size, head, largest = hashlib.sha256(), 0, b"", 0
        while chunk := await part.read_chunk(256 * 1024):
            largest = max(largest, len(chunk))
            if len(head) < 16:
                head += chunk[:16]
            digest.update(chunk)
            size += len(chunk)
        yield ReadFile(part, digest.hexdigest(), size, head, largest)
