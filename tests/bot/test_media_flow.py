"""Media through Slack: a shared file becomes the draft's media; the plan card flags it."""

from __future__ import annotations

from pathlib import Path

from bot.slack import ids
from engine.models import Account
from tests.adapters.media_publisher_support import serve
from tests.adapters.publisher_support import MemoryTokenRefresher
from tests.bot.conftest import OPERATOR, start_harness, stop_harness
from tests.bot.fake_slack import FakeSlack
from tests.fakes.instagram_api import VERSION as IG_VERSION
from tests.fakes.instagram_api import FakeInstagram
from tests.fakes.tiktok_api import FakeTikTok
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


async def test_plan_card_flags_a_video_over_this_accounts_own_tiktok_limit(
    fake: FakeSlack, tmp_path: Path
) -> None:
    """Two connected TikTok accounts: creator_info says one takes 10 s at most. The card
    flags that account's slot with the reason (TikTok's table allows 10 min), says posts
    are private until the audit, and that the other account, public, would refuse them."""
    tiktok = FakeTikTok()
    api, base = await serve(tiktok.app())
    tokens = MemoryTokenRefresher(grant=tiktok.grant, publisher="tiktok")
    tokens.mint("tt-short", "creator1")
    tokens.mint("tt-public", "creator2")
    tiktok.max_duration["creator1"] = 10
    tiktok.private_accounts.add("creator1")
    h, runner = await start_harness(
        fake,
        token_refresher=tokens,
        HERALD_MEDIA_DIR=str(tmp_path / "media"),
        HERALD_TIKTOK_API_URL=base,
    )
    try:
        async with h.deps.herald.repository.unit_of_work() as uow:
            await uow.upsert_accounts(
                [
                    Account("tt-short", "tiktok", "@short", "UTC", publisher="tiktok"),
                    Account("tt-public", "tiktok", "@public", "UTC", publisher="tiktok"),
                ]
            )
        clip = make_video(tmp_path / "clip.mp4", width=72, height=128, seconds=12)
        file = fake.add_file(clip.read_bytes(), name="clip.mp4")
        await h.driver.command(
            'create name=long caption="Winter is here" platforms=tiktok window=2h '
            f"start=2026-12-01T11:00Z media=slack:{file['id']}",
            user=OPERATOR,
        )
        await h.settle(until=lambda: "Created draft" in h.fake.responses_text())
        await h.driver.command("plan long", user=OPERATOR)
        await h.settle(until=lambda: "Planned" in h.fake.responses_text())
        text = h.card().all_text()
        assert "media rejected by tiktok video (@short), 1 slot" in text
        assert "clip.mp4: 12s long, over this account's 10s limit" in text
        assert "(@public)" not in text
        assert "will be PRIVATE" in text
        assert "tiktok @public: 1 post will fail: the account is public" in text
    finally:
        await stop_harness(h, runner)
        await api.cleanup()


async def test_files_from_the_create_form_become_the_drafts_media(
    fake: FakeSlack, tmp_path: Path
) -> None:
    """The create modal's file input (a video uploaded in the form): after the submission is
    acked, the file is fetched with files.info and the bot token and the draft names it."""
    h, runner = await start_harness(fake, HERALD_MEDIA_DIR=str(tmp_path / "media"))
    try:
        clip = make_video(tmp_path / "form.mp4", width=72, height=128, seconds=4)
        file = fake.add_file(clip.read_bytes(), name="form.mp4")
        await h.driver.command("create", user=OPERATOR)
        await h.settle(until=lambda: h.fake.views)
        view_id = next(iter(h.fake.views))
        form = {
            ids.F_NAME: "formclip",
            ids.F_CAPTION: "From the form",
            ids.F_PLATFORMS: "tiktok",
            ids.F_START: "2026-12-01T12:00Z",
            ids.F_WINDOW: "2h",
            ids.F_MEDIA_FILES: [file],
        }
        reply = await h.driver.submit(view_id, form, user=OPERATOR)
        assert reply.status == 200 and reply.text == ""
        await h.settle(until=lambda: "Created draft" in h.fake.ephemeral_text())
        dist = await h.service.resolve("formclip")
        [media_id] = dist.request.content.media
        asset = await h.deps.herald.media.get(media_id)
        assert (asset.filename, asset.width, asset.height) == ("form.mp4", 72, 128)
    finally:
        await stop_harness(h, runner)


async def test_instagram_without_a_public_url_is_said_before_approval(
    fake: FakeSlack, tmp_path: Path
) -> None:
    """Instagram pulls every file from a public URL. A connected Instagram account, a file
    shared in Slack and no HERALD_PUBLIC_URL: the card says its posts will fail and which
    settings fix it, before anyone approves (not at publish time)."""
    instagram = FakeInstagram()
    api, base = await serve(instagram.app())
    tokens = MemoryTokenRefresher(grant=instagram.grant, publisher="instagram")
    tokens.mint("ig-shop", "17841400000000001")
    h, runner = await start_harness(
        fake,
        token_refresher=tokens,
        HERALD_MEDIA_DIR=str(tmp_path / "media"),
        HERALD_INSTAGRAM_API_URL=f"{base}/{IG_VERSION}",
    )
    try:
        async with h.deps.herald.repository.unit_of_work() as uow:
            await uow.upsert_accounts(
                [Account("ig-shop", "instagram", "@shop", "UTC", publisher="instagram")]
            )
        clip = make_video(tmp_path / "reel.mp4", width=72, height=128, seconds=4)
        file = fake.add_file(clip.read_bytes(), name="reel.mp4")
        await h.driver.command(
            'create name=reel caption="Winter" platforms=instagram window=2h '
            f"start=2026-12-01T11:00Z media=slack:{file['id']}",
            user=OPERATOR,
        )
        await h.settle(until=lambda: "Created draft" in h.fake.responses_text())
        await h.driver.command("plan reel", user=OPERATOR)
        await h.settle(until=lambda: "Planned" in h.fake.responses_text())
        text = h.card().all_text()
        assert "instagram: 1 post will fail: instagram pulls media from a public URL" in text
        assert "set HERALD_PUBLIC_URL (and HERALD_MEDIA_SIGNING_KEY)" in text
        assert "platforms get: *instagram reel*" in text  # the media itself is fine
    finally:
        await stop_harness(h, runner)
        await api.cleanup()
