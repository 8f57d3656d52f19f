"""TikTokPublisher against the TikTok fake: Direct Post by chunked upload or pull, privacy."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp import web

from bot.media.routes import media_routes
from engine.adapters.file_media_store import FileMediaStore
from engine.adapters.tiktok_publisher import TikTokPublisher
from engine.clock import ManualClock
from engine.errors import AccountSuspended, AuthExpired, ContentRejected, RateLimited
from engine.media import MediaAsset
from tests.adapters.media_publisher_support import (
    NOW,
    media_store,
    publish_request,
    put_bytes,
    serve,
)
from tests.adapters.publisher_support import MemoryTokenRefresher
from tests.fakes.tiktok_api import MB, FakeTikTok


@dataclass
class Kit:
    fake: FakeTikTok
    tokens: MemoryTokenRefresher
    store: FileMediaStore
    video: MediaAsset
    data: bytes
    clock: ManualClock
    base: str
    herald_base: str

    def publisher(self, **kwargs: object) -> TikTokPublisher:
        return TikTokPublisher(
            self.tokens,
            self.store,
            self.clock,
            base_url=self.base,
            chunk_size=5 * MB,
            **kwargs,  # type: ignore[arg-type]
        )


@pytest.fixture
async def kit(tmp_path: Path) -> AsyncIterator[Kit]:
    fake = FakeTikTok()
    api, base = await serve(fake.app())
    fake.base = base
    clock = ManualClock(NOW)
    boxes: list[FileMediaStore] = []

    async def pull(request: web.Request) -> web.StreamResponse:
        return await media_routes(boxes[0])[0].handler(request)  # type: ignore[misc,operator]

    media_app = web.Application()
    media_app.router.add_get("/media/{media_id}", pull)
    herald, herald_base = await serve(media_app)
    store = media_store(tmp_path, clock, public_url=herald_base, signing_key=b"t" * 32)
    boxes.append(store)
    data = os.urandom(12 * MB + 12345)
    video = await put_bytes(store, data)
    tokens = MemoryTokenRefresher(grant=fake.grant, publisher="tiktok")
    tokens.mint("acc-1", "creator1")
    fake.private_accounts.add("creator1")  # what an unaudited client can post to
    yield Kit(fake, tokens, store, video, data, clock, base, herald_base)
    await api.cleanup()
    await herald.cleanup()


async def publish(kit: Kit, **kwargs: object) -> object:
    publisher = kit.publisher(**kwargs)
    try:
        return await publisher.publish(publish_request("tiktok", [kit.video]))
    finally:
        await publisher.close()


class TestDirectPost:
    async def test_unaudited_client_posts_private_by_chunked_upload(self, kit: Kit) -> None:
        """Unaudited: SELF_ONLY, 5 MB chunks (the last takes the rest), whole file, no public id."""
        receipt = await publish(kit)
        [pub] = kit.fake.publishes.values()
        assert pub.privacy == "SELF_ONLY" and pub.chunks == 2
        assert pub.digest.hexdigest() == hashlib.sha256(kit.data).hexdigest()
        assert receipt.post_id == pub.id and receipt.url is None  # type: ignore[attr-defined]

    async def test_audited_client_posts_public(self, kit: Kit) -> None:
        """Audited: PUBLIC_TO_EVERYONE, and the public post id makes the URL."""
        kit.fake.audited = True
        kit.fake.private_accounts.discard("creator1")  # a public account, once audited
        receipt = await publish(kit, private_only=False)
        [pub] = kit.fake.publishes.values()
        assert pub.privacy == "PUBLIC_TO_EVERYONE"
        assert receipt.url == f"https://www.tiktok.com/@acc-1/video/{pub.post_id}"  # type: ignore[attr-defined]

    async def test_pull_from_a_verified_url(self, kit: Kit) -> None:
        """With Herald's URL verified, TikTok pulls the file from a signed link."""
        kit.fake.verified_prefixes.append(kit.herald_base)
        await publish(kit, pull_prefixes=(kit.herald_base,))
        [pub] = kit.fake.publishes.values()
        assert pub.source == "PULL_FROM_URL"
        assert pub.digest.hexdigest() == hashlib.sha256(kit.data).hexdigest()

    @pytest.mark.parametrize("when", ["after", "before"])
    async def test_upload_resumed_after_a_dropped_connection(self, kit: Kit, when: str) -> None:
        """A dropped chunk: uploaded_bytes is asked, then the upload completes whole."""
        kit.fake.drop_next_chunk = when
        await publish(kit)
        [pub] = kit.fake.publishes.values()
        assert kit.fake.drop_next_chunk is None  # the drop happened
        assert pub.status == "PUBLISH_COMPLETE"
        assert pub.digest.hexdigest() == hashlib.sha256(kit.data).hexdigest()

    async def test_processing_that_fails(self, kit: Kit) -> None:
        """FAILED with fail_reason duration_check_failed is ContentRejected."""
        kit.fake.fail_next = "duration_check_failed"
        with pytest.raises(ContentRejected, match="duration_check_failed"):
            await publish(kit)

    async def test_public_privacy_on_a_private_account_is_refused(self, kit: Kit) -> None:
        """A privacy level creator_info does not offer is refused before init."""
        kit.fake.audited = True
        kit.fake.private_accounts.add("creator1")
        with pytest.raises(ContentRejected, match="not PUBLIC_TO_EVERYONE"):
            await publish(kit, private_only=False)
        assert kit.fake.publishes == {}

    async def test_unaudited_public_attempt_says_why(self, kit: Kit) -> None:
        """An unaudited client asking for public gets TikTok's reason, explained."""
        kit.fake.private_accounts.discard("creator1")
        with pytest.raises(ContentRejected, match="passes TikTok's audit"):
            await publish(kit, private_only=False)

    async def test_unaudited_private_post_to_a_public_account(self, kit: Kit) -> None:
        """SELF_ONLY is not enough: before the audit the account itself must be private."""
        kit.fake.private_accounts.discard("creator1")
        with pytest.raises(ContentRejected, match="account itself must be private"):
            await publish(kit)
        assert kit.fake.publishes == {}

    async def test_creator_duration_limit(self, kit: Kit) -> None:
        """A video over the creator's max_video_post_duration_sec is refused before init."""
        kit.fake.max_duration["creator1"] = 10
        with pytest.raises(ContentRejected, match="over this creator's 10 s"):
            await publish(kit)
        limits = await kit.publisher().account_limits("acc-1")
        assert limits.max_video_duration_s == 10 and "SELF_ONLY" in limits.privacy_options


class TestErrors:
    async def test_init_rate_limit(self, kit: Kit) -> None:
        """The seventh init in a minute is rate_limit_exceeded: RateLimited for a minute."""
        for _ in range(6):
            await publish(kit)
        with pytest.raises(RateLimited) as info:
            await publish(kit)
        assert info.value.retry_after == timedelta(minutes=1)

    async def test_daily_cap(self, kit: Kit) -> None:
        """spam_risk_too_many_posts is RateLimited for a day."""
        kit.fake.daily_cap = 0
        with pytest.raises(RateLimited) as info:
            await publish(kit)
        assert info.value.retry_after == timedelta(hours=24)

    async def test_expired_token_refreshed_then_published(self, kit: Kit) -> None:
        """access_token_invalid forces one refresh, then the post goes out."""
        kit.tokens.stale("acc-1")
        await publish(kit)
        assert kit.tokens.refreshes == 1 and len(kit.fake.publishes) == 1

    async def test_revoked_token_is_auth_expired(self, kit: Kit) -> None:
        """A refused refresh is AuthExpired."""
        kit.tokens.stale("acc-1")
        kit.tokens.revoked.add("acc-1")
        with pytest.raises(AuthExpired):
            await publish(kit)

    def test_banned_creator_maps_to_suspended(self) -> None:
        """spam_risk_user_banned_from_posting is AccountSuspended."""
        from engine.adapters.tiktok_publisher import tiktok_error

        assert isinstance(
            tiktok_error("spam_risk_user_banned_from_posting", "", 403), AccountSuspended
        )


class TestReconcile:
    async def test_found_by_publish_id(self, kit: Kit) -> None:
        """An in-doubt slot is looked up by its kept publish_id."""
        publisher = kit.publisher()
        request = publish_request("tiktok", [kit.video])
        receipt = await publisher.publish(request)
        found = await publisher.find_post(request, NOW)
        await publisher.close()
        assert found is not None and found.reconciled and found.post_id == receipt.post_id

    async def test_failed_post_is_none(self, kit: Kit) -> None:
        """A publish that FAILED made no post."""
        kit.fake.fail_next = "file_format_check_failed"
        publisher = kit.publisher()
        request = publish_request("tiktok", [kit.video])
        with pytest.raises(ContentRejected):
            await publisher.publish(request)
        assert await publisher.find_post(request, NOW) is None
        await publisher.close()
