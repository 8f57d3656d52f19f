"""Local peak hours as UTC intervals, across DST changes."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import InvalidInput
from engine.peaks import is_peak, peak_hours_by_weekday, peak_intervals, zone
from engine.platforms import DEFAULT_PLATFORMS

TWITTER = peak_hours_by_weekday(DEFAULT_PLATFORMS["twitter"])


def epoch(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp())


def hours(tz: str, start: int, end: int) -> list[int]:
    return [datetime.fromtimestamp(a, UTC).hour for a, _ in peak_intervals(tz, TWITTER, start, end)]


class TestPeakIntervals:
    def test_us_fall_back(self) -> None:
        """2026-11-01 New York: Sunday 9/13/17/21 local are 14/18/22/02Z after the change."""
        assert hours("America/New_York", epoch(2026, 11, 1, 6), epoch(2026, 11, 2, 5)) == [
            14,
            18,
            22,
            2,
        ]

    def test_us_spring_forward(self) -> None:
        """2027-03-14 Los Angeles: Sunday 9 local is 16Z (PDT), Saturday 21 was 05Z (PST)."""
        got = hours("America/Los_Angeles", epoch(2027, 3, 14, 4), epoch(2027, 3, 14, 17))
        assert got == [5, 16]

    def test_eu_spring_forward(self) -> None:
        """2027-03-28 Madrid: Saturday 21 CET is 20Z, Sunday 9 CEST is 07Z."""
        assert hours("Europe/Madrid", epoch(2027, 3, 27, 19), epoch(2027, 3, 28, 8)) == [20, 7]

    def test_half_hour_zone(self) -> None:
        """Kolkata's +05:30 gives intervals starting at :30 UTC."""
        [(a, b)] = peak_intervals(
            "Asia/Kolkata", TWITTER, epoch(2026, 11, 23, 2), epoch(2026, 11, 23, 3, 30)
        )
        assert (a, b) == (epoch(2026, 11, 23, 2, 30), epoch(2026, 11, 23, 3, 30))

    def test_is_peak_and_general_hours(self) -> None:
        """is_peak uses the local weekday; a platform without peaks uses seed 000's windows."""
        rules = DEFAULT_PLATFORMS.with_overrides(
            {
                "mastodon": {
                    "max_posts_per_day": 3,
                    "min_gap_hours": 1,
                    "peak_hours": [],
                    "content_types": ["post"],
                    "caption_limit": 500,
                    "hashtag_limit": 5,
                }
            }
        )["mastodon"]
        assert is_peak(datetime(2026, 11, 23, 7, 10, tzinfo=UTC), "UTC", rules)
        assert not is_peak(datetime(2026, 11, 23, 10, 10, tzinfo=UTC), "UTC", rules)

    def test_unknown_zone(self) -> None:
        """An unknown zone is InvalidInput."""
        with pytest.raises(InvalidInput):
            zone("Mars/Base")


def quarter_by_quarter(
    tz: str, peaks: tuple[frozenset[int], ...], start: int, end: int
) -> tuple[tuple[int, int], ...]:
    """The definition: every UTC quarter from start's to end's, on peak or not, merged."""
    zi = ZoneInfo(tz)
    out: list[list[int]] = []
    q = start - start % 900
    while q <= end:
        local = datetime.fromtimestamp(q, UTC).astimezone(zi)
        if local.hour in peaks[local.weekday()]:
            if out and out[-1][1] == q:
                out[-1][1] = q + 900
            else:
                out.append([q, q + 900])
        q += 900
    return tuple((a, b) for a, b in out)


class TestPeakIntervalsMatchTheDefinition:
    @settings(max_examples=150, deadline=None)
    @given(
        tz=st.sampled_from(
            [
                "UTC",
                "America/New_York",
                "America/Santiago",
                "Europe/Madrid",
                "Asia/Kolkata",
                "Asia/Kathmandu",
                "Australia/Lord_Howe",
                "Pacific/Chatham",
                "Africa/Casablanca",
            ]
        ),
        platform=st.sampled_from(["tiktok", "youtube", "instagram", "twitter", "linkedin"]),
        start=st.integers(epoch(2026, 1, 1), epoch(2028, 12, 31)),
        length=st.integers(-900, 9 * 86_400),
    )
    def test_same_intervals_as_quarter_by_quarter(
        self, tz: str, platform: str, start: int, length: int
    ) -> None:
        """Local hours worked out once per zone give the quarter-by-quarter intervals, DST
        changes (30-minute ones included) and windows ending before they start too."""
        peaks = peak_hours_by_weekday(DEFAULT_PLATFORMS[platform])
        got = peak_intervals(tz, peaks, start, start + length)
        assert got == quarter_by_quarter(tz, peaks, start, start + length)
