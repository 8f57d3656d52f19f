"""Attaching media after creation (DistributionService.attach_media) and its pure rules."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from engine.adapters.file_media_store import FileMediaStore, MemoryMediaIndex
from engine.clock import ManualClock
from engine.errors import InvalidRequest, NotAllowed
from engine.media import MediaAsset, MediaKind
from engine.media_attach import merged_media, platform_verdicts
from engine.models import Actor, Role
from engine.platforms import DEFAULT_PLATFORMS
from engine.request import parse_request
from engine.service import DistributionService
from tests.engine.execution_support import T0, RecordingNotifier, memory_repository
from tests.media_samples import make_video

OPERATOR = Actor("U_OPS", Role.OPERATOR, "Olga")


def asset(media_id: str, kind: MediaKind) -> MediaAsset:
    mime = "video/mp4" if kind is MediaKind.VIDEO else "image/jpeg"
    return MediaAsset(media_id, kind, mime, 1000, media_id * 8, f"{media_id}.x", 1080, 1350)


class TestRules:
    def test_kinds_never_mix(self) -> None:
        """A video replaces; images add up once each; an image after a video replaces it."""
        a, b = asset("a", MediaKind.IMAGE), asset("b", MediaKind.IMAGE)
        v = asset("v", MediaKind.VIDEO)
        assert merged_media([a], [b, a]) == ["a", "b"]
        assert merged_media([a, b], [v]) == ["v"]
        assert merged_media([v], [a]) == ["a"]

    def test_verdicts_say_what_each_platform_gets(self) -> None:
        """A portrait JPEG as a post: Instagram takes it, TikTok takes no post."""
        image = asset("a", MediaKind.IMAGE)
        verdicts = platform_verdicts(["instagram", "tiktok"], "image", [image], DEFAULT_PLATFORMS)
        assert verdicts[0] == ("instagram gets a post", True)
        assert verdicts[1][1] is False and verdicts[1][0].startswith("tiktok")


class TestService:
    async def _world(self, tmp_path: Path, request: dict) -> tuple[DistributionService, str]:
        clock = ManualClock(T0 - timedelta(hours=1))
        media = FileMediaStore(tmp_path / "media", MemoryMediaIndex(), clock)
        service = DistributionService(memory_repository(), clock, RecordingNotifier(), media=media)
        d = await service.create(OPERATOR, parse_request(request))
        return service, d.id

    async def test_a_drafts_media_is_set_by_id(self, tmp_path: Path) -> None:
        """A local file's id attaches to a draft; nothing is planned yet."""
        request = {"name": "d1", "content": {"id": "c", "caption": "x", "type": "video"},
                   "platforms": ["tiktok"], "start": T0.isoformat()}  # fmt: skip
        service, dist_id = await self._world(tmp_path, request)
        store = service._media
        assert isinstance(store, FileMediaStore)
        video = await store.ingest_path(make_video(tmp_path / "v.mp4", seconds=4))
        done = await service.attach_media(OPERATOR, dist_id, [video.id])
        assert done.distribution.request.content.media == [video.id]
        assert not done.replanned and done.verdicts == [("tiktok gets a video", True)]

    async def test_a_queue_cannot_take_a_thread_file(self, tmp_path: Path) -> None:
        """A queue's thread file could belong to any item: refused, saying where to put it."""
        request = {
            "name": "q",
            "queue": [{"id": "q1", "caption": "one"}, {"id": "q2", "caption": "two"}],
            "mode": "calendar",
            "platforms": ["instagram"],
            "start": T0.isoformat(),
        }
        service, dist_id = await self._world(tmp_path, request)
        with pytest.raises(NotAllowed, match="posts 2 queue items"):
            await service.attach_media(OPERATOR, dist_id, ["m-any"])

    async def test_a_file_herald_cannot_read_changes_nothing(self, tmp_path: Path) -> None:
        """An unknown id is one line naming content.media; the distribution is unchanged."""
        request = {"name": "d2", "content": {"id": "c", "caption": "x"},
                   "platforms": ["instagram"], "start": T0.isoformat()}  # fmt: skip
        service, dist_id = await self._world(tmp_path, request)
        before = await service.resolve(dist_id)
        with pytest.raises(InvalidRequest, match=r"content\.media"):
            await service.attach_media(OPERATOR, dist_id, ["m-0000"])
        after = await service.resolve(dist_id)
        assert after.version == before.version and after.request.content.media == []
