"""Optimal platform selection for a content type, and the accounts summary."""

from __future__ import annotations

import pytest

from engine.errors import InvalidInput
from engine.models import Account, AccountState
from engine.platform_selection import AccountsSummary, rank_platforms, select_platforms


class TestSelectPlatforms:
    def test_seed_example(self) -> None:
        """Seed 001 #13: a video goes tiktok > instagram > youtube."""
        assert select_platforms("video", ["youtube", "instagram", "tiktok"]) == [
            "tiktok",
            "instagram",
            "youtube",
        ]

    def test_unusable_platforms_left_out(self) -> None:
        """An image cannot go to TikTok or YouTube."""
        assert select_platforms("image", ["tiktok", "instagram", "youtube", "twitter"]) == [
            "instagram",
            "twitter",
        ]

    def test_accounts_matter(self) -> None:
        """A platform without an active account scores 0 and is dropped."""
        accounts = AccountsSummary.of(
            [
                Account("t", "tiktok", "@t", "UTC", state=AccountState.SUSPENDED),
                Account("y", "youtube", "@y", "UTC"),
            ]
        )
        ranked = rank_platforms("video", ["tiktok", "youtube"], accounts=accounts)
        assert [(s.platform, s.score > 0) for s in ranked] == [("youtube", True), ("tiktok", False)]
        assert ranked[1].reasons == ("no active account",)

    def test_errors(self) -> None:
        """Unknown platforms and empty lists are refused with a message."""
        with pytest.raises(InvalidInput, match="unknown platform"):
            select_platforms("video", ["friendster"])
        with pytest.raises(InvalidInput):
            select_platforms("video", [])


class TestAccountsSummary:
    def test_counts(self) -> None:
        """States, suspensions and health are summed per platform."""
        summary = AccountsSummary.of(
            [
                Account("a", "tiktok", "@a", "UTC", health=0.5),
                Account("b", "TikTok", "@b", "Europe/Madrid", language="es", suspensions=2),
                Account("c", "tiktok", "@c", "UTC", state=AccountState.RATE_LIMITED),
            ]
        )
        tiktok = summary.get("tiktok")
        assert tiktok is not None
        assert (tiktok.total, tiktok.active, tiktok.rate_limited, tiktok.suspended) == (3, 2, 1, 1)
        assert tiktok.mean_health == pytest.approx(0.833, abs=0.001)
        assert tiktok.languages == ("en", "es")
