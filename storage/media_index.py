"""The `media` table (facts of stored media files by id; the bytes stay in the media dir)
and the `publish_handles` table (what a media publisher keeps to reconcile a slot)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import URL
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from engine.errors import MediaNotFound
from engine.media import MediaAsset, MediaKind
from engine.models import Event
from storage import tables as t
from storage.database import create_engine, safe_url
from storage.sqlalchemy_repository import event_to_row, translate_errors


class SQLAlchemyMediaIndex:
    """MediaIndex on Herald's database (SQLite or PostgreSQL)."""

    def __init__(
        self,
        url_or_engine: str | URL | AsyncEngine,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if isinstance(url_or_engine, AsyncEngine):
            self.engine, self._owns_engine = url_or_engine, False
        else:
            self.engine, self._owns_engine = create_engine(url_or_engine), True
        self._url = safe_url(self.engine.url)
        self._now = now

    async def get_media(self, media_id: str) -> MediaAsset:
        """Raises MediaNotFound, StorageError."""
        query = select(t.media).where(t.media.c.id == media_id)
        with translate_errors(self._url):
            async with self.engine.begin() as conn:
                row = (await conn.execute(query)).mappings().first()
        if row is None:
            raise MediaNotFound(media_id)
        return _asset(row)

    async def put_media(self, asset: MediaAsset, *, event: Event | None = None) -> None:
        """Insert the facts; the same id again (same bytes) keeps the first row. `event`
        (an upload's audit record) is written in the same transaction, row or not."""
        values = {
            "id": asset.id,
            "sha256": asset.sha256,
            "kind": asset.kind.value,
            "mime_type": asset.mime_type,
            "size_bytes": asset.size_bytes,
            "filename": asset.filename[:300],
            "width": asset.width,
            "height": asset.height,
            "duration_s": asset.duration_s,
            "codec": asset.codec,
            "source_url": asset.source_url,
            "created_at": self._now(),
        }
        try:
            with translate_errors(self._url):
                async with self.engine.begin() as conn:
                    exists = (
                        await conn.execute(select(t.media.c.id).where(t.media.c.id == asset.id))
                    ).first()
                    if exists is None:
                        await conn.execute(insert(t.media), [values])
                    if event is not None:
                        await conn.execute(insert(t.events), [event_to_row(event)])
        except Exception as exc:
            # Two replicas storing the same file at once: the other one's row is the same.
            if not isinstance(exc.__cause__, IntegrityError):
                raise
            if event is not None:
                await self._audit_only(event)

    async def _audit_only(self, event: Event) -> None:
        """The upload's audit record when the row was written by another replica meanwhile."""
        with translate_errors(self._url):
            async with self.engine.begin() as conn:
                await conn.execute(insert(t.events), [event_to_row(event)])

    async def close(self) -> None:
        if self._owns_engine:
            await self.engine.dispose()


class SQLAlchemyPublishHandles:
    """PublishHandles on Herald's database: handles survive a restart."""

    def __init__(
        self, engine: AsyncEngine, *, now: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.engine = engine
        self._url = safe_url(engine.url)
        self._now = now

    async def remember(self, slot_id: str, publisher: str, handle: str) -> None:
        h = t.publish_handles
        row = {
            "slot_id": slot_id,
            "publisher": publisher,
            "handle": handle,
            "created_at": self._now(),
        }
        with translate_errors(self._url):
            async with self.engine.begin() as conn:
                await conn.execute(
                    delete(h).where(h.c.slot_id == slot_id, h.c.publisher == publisher)
                )
                await conn.execute(insert(h), [row])

    async def recall(self, slot_id: str, publisher: str) -> str | None:
        h = t.publish_handles
        query = select(h.c.handle).where(h.c.slot_id == slot_id, h.c.publisher == publisher)
        with translate_errors(self._url):
            async with self.engine.begin() as conn:
                value = (await conn.execute(query)).scalar()
        return None if value is None else str(value)


def _asset(row: Any) -> MediaAsset:
    return MediaAsset(
        id=row["id"],
        kind=MediaKind(row["kind"]),
        mime_type=row["mime_type"],
        size_bytes=int(row["size_bytes"]),
        sha256=row["sha256"],
        filename=row["filename"],
        width=row["width"],
        height=row["height"],
        duration_s=row["duration_s"],
        codec=row["codec"],
        source_url=row["source_url"],
    )
