"""Velocity profiles from the platform table and recent history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from engine.models import RiskLevel, Slot, SlotStatus
from engine.velocity import PostRecord, records_from_slots, velocity_profile

NOW = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)


def history(per_day: int, days: int, failures: int = 0) -> list[PostRecord]:
    out = []
    for d in range(days):
        for i in range(per_day):
            at = NOW - timedelta(days=d + 1, hours=i)
            out.append(PostRecord("tiktok", at, succeeded=len(out) >= failures))
    return out


class TestVelocityProfile:
    def test_seed_shape_without_history(self) -> None:
        """Seed 001 #10's profile for TikTok; no history gives half the daily maximum."""
        profile = velocity_profile("tiktok", [], now=NOW)
        assert profile.to_dict() | {"reason": ""} == {
            "platform": "tiktok",
            "optimalPostsPerDay": 5,
            "minGapHours": 4.0,
            "peakHours": [10, 14, 18, 20],
            "optimalVelocity": 2.5,
            "observedPerDay": 0.0,
            "failureRate": 0.0,
            "reason": "",
        }

    def test_healthy_history_ramps_up(self) -> None:
        """Two posts a day, all successful: ramp to 2.5."""
        profile = velocity_profile("tiktok", history(2, 5), now=NOW)
        assert (profile.observed_per_day, profile.optimal_velocity) == (2.0, 2.5)

    def test_failures_slow_down(self) -> None:
        """Four posts a day with half failing: slow to 2.0."""
        profile = velocity_profile("tiktok", history(4, 2, failures=4), now=NOW)
        assert profile.failure_rate == 0.5 and profile.optimal_velocity == 2.0

    def test_capped_and_windowed(self) -> None:
        """Never above the platform maximum; posts older than seven days are ignored."""
        busy = velocity_profile("tiktok", history(5, 3), now=NOW)
        assert busy.optimal_velocity == 5.0
        old = [PostRecord("tiktok", NOW - timedelta(days=30), False)]
        assert velocity_profile("tiktok", old, now=NOW).observed_per_day == 0.0


class TestRecordsFromSlots:
    def test_only_published_and_failed(self) -> None:
        """Published and failed slots become history; planned ones do not."""

        def slot(status: SlotStatus, executed: datetime | None) -> Slot:
            return Slot(
                "s",
                "d",
                1,
                "a",
                "tiktok",
                "en",
                "UTC",
                NOW,
                NOW,
                "c",
                (),
                0.1,
                RiskLevel.LOW,
                status=status,
                executed_at=executed,
            )

        records = records_from_slots(
            [
                slot(SlotStatus.PUBLISHED, NOW),
                slot(SlotStatus.FAILED, NOW),
                slot(SlotStatus.PLANNED, None),
            ]
        )
        assert [r.succeeded for r in records] == [True, False]
