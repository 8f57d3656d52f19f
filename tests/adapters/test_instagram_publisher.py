"""InstagramPublisher against the Instagram fake, which pulls media from Herald's signed links."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web

from bot.media.routes import media_routes
from engine.adapters.file_media_store import FileMediaStore
from engine.adapters.instagram_publisher import InstagramPublisher
from engine.clock import ManualClock
from engine.errors import AccountSuspended, AuthExpired, ContentRejected, RateLimited
from engine.media import MediaAsset, MediaKind
from tests.adapters.media_publisher_support import (
    NOW,
    media_store,
    publish_request,
    put_bytes,
    serve,
)
from tests.adapters.publisher_support import MemoryTokenRefresher
from tests.fakes.instagram_api import VERSION, Container, FakeInstagram


@dataclass
class Kit:
    fake: FakeInstagram
    tokens: MemoryTokenRefresher
    publisher: InstagramPublisher
    store: FileMediaStore
    video: MediaAsset
    data: bytes


@pytest.fixture
async def kit(tmp_path: Path) -> AsyncIterator[Kit]:
    fake = FakeInstagram()
    api, api_base = await serve(fake.app())
    clock = ManualClock(NOW)
    # Herald's own server for the signed links (the port is known once it listens).
    media_app = web.Application()
    store_box: list[FileMediaStore] = []

    async def pull(request: web.Request) -> web.StreamResponse:
        handler = media_routes(store_box[0])[0].handler
        return await handler(request)  # type: ignore[misc,operator]

    media_app.router.add_get("/media/{media_id}", pull)
    herald, herald_base = await serve(media_app)
    store = media_store(tmp_path, clock, public_url=herald_base, signing_key=b"k" * 32)
    store_box.append(store)
    data = os.urandom(2_000_000)
    video = await put_bytes(store, data)
    tokens = MemoryTokenRefresher(grant=fake.grant, publisher="instagram")
    tokens.mint("acc-1", "17841400000000001")
    publisher = InstagramPublisher(tokens, store, clock, base_url=f"{api_base}/{VERSION}")
    yield Kit(fake, tokens, publisher, store, video, data)
    await publisher.close()
    await api.cleanup()
    await herald.cleanup()


class TestPublish:
    async def test_reel_through_container_polling_and_publish(self, kit: Kit) -> None:
        """A video becomes a REELS container that Instagram pulls whole from a signed link,
        is polled to FINISHED and published once."""
        receipt = await kit.publisher.publish(publish_request("instagram", [kit.video]))
        [container] = kit.fake.containers.values()
        assert container.media_type == "REELS" and container.status == "PUBLISHED"
        assert container.sha256 == hashlib.sha256(kit.data).hexdigest()
        assert "/media/" + kit.video.id + "?exp=" in container.url
        assert receipt.post_id == container.media_id
        assert receipt.url is not None and "/reel/" in receipt.url
        assert container.caption == "Winter is here\nwarm layers #winter"

    async def test_carousel_of_jpeg_images(self, kit: Kit) -> None:
        """Two JPEGs make a carousel: two child containers, then one CAROUSEL post."""
        images = [
            await put_bytes(
                kit.store,
                os.urandom(5000) + bytes([i]),
                kind=MediaKind.IMAGE,
                mime="image/jpeg",
                name=f"{i}.jpg",
            )
            for i in range(2)
        ]
        await kit.publisher.publish(publish_request("instagram", images, content_type="post"))
        kinds = sorted(c.media_type for c in kit.fake.containers.values())
        assert kinds == ["CAROUSEL", "IMAGE", "IMAGE"] and len(kit.fake.media) == 1

    async def test_processing_that_fails(self, kit: Kit) -> None:
        """A container that ends in ERROR is ContentRejected with Instagram's reason."""
        kit.fake.fail_processing = True
        with pytest.raises(ContentRejected, match="2207026"):
            await kit.publisher.publish(publish_request("instagram", [kit.video]))
        assert kit.fake.media == []

    async def test_no_public_url_is_refused_before_any_container(
        self, kit: Kit, tmp_path: Path
    ) -> None:
        """Without a public URL for the media, nothing is sent and the reason says what to set."""
        store = media_store(tmp_path / "other", ManualClock(NOW))
        video = await put_bytes(store, b"x" * 1000)
        publisher = InstagramPublisher(
            kit.tokens,
            store,
            ManualClock(NOW),
            base_url=kit.publisher._base,
        )
        with pytest.raises(ContentRejected, match="HERALD_PUBLIC_URL"):
            await publisher.publish(publish_request("instagram", [video]))
        await publisher.close()
        assert kit.fake.containers == {}

    async def test_plan_time_says_whether_the_media_can_be_pulled(
        self, kit: Kit, tmp_path: Path
    ) -> None:
        """media_problem (asked at plan time): no reason with Herald's signed links or the
        user's own URL; without either, the reason the publish would give."""
        request = publish_request("instagram", [kit.video])
        assert kit.publisher.media_problem([kit.video], request.content) is None
        bare = media_store(tmp_path / "bare", ManualClock(NOW))
        video = await put_bytes(bare, b"y" * 1000)
        publisher = InstagramPublisher(kit.tokens, bare, ManualClock(NOW))
        content = publish_request("instagram", [video]).content
        assert "HERALD_PUBLIC_URL" in (publisher.media_problem([video], content) or "")
        own = content.model_copy(update={"media_url": "https://cdn.example/reel.mp4"})
        assert publisher.media_problem([video], own) is None


class TestLimitsAndErrors:
    async def test_live_publishing_limit_is_the_cap(self, kit: Kit) -> None:
        """content_publishing_limit is read live: at the cap, RateLimited before any container."""
        kit.fake.quota_total = 1
        await kit.publisher.publish(publish_request("instagram", [kit.video]))
        with pytest.raises(RateLimited, match="used its 1 API posts"):
            await kit.publisher.publish(publish_request("instagram", [kit.video], slot_id="s-2"))
        assert len(kit.fake.containers) == 1
        limits = await kit.publisher.account_limits("acc-1")
        assert limits.max_posts_per_day == 1

    async def test_expired_token_refreshed_then_published(self, kit: Kit) -> None:
        """Code 190 forces one refresh, then the post goes out."""
        kit.tokens.stale("acc-1")
        await kit.publisher.publish(publish_request("instagram", [kit.video]))
        assert kit.tokens.refreshes == 1 and len(kit.fake.media) == 1

    async def test_revoked_token_is_auth_expired(self, kit: Kit) -> None:
        """A refused refresh is AuthExpired."""
        kit.tokens.stale("acc-1")
        kit.tokens.revoked.add("acc-1")
        with pytest.raises(AuthExpired):
            await kit.publisher.publish(publish_request("instagram", [kit.video]))

    async def test_restricted_account(self, kit: Kit) -> None:
        """Subcode 2207050 (user restricted) is AccountSuspended."""
        kit.fake.restricted.add("17841400000000001")
        with pytest.raises(AccountSuspended):
            await kit.publisher.publish(publish_request("instagram", [kit.video]))


class TestReconcile:
    async def test_published_container_is_found(self, kit: Kit) -> None:
        """An in-doubt slot whose container is PUBLISHED is found, not posted again."""
        request = publish_request("instagram", [kit.video])
        receipt = await kit.publisher.publish(request)
        found = await kit.publisher.find_post(request, NOW)
        assert found is not None and found.reconciled and found.post_id == receipt.post_id

    async def test_unpublished_container_is_no_post(self, kit: Kit) -> None:
        """A container never published means no post."""
        request = publish_request("instagram", [kit.video])
        await kit.publisher.handles.remember(request.slot_id, "instagram", "17900000000000999")
        kit.fake.containers["17900000000000999"] = Container(
            "17900000000000999", "17841400000000001", "REELS", "x", "u", status="FINISHED"
        )
        assert await kit.publisher.find_post(request, NOW) is None
