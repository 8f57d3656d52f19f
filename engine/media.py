"""Media a distribution carries: a stored, probed file (image or video) and its facts.

The bytes live in a media store (a directory by default); the engine reasons only about the
facts read from the file (size, type, duration, dimensions, codec) and streams the bytes in
chunks when a publisher uploads them, so a 1 GB video is never held in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class MediaKind(StrEnum):
    IMAGE = "image"
    VIDEO = "video"


@dataclass(frozen=True, slots=True)
class MediaAsset:
    """One stored file, identified by its id (`m-...`); `sha256` is of the bytes."""

    id: str
    kind: MediaKind
    mime_type: str
    size_bytes: int
    sha256: str
    filename: str = ""
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None
    codec: str | None = None
    source_url: str | None = None

    @property
    def aspect_ratio(self) -> float | None:
        if not self.width or not self.height:
            return None
        return self.width / self.height
