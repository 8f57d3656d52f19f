"""YouTubePublisher against the YouTube fake: resumable upload, resume, errors, reconcile."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from engine.adapters.youtube_publisher import YouTubePublisher
from engine.clock import ManualClock
from engine.errors import (
    AccountSuspended,
    AuthExpired,
    ContentRejected,
    DuplicateContent,
    OutcomeUnknown,
    RateLimited,
)
from engine.media import MediaAsset
from tests.adapters.media_publisher_support import (
    NOW,
    media_store,
    publish_request,
    put_bytes,
    serve,
)
from tests.adapters.publisher_support import MemoryTokenRefresher
from tests.fakes.youtube_api import FakeYouTube

CHUNK = 256 * 1024


@dataclass
class Kit:
    fake: FakeYouTube
    tokens: MemoryTokenRefresher
    publisher: YouTubePublisher
    video: MediaAsset
    data: bytes


@pytest.fixture
async def kit(tmp_path: Path) -> AsyncIterator[Kit]:
    fake = FakeYouTube()
    runner, base = await serve(fake.app())
    fake.base = base
    clock = ManualClock(NOW)
    store = media_store(tmp_path, clock)
    data = os.urandom(3 * CHUNK + 1000)
    video = await put_bytes(store, data)
    tokens = MemoryTokenRefresher(grant=fake.grant, publisher="youtube")
    tokens.mint("acc-1", "UC1")
    publisher = YouTubePublisher(
        tokens, store, clock, base_url=base, chunk_size=CHUNK, private_only=False
    )
    yield Kit(fake, tokens, publisher, video, data)
    await publisher.close()
    await runner.cleanup()


class TestPublish:
    async def test_resumable_upload_in_chunks(self, kit: Kit) -> None:
        """The video goes up in 256 KiB chunks, whole, as one public video with its tag."""
        receipt = await kit.publisher.publish(publish_request("youtube", [kit.video]))
        [video] = kit.fake.videos
        assert receipt.post_id == video.id
        assert receipt.url == f"https://www.youtube.com/watch?v={video.id}"
        assert video.sha256 == hashlib.sha256(kit.data).hexdigest()
        assert kit.fake.puts == 4
        assert video.status["privacyStatus"] == "public"
        assert video.snippet["title"] == "Winter is here"
        assert any(t.startswith("herald") for t in video.snippet["tags"])

    async def test_unaudited_project_posts_private(self, kit: Kit, tmp_path: Path) -> None:
        """With private_only (an unverified API project), the video is private."""
        publisher = YouTubePublisher(
            kit.tokens,
            kit.publisher._media,
            ManualClock(NOW),
            base_url=kit.fake.base,
            chunk_size=CHUNK,
        )
        await publisher.publish(publish_request("youtube", [kit.video]))
        await publisher.close()
        assert kit.fake.videos[0].status["privacyStatus"] == "private"

    @pytest.mark.parametrize("when", ["after", "before"])
    async def test_resumed_after_a_dropped_connection(self, kit: Kit, when: str) -> None:
        """A chunk whose connection drops is not re-sent blindly: the session is asked what it
        holds, and the upload continues from there into one whole video."""
        kit.fake.drop_next_chunk = when
        await kit.publisher.publish(publish_request("youtube", [kit.video]))
        assert kit.fake.drop_next_chunk is None  # the drop happened
        assert len(kit.fake.videos) == 1
        assert kit.fake.videos[0].sha256 == hashlib.sha256(kit.data).hexdigest()

    async def test_processing_that_fails(self, kit: Kit) -> None:
        """A video YouTube cannot process is ContentRejected with its failure reason."""
        kit.fake.next_outcome = "failed"
        with pytest.raises(ContentRejected, match="could not process the video: codec"):
            await kit.publisher.publish(publish_request("youtube", [kit.video]))

    async def test_duplicate_rejection(self, kit: Kit) -> None:
        """rejectionReason duplicate maps to DuplicateContent."""
        kit.fake.next_outcome = "rejected"
        with pytest.raises(DuplicateContent):
            await kit.publisher.publish(publish_request("youtube", [kit.video]))


class TestErrors:
    async def test_quota_exceeded_waits_for_pacific_midnight(self, kit: Kit) -> None:
        """403 quotaExceeded is RateLimited until the quota resets (midnight Pacific)."""
        kit.fake.units = 1000
        with pytest.raises(RateLimited) as info:
            await kit.publisher.publish(publish_request("youtube", [kit.video]))
        # 12:00 UTC is 04:00 in Los Angeles: 20 hours to midnight.
        assert info.value.retry_after == timedelta(hours=20)

    async def test_upload_limit_exceeded(self, kit: Kit) -> None:
        """400 uploadLimitExceeded (per channel) is RateLimited for 24 hours."""
        kit.fake.channel_upload_limit = 0
        with pytest.raises(RateLimited) as info:
            await kit.publisher.publish(publish_request("youtube", [kit.video]))
        assert info.value.retry_after == timedelta(hours=24)

    async def test_expired_token_refreshed_then_published(self, kit: Kit) -> None:
        """A 401 forces one refresh; the upload then goes through."""
        kit.tokens.stale("acc-1")
        await kit.publisher.publish(publish_request("youtube", [kit.video]))
        assert kit.tokens.refreshes == 1 and len(kit.fake.videos) == 1

    async def test_revoked_token_is_auth_expired(self, kit: Kit) -> None:
        """A refresh refused for good is AuthExpired; nothing is uploaded."""
        kit.tokens.stale("acc-1")
        kit.tokens.revoked.add("acc-1")
        with pytest.raises(AuthExpired):
            await kit.publisher.publish(publish_request("youtube", [kit.video]))
        assert kit.fake.videos == []

    async def test_suspended_channel(self, kit: Kit) -> None:
        """authenticatedUserAccountSuspended is AccountSuspended."""
        kit.fake.suspended.add("UC1")
        with pytest.raises(AccountSuspended):
            await kit.publisher.publish(publish_request("youtube", [kit.video]))

    async def test_an_image_is_refused_before_any_call(self, kit: Kit) -> None:
        """YouTube takes one video; anything else is ContentRejected without a request."""
        with pytest.raises(ContentRejected):
            await kit.publisher.publish(publish_request("youtube", [kit.video, kit.video]))
        assert kit.fake.sessions == {}


class TestReconcile:
    async def test_found_through_the_session(self, kit: Kit) -> None:
        """An in-doubt slot with a known session is found as reconciled."""
        request = publish_request("youtube", [kit.video])
        receipt = await kit.publisher.publish(request)
        found = await kit.publisher.find_post(request, NOW)
        assert found is not None and found.reconciled and found.post_id == receipt.post_id

    async def test_found_through_the_channel_uploads(self, kit: Kit) -> None:
        """Without the session (a restart), the channel's uploads are matched on the tag."""
        request = publish_request("youtube", [kit.video])
        receipt = await kit.publisher.publish(request)
        kit.publisher.handles.forget_all()  # type: ignore[attr-defined]
        found = await kit.publisher.find_post(request, NOW)
        assert found is not None and found.post_id == receipt.post_id
        other = publish_request("youtube", [kit.video], slot_id="s-2")
        assert await kit.publisher.find_post(other, NOW) is None

    async def test_incomplete_session_is_no_post(self, kit: Kit) -> None:
        """A session that never completed made no video."""
        kit.fake.drop_next_chunk = "before"
        request = publish_request("youtube", [kit.video])
        kit.publisher._max_resumes = 0
        with pytest.raises(OutcomeUnknown):
            await kit.publisher.publish(request)
        assert await kit.publisher.find_post(request, NOW) is None
