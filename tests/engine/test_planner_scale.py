"""The window planner copes with thousands of accounts that share one time zone."""

from __future__ import annotations

from engine.models import Account
from engine.planner import plan_distribution
from engine.request import request_from_fields
from tests.engine.window_rules import window_violations

PLATFORMS = ("tiktok", "instagram", "youtube", "twitter", "linkedin")


class TestCrowdedWindow:
    def test_three_thousand_accounts_in_one_zone_plan_without_breaking_a_rule(self) -> None:
        """3 000 accounts in one zone, no gaps: planned on peak, within every rule."""
        accounts = [
            Account(f"a{i}", PLATFORMS[i % 5], f"@h{i}", "UTC", followers=1000 + i, health=0.95)
            for i in range(3000)
        ]
        request = request_from_fields(
            {
                "name": "crowd",
                "caption": "Load test",
                "platforms": ",".join(PLATFORMS),
                "window": "6h",
                "start": "2026-12-01T10:00Z",
                "duplicate_gap": "0",
                "min_gap": "0",
            }
        )
        result = plan_distribution(request, accounts, duplicate_floor_minutes=0)
        assert len(result.slots) == 3000
        assert window_violations(request, accounts, result) == []
        on_peak = sum(1 for s in result.slots if s.local_time.hour in (10, 12, 14, 16, 17, 18))
        assert on_peak / len(result.slots) > 0.9
