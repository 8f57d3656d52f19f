"""Platform-specific behaviour of the publishers beyond the contract: media uploads streamed
from the media store, headers the fakes check, and each platform's own refusals."""

from __future__ import annotations

import hashlib

import pytest

from engine.errors import AccountSuspended, ContentRejected, OutcomeUnknown, UnknownPublishError
from engine.media import MediaKind
from engine.request import Content
from tests.adapters.platform_kits import platform_kit
from tests.fakes.linkedin_api import FakeLinkedIn
from tests.fakes.x_api import FakeX

VIDEO = bytes(range(256)) * 10_000  # 2.56 MB: several 1 MB chunks and LinkedIn parts


class TestXPublisher:
    async def test_video_is_uploaded_in_streamed_chunks(self) -> None:
        """INIT, 1 MB APPENDs read chunk by chunk from the store, FINALIZE, STATUS, post."""
        async with platform_kit("x") as kit:
            asset = kit.media.add("m-v", VIDEO, kind=MediaKind.VIDEO, mime_type="video/mp4")
            receipt = await kit.publisher.publish(kit.request(media=(asset,)))
            fake: FakeX = kit.fake
            (tweet,) = fake.live()
            (media,) = fake.media.values()
        assert tweet.id == receipt.post_id and tweet.media_ids == [media.id]
        assert media.received == len(VIDEO) and media.segments == {0, 1, 2}
        assert media.state == "succeeded" and kit.media.largest_chunk <= 1024 * 1024

    async def test_failed_media_processing_is_content_rejected(self) -> None:
        """A video X cannot process is ContentRejected and no post is made."""
        async with platform_kit("x") as kit:
            kit.fake.fail_media = True
            asset = kit.media.add("m-v", VIDEO, kind=MediaKind.VIDEO, mime_type="video/mp4")
            with pytest.raises(ContentRejected, match="Unsupported video"):
                await kit.publisher.publish(kit.request(media=(asset,)))
            assert kit.fake.live() == []

    async def test_suspended_account(self) -> None:
        """X's user-suspended problem is AccountSuspended."""
        async with platform_kit("x") as kit:
            kit.fake.suspended.add("2244994945")
            with pytest.raises(AccountSuspended):
                await kit.publisher.publish(kit.request())

    async def test_server_error_after_sending_is_outcome_unknown(self) -> None:
        """A 5xx to the create call may hide a post: OutcomeUnknown, not a retry."""
        async with platform_kit("x") as kit:
            kit.fake.hang, kit.fake.hang_seconds = "before", 0.0
            with pytest.raises(OutcomeUnknown, match="HTTP 503"):
                await kit.publisher.publish(kit.request())


class TestLinkedInPublisher:
    async def test_video_parts_are_uploaded_finalized_and_awaited(self) -> None:
        """initializeUpload, one PUT per instruction (ETags), finalizeUpload, AVAILABLE."""
        async with platform_kit("linkedin") as kit:
            asset = kit.media.add("m-v", VIDEO, kind=MediaKind.VIDEO, mime_type="video/mp4")
            receipt = await kit.publisher.publish(kit.request(media=(asset,)))
            fake: FakeLinkedIn = kit.fake
            (post,) = fake.live()
        urn = post.content["media"]["id"]
        assert receipt.post_id == post.urn and urn.startswith("urn:li:video:")
        assert sum(fake.assets[urn]["received"].values()) == len(VIDEO)
        assert fake.assets[urn]["parts"] == 9 and kit.media.largest_chunk <= 1024 * 1024

    async def test_image_post(self) -> None:
        """An image is uploaded with one PUT and the post references its URN."""
        async with platform_kit("linkedin-page") as kit:
            asset = kit.media.add(
                "m-i", b"\x89PNG" * 1000, kind=MediaKind.IMAGE, mime_type="image/png"
            )
            await kit.publisher.publish(kit.request(media=(asset,)))
            (post,) = kit.fake.live()
        assert post.author == "urn:li:organization:9001"
        assert post.content["media"]["id"].startswith("urn:li:image:")

    async def test_several_images_are_one_multi_image_post(self) -> None:
        """Three images: each uploaded through initializeUpload and one PUT, posted in their
        order as content.multiImage.images (MultiImage API), with their very sizes."""
        async with platform_kit("linkedin") as kit:
            assets = tuple(
                kit.media.add(
                    f"m-{i}", b"\x89PNG" * (1000 + i), kind=MediaKind.IMAGE, mime_type="image/png"
                )
                for i in range(3)
            )
            await kit.publisher.publish(kit.request(media=assets))
            fake: FakeLinkedIn = kit.fake
            (post,) = fake.live()
        images = post.content["multiImage"]["images"]
        assert "media" not in post.content and len(images) == 3
        sizes = [fake.assets[i["id"]]["received"][0] for i in images]
        assert sizes == [a.size_bytes for a in assets]

    async def test_too_many_images_or_a_video_among_them_are_refused(self) -> None:
        """21 images, or a video with an image, are ContentRejected before any upload."""
        async with platform_kit("linkedin") as kit:
            images = tuple(
                kit.media.add(
                    f"m-{i}", b"\x89PNG" * 10, kind=MediaKind.IMAGE, mime_type="image/png"
                )
                for i in range(21)
            )
            with pytest.raises(ContentRejected, match="at most 20 images"):
                await kit.publisher.publish(kit.request(media=images))
            video = kit.media.add("m-v", VIDEO, kind=MediaKind.VIDEO, mime_type="video/mp4")
            with pytest.raises(ContentRejected, match="video alone"):
                await kit.publisher.publish(kit.request(media=(video, images[0])))
            assert kit.fake.assets == {} and kit.fake.live() == []

    async def test_failed_video_processing_is_content_rejected(self) -> None:
        """PROCESSING_FAILED is ContentRejected with LinkedIn's reason."""
        async with platform_kit("linkedin") as kit:
            kit.fake.fail_video = True
            asset = kit.media.add("m-v", VIDEO, kind=MediaKind.VIDEO, mime_type="video/mp4")
            with pytest.raises(ContentRejected, match="Video format not supported"):
                await kit.publisher.publish(kit.request(media=(asset,)))

    async def test_retired_version_is_refused_clearly(self) -> None:
        """A LinkedIn-Version the API no longer serves fails naming the version."""
        async with platform_kit("linkedin") as kit:
            kit.fake.active_versions = {"202612"}
            with pytest.raises(UnknownPublishError, match="202601 is not active"):
                await kit.publisher.publish(kit.request())

    async def test_too_long_commentary_is_content_rejected(self) -> None:
        """Over 3,000 characters: ContentRejected."""
        async with platform_kit("linkedin") as kit:
            with pytest.raises(ContentRejected):
                await kit.publisher.publish(kit.request(caption="x" * 3100))


class TestPostingServices:
    @pytest.mark.parametrize("name", ["postiz", "mixpost"])
    async def test_platform_failure_is_content_rejected(self, name: str) -> None:
        """A post the service could not publish (ERROR) gives the platform's reason."""
        async with platform_kit(name) as kit:
            kit.fake.fail_next = "The Tweet contains an invalid URL."
            with pytest.raises(ContentRejected, match="invalid URL"):
                await kit.publisher.publish(kit.request())

    async def test_postiz_sends_the_bare_key_and_herald_group(self) -> None:
        """Postiz gets `Authorization: <key>` (no Bearer) and Herald's group per slot."""
        from engine.adapters.postiz_publisher import group_id

        async with platform_kit("postiz") as kit:
            receipt = await kit.publisher.publish(kit.request())
            (post,) = kit.fake.published()
        assert post.id == receipt.post_id and post.group == group_id(kit.request())
        assert receipt.url == f"https://x.com/herald_hq/status/{post.id}"


class TestMediaNamedByTheDispatcher:
    @pytest.mark.parametrize("name", ["x", "linkedin"])
    async def test_the_distributions_video_is_posted(self, name: str) -> None:
        """The dispatcher names the distribution's media by id (content.media), not as files:
        X and LinkedIn read them from the store and post the video, as the other three do."""
        async with platform_kit(name) as kit:
            kit.media.add("m-v", VIDEO, kind=MediaKind.VIDEO, mime_type="video/mp4")
            content = Content(id="c1", caption="Launch day", media=["m-v"])
            await kit.publisher.publish(kit.request(content=content))
            fake = kit.fake
            (post,) = fake.live()
            if isinstance(fake, FakeX):
                (media,) = fake.media.values()
                assert post.media_ids == [media.id] and media.received == len(VIDEO)
            else:
                assert post.content["media"]["id"].startswith("urn:li:video:")


# What the services sniff: an MP4 `ftyp` box and a JPEG's SOI marker, then filler bytes.
MP4 = b"\x00\x00\x00\x18ftypmp42" + VIDEO
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 400


class TestPostingServiceMedia:
    @pytest.mark.parametrize("name", ["postiz", "mixpost"])
    async def test_files_are_uploaded_streamed_and_referenced(self, name: str) -> None:
        """Each file of the slot (named by id in content.media, as the dispatcher does) is
        uploaded as multipart `file`, read from the store a chunk at a time, and the post
        references what the service answered; the service got the very bytes."""
        async with platform_kit(name) as kit:
            kit.media.add("m-v", MP4, kind=MediaKind.VIDEO, mime_type="video/mp4")
            content = Content(id="c1", caption="Launch day", media=["m-v"])
            await kit.publisher.publish(kit.request(content=content))
            fake = kit.fake
            (post,) = fake.live()
            (stored,) = (fake.uploads if name == "postiz" else fake.media).values()
            if name == "postiz":
                assert post.images == [{"id": stored["id"], "path": stored["path"]}]
            else:
                assert post.media == [stored["id"]] and stored["mime_type"] == "video/mp4"
        assert stored["size"] == len(MP4)
        assert stored["sha256"] == hashlib.sha256(MP4).hexdigest()
        assert kit.media.largest_chunk <= 1024 * 1024

    @pytest.mark.parametrize("name", ["postiz", "mixpost"])
    async def test_several_images_go_in_order(self, name: str) -> None:
        """A carousel's images are all uploaded and referenced in their order."""
        async with platform_kit(name) as kit:
            assets = tuple(
                kit.media.add(
                    f"m-{i}", JPEG + bytes([i]), kind=MediaKind.IMAGE, mime_type="image/jpeg"
                )
                for i in range(3)
            )
            await kit.publisher.publish(kit.request(media=assets))
            (post,) = kit.fake.live()
            if name == "postiz":
                sent = [kit.fake.uploads[i["id"]]["sha256"] for i in post.images]
            else:
                sent = [kit.fake.media[i]["sha256"] for i in post.media]
        assert sent == [a.sha256 for a in assets]

    @pytest.mark.parametrize("name", ["postiz", "mixpost"])
    async def test_a_file_the_service_refuses_is_content_rejected(self, name: str) -> None:
        """Bytes the service does not take as media are ContentRejected naming the file,
        and no post is created."""
        async with platform_kit(name) as kit:
            asset = kit.media.add(
                "m-x", b"%PDF-1.7 not a video", kind=MediaKind.VIDEO, mime_type="video/mp4"
            )
            with pytest.raises(ContentRejected, match=r"refused the file m-x\.bin"):
                await kit.publisher.publish(kit.request(media=(asset,)))
            assert kit.fake.live() == [] and kit.fake.create_calls == 0
