"""Risk scores: the documented formula, its range and the seed's levels."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.models import Account, RiskLevel
from engine.platforms import DEFAULT_PLATFORMS
from engine.risk import slot_risk

TIKTOK = DEFAULT_PLATFORMS["tiktok"]


def acct(**kw: object) -> Account:
    return Account(id="a", platform="tiktok", handle="@a", timezone="UTC", **kw)  # type: ignore[arg-type]


class TestSlotRisk:
    def test_healthy_account_is_low(self) -> None:
        """A healthy account with no history posting a video once is LOW (platform + velocity)."""
        score = slot_risk(acct(), TIKTOK, content_type="video", posts_in_window=1)
        assert score == pytest.approx(0.10 * 0.35 + 0.10 * 1 / 5, abs=1e-3)
        assert RiskLevel.from_score(score) is RiskLevel.LOW

    def test_history_makes_it_critical(self) -> None:
        """Many suspensions, all posts failing and no health is CRITICAL."""
        bad = acct(suspensions=5, recent_failures=10, recent_posts=10, health=0.0)
        score = slot_risk(bad, TIKTOK, content_type="text", posts_in_window=5)
        assert RiskLevel.from_score(score) is RiskLevel.CRITICAL

    def test_each_factor_raises_risk(self) -> None:
        """Suspensions, failures, ill health, unsupported type and velocity each add risk."""
        base = slot_risk(acct(), TIKTOK, content_type="video", posts_in_window=1)
        assert (
            slot_risk(acct(suspensions=1), TIKTOK, content_type="video", posts_in_window=1) > base
        )
        assert (
            slot_risk(
                acct(recent_failures=1, recent_posts=4),
                TIKTOK,
                content_type="video",
                posts_in_window=1,
            )
            > base
        )
        assert slot_risk(acct(health=0.5), TIKTOK, content_type="video", posts_in_window=1) > base
        assert slot_risk(acct(), TIKTOK, content_type="story", posts_in_window=1) > base
        assert slot_risk(acct(), TIKTOK, content_type="video", posts_in_window=4) > base

    @given(
        st.integers(0, 20),
        st.integers(0, 50),
        st.integers(0, 50),
        st.floats(0, 1),
        st.integers(0, 30),
    )
    def test_always_in_unit_range(
        self, suspensions: int, failures: int, posts: int, health: float, velocity: int
    ) -> None:
        """Whatever the inputs, the score is in [0, 1]."""
        a = acct(
            suspensions=suspensions, recent_failures=failures, recent_posts=posts, health=health
        )
        assert 0.0 <= slot_risk(a, TIKTOK, content_type="x", posts_in_window=velocity) <= 1.0

    def test_levels(self) -> None:
        """Level boundaries follow the seed: 0.3, 0.6, 0.8."""
        assert [RiskLevel.from_score(s) for s in (0.29, 0.3, 0.59, 0.6, 0.79, 0.8)] == [
            RiskLevel.LOW,
            RiskLevel.MEDIUM,
            RiskLevel.MEDIUM,
            RiskLevel.HIGH,
            RiskLevel.HIGH,
            RiskLevel.CRITICAL,
        ]
