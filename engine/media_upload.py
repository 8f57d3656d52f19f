"""A media file uploaded on its own (the HTTP API's `POST /media`): who may, its audit event,
and what each platform would do with it.

The bytes stream into the media store (hashed, counted, capped, probed); the `media` row and
its `media.uploaded` event are written in one transaction, so every upload is audited even
when the same bytes were stored before (content addressing keeps one copy).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Protocol

from engine.media import MediaAsset
from engine.media_check import check_media
from engine.models import Actor, Event, Role, new_event_id
from engine.platforms import PlatformTable
from engine.ports import Clock
from engine.service_support import require_role


class MediaIngest(Protocol):
    """The part of a media store that takes a stream (FileMediaStore)."""

    async def ingest_stream(
        self,
        chunks: AsyncIterator[bytes],
        *,
        filename: str,
        source_url: str | None = None,
        audit: Callable[[MediaAsset], Event] | None = None,
    ) -> MediaAsset: ...


@dataclass(frozen=True, slots=True)
class MediaVerdict:
    """Whether `platform` would take the file as `content_type` (None: as nothing), and why
    not; the same fields as `content show`'s platforms."""

    platform: str
    content_type: str | None
    problems: tuple[str, ...] = ()

    @property
    def takes(self) -> bool:
        return not self.problems


async def upload_media(
    store: MediaIngest,
    actor: Actor,
    chunks: AsyncIterator[bytes],
    *,
    filename: str,
    clock: Clock,
) -> MediaAsset:
    """Store `chunks` as a media file for `actor` (an operator). Raises NotAllowed,
    InvalidInput (empty, not an image or video Herald can read, over the size cap)."""
    require_role(actor, Role.OPERATOR, "upload media")

    def audit(asset: MediaAsset) -> Event:
        data: dict[str, object] = {
            "media": asset.id,
            "kind": asset.kind.value,
            "mime_type": asset.mime_type,
            "size_bytes": asset.size_bytes,
            "sha256": asset.sha256,
            "filename": asset.filename,
        }
        if actor.via:
            data["via"] = actor.via  # the API token the user acted through
        return Event(new_event_id(), clock.now(), "media.uploaded", actor.id, data=data)

    return await store.ingest_stream(chunks, filename=filename, audit=audit)


def media_verdicts(asset: MediaAsset, platforms: PlatformTable) -> list[MediaVerdict]:
    """Per platform and content type taking this kind of file, the plan-time media check on
    the file alone; a platform taking no such file gets one refusing verdict."""
    out: list[MediaVerdict] = []
    for name in platforms:
        rules = platforms[name]
        types = [r.content_type for r in rules.media_rules if r.kind is asset.kind]
        if not types:
            kinds = sorted({r.kind.value for r in rules.media_rules})
            why = (
                f"takes {' or '.join(kinds)}, not {asset.kind.value}"
                if kinds
                else "no media rules in the platform table"
            )
            out.append(MediaVerdict(name, None, (why,)))
            continue
        out.extend(
            MediaVerdict(name, ctype, tuple(check_media(rules, ctype, [asset])))
            for ctype in dict.fromkeys(types)
        )
    return out
