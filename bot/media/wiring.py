"""Builds the media store and the media publishers from settings (called by bootstrap).

Kept apart from `bot/bootstrap.py` so the composition root only gains a few marked lines.
`slack:F…` media references are Slack files: files.info gives `url_private_download`,
fetched with the bot token and streamed into the store.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from engine.adapters.file_media_store import Fetched, FileMediaStore
from engine.adapters.public_download import trusted_origin
from engine.errors import InvalidInput, NetworkError
from engine.ports import Clock, MediaIndex, MediaStore, Publisher, PublishHandles, TokenRefresher


def slack_file_fetcher(
    api_url: str,
    bot_token: str,
    *,
    session_factory: Callable[[], aiohttp.ClientSession] = aiohttp.ClientSession,
) -> Callable[[str], Any]:
    """`slack:F…` → (url_private_download, bot-token header), via files.info. The token
    goes only to Slack's file hosts (or the configured API's origin: a fake in tests)."""
    api_origin = trusted_origin(api_url)

    async def fetch(file_id: str) -> Fetched:
        headers = {"Authorization": f"Bearer {bot_token}"}
        try:
            async with (
                session_factory() as http,
                http.post(
                    f"{api_url.rstrip('/')}/files.info", data={"file": file_id}, headers=headers
                ) as r,
            ):
                body = await r.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise NetworkError(f"Slack files.info failed: {type(exc).__name__}") from None
        if not body.get("ok"):
            raise InvalidInput(f"Slack file {file_id}: {body.get('error', 'not readable')}")
        file = body.get("file", {})
        url = file.get("url_private_download") or file.get("url_private")
        if not url:
            raise InvalidInput(f"Slack file {file_id}: Slack gave no download URL")
        host = (urlsplit(url).hostname or "").lower()
        slack_host = url.startswith("https://") and (
            host == "slack.com" or host.endswith(".slack.com")
        )
        if not slack_host and trusted_origin(url) != api_origin:
            raise InvalidInput(f"Slack file {file_id}: its download URL is not on Slack")
        return Fetched(url, headers, str(file.get("name") or ""))

    return fetch


def ensure_media_dir(settings: Any) -> None:
    """Create HERALD_MEDIA_DIR at start (the settings checked that it can be): a path that
    cannot hold files is named now, not at the first upload. Raises InvalidInput."""
    try:
        Path(settings.media_dir).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        raise InvalidInput(
            f"HERALD_MEDIA_DIR={settings.media_dir}: cannot be created ({why})"
        ) from None


def build_media_store(settings: Any, index: MediaIndex, clock: Clock) -> FileMediaStore:
    """HERALD_MEDIA_DIR with the facts in `index` (the `media` table; bootstrap builds it)."""
    fetchers = {}
    if settings.slack_bot_token is not None:
        fetchers["slack"] = slack_file_fetcher(
            settings.slack_api_url, settings.slack_bot_token.get_secret_value()
        )
    key = settings.media_signing_key
    return FileMediaStore(
        Path(settings.media_dir),
        index,
        clock,
        public_url=settings.public_url,
        signing_key=key.get_secret_value().encode() if key is not None else None,
        max_bytes=settings.media_max_mb * 1024 * 1024,
        fetchers=fetchers,
        allow_private_urls=settings.media_allow_private_urls,
        # Slack file downloads may go to the configured API's origin (a fake in tests).
        trusted_origins=(trusted_origin(settings.slack_api_url),),
    )


def install_media_routes(web_app: Any, herald: Any) -> None:
    """`herald serve` mounts GET /media/<id> (signed links) when Herald has a public URL."""
    from bot.media.routes import media_routes

    if isinstance(herald.media, FileMediaStore):
        web_app.add_routes(media_routes(herald.media))


def build_media_publishers(
    settings: Any,
    tokens: TokenRefresher,
    media: MediaStore,
    clock: Clock,
    handles: PublishHandles,
) -> dict[str, Publisher]:
    """YouTube, Instagram and TikTok publishers by `Account.publisher` name, for the
    per-account publisher routing (the oauth work supplies `tokens`); their upload sessions,
    containers and publish ids go to `handles` (the `publish_handles` table)."""
    from engine.adapters.instagram_publisher import InstagramPublisher
    from engine.adapters.tiktok_publisher import TikTokPublisher
    from engine.adapters.youtube_publisher import YouTubePublisher

    ttl = settings.media_link_ttl_seconds
    pull = (settings.public_url,) if settings.public_url else ()
    return {
        "youtube": YouTubePublisher(
            tokens,
            media,
            clock,
            base_url=settings.youtube_api_url,
            private_only=not settings.youtube_audited,
            handles=handles,
        ),
        "instagram": InstagramPublisher(
            tokens,
            media,
            clock,
            base_url=settings.instagram_api_url,
            link_ttl_seconds=ttl,
            handles=handles,
        ),
        "tiktok": TikTokPublisher(
            tokens,
            media,
            clock,
            base_url=settings.tiktok_api_url,
            private_only=not settings.tiktok_audited,
            pull_prefixes=pull,
            link_ttl_seconds=ttl,
            handles=handles,
        ),
    }
