"""Files posted in a plan card's thread become the distribution's media, until approval
(signed Events API requests through bolt; files from the fake Slack's files.info)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from engine.models import DistributionStatus
from tests.bot.conftest import (
    APPROVER,
    CHANNEL,
    OPERATOR,
    VIEWER,
    Harness,
    start_harness,
    stop_harness,
)
from tests.bot.fake_slack import FakeSlack, Message
from tests.bot.support import create_and_plan
from tests.media_samples import make_image, make_video


@pytest.fixture
async def h(fake: FakeSlack, tmp_path: Path) -> AsyncIterator[Harness]:
    harness, runner = await start_harness(fake, HERALD_MEDIA_DIR=str(tmp_path / "media"))
    yield harness
    await stop_harness(harness, runner)


async def post_file(
    h: Harness,
    path: Path,
    *,
    thread_ts: str,
    user: str = OPERATOR,
    channel: str = CHANNEL,
    text: str = "",
) -> dict[str, Any]:
    """`user` shares the file at `path` in the thread `thread_ts`, as Slack reports it."""
    file = h.fake.add_file(path.read_bytes(), name=path.name)  # noqa: ASYNC240 (a test file)
    await h.driver.event(
        {
            "type": "message",
            "subtype": "file_share",
            "channel": channel,
            "channel_type": "channel",
            "user": user,
            "text": text,
            "ts": f"{time.time():.6f}",
            "thread_ts": thread_ts,
            "files": [file],
        }
    )
    return file


def thread_replies(h: Harness, card: Message) -> list[str]:
    return [m.text for m in h.fake.thread(card.channel, card.ts) if "📎" in m.text or "⚠️" in m.text]


async def answered(h: Harness, card: Message, count: int = 1) -> list[str]:
    await h.settle(until=lambda: len(thread_replies(h, card)) >= count)
    return thread_replies(h, card)


class TestCardThreadFiles:
    async def test_video_is_attached_and_the_plan_checked_again(
        self, h: Harness, tmp_path: Path
    ) -> None:
        """A 2 s landscape clip posted in a planned card's thread is stored, attached, and
        the plan made again: the thread says what each platform gets or why it refuses it,
        and the card flags Instagram's reels before anyone approves."""
        dist_id = await create_and_plan(h)
        before = await h.service.resolve(dist_id)
        card = h.card()
        clip = make_video(tmp_path / "clip.mp4", width=160, height=90, seconds=2)
        await post_file(h, clip, thread_ts=card.ts)
        [reply] = await answered(h, card)
        assert "Attached clip.mp4 (video, 2 s, 160x90" in reply and "*spring*" in reply
        assert "✅ tiktok gets a video" in reply
        assert (
            "⛔ instagram reel: refused: clip.mp4: 2s long, under instagram's 3s minimum" in reply
        )
        assert "Planned again" in reply
        after = await h.service.resolve(dist_id)
        [media_id] = after.request.content.media
        assert media_id.startswith("m-") and after.version > before.version
        assert after.status == DistributionStatus.AWAITING_APPROVAL
        await h.settle(until=lambda: "media rejected by instagram reel" in h.card().all_text())
        card_text = h.card().all_text()
        assert "media: *clip.mp4 (video, 2 s, 160x90, 3 KB)*" in card_text
        assert "platforms get: *tiktok video, instagram reel ✗*" in card_text
        events = [e.kind for e in await h.service.history(key=dist_id)]
        assert "distribution.media_changed" in events

    async def test_a_draft_is_told_to_plan(self, h: Harness, tmp_path: Path) -> None:
        """On a draft the files are attached and the answer says planning checks them."""
        await h.import_accounts()
        await h.driver.command(
            'create name=draft caption="x" platforms=tiktok window=2h start=2026-12-01T11:00Z',
            user=OPERATOR,
        )
        await h.settle(until=lambda: "Created draft" in h.fake.responses_text())
        card = h.card()
        await post_file(h, make_video(tmp_path / "v.mp4", seconds=4), thread_ts=card.ts)
        [reply] = await answered(h, card)
        assert "Still a draft: `/herald plan draft`" in reply
        assert (await h.service.resolve("draft")).status == DistributionStatus.DRAFT

    async def test_images_add_up_and_a_video_replaces_them(
        self, h: Harness, tmp_path: Path
    ) -> None:
        """Two images posted one after the other make a carousel; a video then replaces
        them (a video is posted alone everywhere); "replace" swaps images too."""
        dist_id = await create_and_plan(h)
        card = h.card()
        await post_file(h, make_image(tmp_path / "a.jpg"), thread_ts=card.ts)
        await answered(h, card, 1)
        await post_file(h, make_image(tmp_path / "b.jpg", width=900), thread_ts=card.ts)
        replies = await answered(h, card, 2)
        assert "It now carries 2 files" in replies[1]
        assert len((await h.service.resolve(dist_id)).request.content.media) == 2
        await post_file(h, make_video(tmp_path / "v.mp4", seconds=4), thread_ts=card.ts)
        await answered(h, card, 3)
        assert len((await h.service.resolve(dist_id)).request.content.media) == 1
        image = make_image(tmp_path / "c.jpg", width=700)
        await post_file(h, image, thread_ts=card.ts, text="replace with this")
        await answered(h, card, 4)
        [only] = (await h.service.resolve(dist_id)).request.content.media
        assert only == (await h.deps.herald.media.ingest_path(image)).id

    async def test_after_approval_media_cannot_change(self, h: Harness, tmp_path: Path) -> None:
        """A file posted once the plan is approved is refused in the thread; nothing moves."""
        dist_id = await create_and_plan(h)
        await h.service.approve(h.deps.actor(APPROVER), dist_id)
        await h.settle()
        before = await h.service.resolve(dist_id)
        card = h.card()
        await post_file(h, make_video(tmp_path / "late.mp4", seconds=4), thread_ts=card.ts)
        [reply] = await answered(h, card)
        assert "late.mp4 not attached" in reply
        assert "media cannot change after approval" in reply
        after = await h.service.resolve(dist_id)
        assert (after.version, after.request.content.media) == (before.version, [])

    async def test_a_viewer_cannot_attach(self, h: Harness, tmp_path: Path) -> None:
        """Only someone allowed to edit (an operator) attaches media."""
        dist_id = await create_and_plan(h)
        card = h.card()
        await post_file(h, make_video(tmp_path / "v.mp4"), thread_ts=card.ts, user=VIEWER)
        [reply] = await answered(h, card)
        assert "only operators can attach media; you are a viewer" in reply
        assert (await h.service.resolve(dist_id)).request.content.media == []

    async def test_other_threads_and_documents_are_left_alone(
        self, h: Harness, tmp_path: Path
    ) -> None:
        """A file in another thread, or a document in the card's thread, is conversation."""
        dist_id = await create_and_plan(h)
        card = h.card()
        notes = tmp_path / "brief.pdf"
        notes.write_bytes(b"%PDF-1.4 not media")
        await post_file(h, notes, thread_ts=card.ts)
        await post_file(h, make_video(tmp_path / "v.mp4"), thread_ts="1.000001")
        await h.settle()
        assert thread_replies(h, card) == []
        assert (await h.service.resolve(dist_id)).request.content.media == []
        assert not [m for m in h.fake.messages if m.thread_ts == "1.000001"]

    async def test_the_card_is_found_again_after_a_restart(
        self, h: Harness, tmp_path: Path
    ) -> None:
        """The card's place is kept (message_refs `card:<id>`): with the bot's memory gone,
        a file in its thread still finds the distribution."""
        dist_id = await create_and_plan(h)
        card = h.card()
        h.notifier._cards.clear()
        assert await h.notifier.distribution_of_card(card.channel, card.ts) == dist_id
        await post_file(h, make_video(tmp_path / "v.mp4", seconds=4), thread_ts=card.ts)
        [reply] = await answered(h, card)
        assert "Attached v.mp4" in reply
