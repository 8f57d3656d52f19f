"""Slack files as media: files.info's private URL fetched with the bot token, into the store."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.media.wiring import build_media_store, slack_file_fetcher
from bot.settings import load_settings
from engine.adapters.file_media_store import FileMediaStore, MemoryMediaIndex
from engine.clock import ManualClock
from engine.errors import InvalidInput
from engine.media import MediaKind
from tests.adapters.media_publisher_support import NOW
from tests.bot.fake_slack import FakeSlack
from tests.media_samples import make_video


async def test_slack_file_is_downloaded_with_the_bot_token(tmp_path: Path) -> None:
    """`slack:F…` resolves through files.info and a bot-token download, then is probed."""
    slack = FakeSlack()
    api = await slack.start()
    try:
        data = make_video(tmp_path / "clip.mp4").read_bytes()
        file = slack.add_file(data, name="clip.mp4")
        store = FileMediaStore(
            tmp_path / "media",
            MemoryMediaIndex(),
            ManualClock(NOW),
            fetchers={"slack": slack_file_fetcher(api, slack.bot_token)},
            trusted_origins=(api,),
        )
        asset = await store.resolve(f"slack:{file['id']}")
        assert asset.kind is MediaKind.VIDEO and asset.size_bytes == len(data)
        assert asset.source_url == f"slack:{file['id']}"
        with pytest.raises(InvalidInput, match="file_not_found"):
            await store.resolve("slack:F404")
    finally:
        await slack.stop()


def test_store_built_from_settings(tmp_path: Path) -> None:
    """Settings give the directory, cap, public URL and signing key; no key, no links."""
    settings = load_settings(
        {
            "HERALD_MEDIA_DIR": str(tmp_path),
            "HERALD_MEDIA_MAX_MB": "10",
            "HERALD_PUBLIC_URL": "https://herald.example",
            "HERALD_MEDIA_SIGNING_KEY": "secret",
        }
    )
    store = build_media_store(settings, MemoryMediaIndex(), ManualClock(NOW))
    assert store.max_bytes == 10 * 1024 * 1024 and store.root == tmp_path
    assert (store.signed_url("m-1", ttl_seconds=60) or "").startswith(
        "https://herald.example/media/m-1?"
    )
    bare = build_media_store(load_settings({}), MemoryMediaIndex(), ManualClock(NOW))
    assert bare.signed_url("m-1", ttl_seconds=60) is None
