"""The composition root registers platform publishers from settings, routed per account."""

from __future__ import annotations

import pytest

from bot.bootstrap import build_herald
from bot.settings import Settings
from engine.errors import InvalidInput
from engine.publisher_routing import PublisherRouter
from engine.simulated_publisher import SimulatedPublisher
from tests.adapters.publisher_support import MemoryTokenRefresher


class TestPublisherSettings:
    async def test_no_platform_settings_keeps_the_default_publisher(self) -> None:
        """Without platform settings (the demo) the default publisher is used as is."""
        herald = build_herald(Settings(database_url="memory://"))
        try:
            assert isinstance(herald.publisher, SimulatedPublisher)
        finally:
            await herald.stop()

    async def test_platforms_are_routed_and_keys_never_print(self) -> None:
        """Postiz, Mixpost from settings; X, LinkedIn, YouTube, Instagram, TikTok by tokens."""
        settings = Settings(
            database_url="memory://",
            publisher="simulated",
            postiz_url="https://postiz.example/public/v1",
            postiz_api_key="pz-secret-key",  # type: ignore[arg-type]
            mixpost_url="https://mixpost.example/mixpost",
            mixpost_workspace="ws-1",
            mixpost_token="mp-secret-token",  # type: ignore[arg-type]
        )
        herald = build_herald(settings, token_refresher=MemoryTokenRefresher())
        try:
            router = herald.publisher
            assert isinstance(router, PublisherRouter)
            names = ["instagram", "linkedin", "mixpost", "postiz", "tiktok", "x", "youtube"]
            assert router.names() == names
            shown = repr(router) + repr(settings) + repr(router.publisher_for)
            assert "pz-secret-key" not in shown and "mp-secret-token" not in shown
        finally:
            await herald.stop()

    def test_bad_base_url_names_the_problem(self) -> None:
        """A platform URL that is not http(s) is refused with a one-line message."""
        settings = Settings(
            database_url="memory://",
            postiz_url="ftp://postiz",
            postiz_api_key="k",  # type: ignore[arg-type]
        )
        with pytest.raises(InvalidInput, match="Postiz API URL must start with http"):
            build_herald(settings)
