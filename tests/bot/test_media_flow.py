"""Media through Slack: a shared file becomes the draft's media; the plan card flags it."""

from __future__ import annotations

from pathlib import Path

from tests.bot.conftest import OPERATOR, start_harness, stop_harness
from tests.bot.fake_slack import FakeSlack
from tests.media_samples import make_video


async def test_plan_card_names_media_a_platform_would_reject(
    fake: FakeSlack, tmp_path: Path
) -> None:
    """A 2 s landscape clip shared in Slack: stored by id at create; the plan card says why
    Instagram's reels would reject it, before anyone approves."""
    h, runner = await start_harness(fake, HERALD_MEDIA_DIR=str(tmp_path / "media"))
    try:
        file = fake.add_file(make_video(tmp_path / "c.mp4", width=160, height=90).read_bytes())
        await h.import_accounts()
        await h.driver.command(
            'create name=clip caption="Winter is here" platforms=tiktok,instagram window=2h '
            f"start=2026-12-01T11:00Z media=slack:{file['id']}",
            user=OPERATOR,
        )
        await h.settle(until=lambda: "Created draft" in h.fake.responses_text())
        dist = await h.service.resolve("clip")
        [media_id] = dist.request.content.media
        assert media_id.startswith("m-")
        assert list((tmp_path / "media").rglob("*"))  # the bytes are in HERALD_MEDIA_DIR
        await h.driver.command("plan clip", user=OPERATOR)
        await h.settle(until=lambda: "Planned" in h.fake.responses_text())
        text = h.card().all_text()
        assert "media rejected by instagram reel" in text
        assert "under instagram's 3s minimum" in text
    finally:
        await stop_harness(h, runner)


async def test_unknown_media_is_refused_naming_the_field(fake: FakeSlack, tmp_path: Path) -> None:
    """A media id Herald does not have: one line naming content.media, no draft."""
    h, runner = await start_harness(fake, HERALD_MEDIA_DIR=str(tmp_path / "media"))
    try:
        await h.driver.command(
            'create name=nomedia caption="x" platforms=tiktok start=2026-12-01T11:00Z media=m-0000',
            user=OPERATOR,
        )
        await h.settle(until=lambda: "content.media" in h.fake.responses_text())
        assert "no media file named or numbered 'm-0000'" in h.fake.responses_text()
    finally:
        await stop_harness(h, runner)
