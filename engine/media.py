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


@dataclass(frozen=True, slots=True)
class MediaRule:
    """What one platform takes as one kind of media for one content type (platform table data).

    A content type may have a rule per kind (X posts: images or a video). `mime_types` may
    end in `/*` (YouTube takes any `video/*`). `max_items` is the image count a post may
    carry (carousels, multi-image posts); a video always travels alone. `min_items` 0 means
    the content type may go without media (a text post); 1 means the platform takes
    nothing without media (TikTok, YouTube, Reels).
    Aspect ratios are width / height.
    """

    content_type: str
    kind: MediaKind
    mime_types: tuple[str, ...]
    max_bytes: int
    min_items: int = 1
    max_items: int = 1
    min_duration_s: float | None = None
    max_duration_s: float | None = None
    min_aspect: float | None = None
    max_aspect: float | None = None


@dataclass(frozen=True, slots=True)
class MediaIssue:
    """Why a platform would reject a plan's media, and the slots concerned (by plan index)."""

    platform: str
    content_type: str
    reason: str
    slots: tuple[int, ...] = ()
    account_id: str | None = None
    account_name: str | None = None  # the handle, for people

    def text(self) -> str:
        where = f"{self.platform} {self.content_type}"
        if self.account_id:
            where += f" ({self.account_name or self.account_id})"
        count = f"{len(self.slots)} slot{'s' if len(self.slots) != 1 else ''}"
        return f"media rejected by {where}, {count}: {self.reason}"


@dataclass(frozen=True, slots=True)
class AccountLimits:
    """What a platform's API says about one account, read live (the stricter of it and the
    platform table wins, per account).

    `max_posts_per_day`: Instagram's content_publishing_limit `quota_total`. TikTok's
    creator_info gives `max_video_duration_s` and `privacy_options`; `post_privacy` is the
    level Herald's publisher would ask for on this account (SELF_ONLY until audited)."""

    max_video_duration_s: float | None = None
    max_posts_per_day: int | None = None
    privacy_options: tuple[str, ...] = ()
    post_privacy: str | None = None
