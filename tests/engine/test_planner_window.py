"""Window-mode planning: every hard rule (property tests), peaks, DST, reasons and warnings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.accounts_csv import parse_accounts_csv
from engine.errors import InvalidInput, InvalidRequest
from engine.models import Account, AccountState
from engine.peaks import is_peak
from engine.planner import plan_distribution, plan_to_dict
from engine.platforms import DEFAULT_PLATFORMS
from engine.request import parse_request
from tests.engine.window_rules import window_violations

ROOT = Path(__file__).resolve().parents[2]
PLATFORMS = ("tiktok", "youtube", "instagram", "twitter", "linkedin")
ZONES = (
    "UTC",
    "America/New_York",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Europe/Madrid",
    "Europe/London",
    "Asia/Riyadh",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Australia/Sydney",
    "Pacific/Chatham",
)


def make_request(**overrides: Any) -> Any:
    data: dict[str, Any] = {
        "content": {"id": "c1", "caption": "Hello world", "hashtags": ["a", "b", "c", "d"]},
        "platforms": list(PLATFORMS),
        "start": "2026-11-23T13:00:00Z",
    }
    data.update(overrides)
    return parse_request(data)


def account(n: int, **fields: Any) -> Account:
    values: dict[str, Any] = {
        "id": f"a{n:03d}",
        "platform": PLATFORMS[n % 5],
        "handle": f"@h{n}",
        "timezone": ZONES[n % len(ZONES)],
    }
    values.update(fields)
    return Account(**values)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Any, list[Account]]:
    start = datetime(2026, 10, 20, tzinfo=UTC) + timedelta(
        minutes=draw(st.integers(0, 60 * 24 * 170)), seconds=draw(st.sampled_from([0, 0, 17]))
    )
    min_gap = draw(st.sampled_from([0, 0.5, 1, 2, 2, 3, 5]))
    max_gap = min_gap + draw(st.sampled_from([0.5, 1, 5, 13, 30]))
    n = draw(st.integers(0, 60))
    accounts = []
    for i in range(n):
        last = draw(st.one_of(st.none(), st.integers(-72 * 60, 120)))
        limited = draw(st.one_of(st.none(), st.none(), st.integers(-60, 9 * 60)))
        accounts.append(
            account(
                i,
                platform=draw(st.sampled_from(PLATFORMS)),
                timezone=draw(st.sampled_from(ZONES)),
                language=draw(st.sampled_from(["en", "es", "ar", "fr"])),
                followers=draw(st.integers(0, 2_000_000)),
                health=draw(st.floats(0, 1)),
                state=draw(
                    st.sampled_from([AccountState.ACTIVE] * 6 + list(AccountState)),
                ),
                last_posted_at=None if last is None else start + timedelta(minutes=last),
                rate_limited_until=None if limited is None else start + timedelta(minutes=limited),
                suspensions=draw(st.integers(0, 4)),
                recent_failures=draw(st.integers(0, 5)),
                recent_posts=draw(st.integers(0, 10)),
            )
        )
    tags = draw(st.lists(st.sampled_from(list("abcdefghij")), max_size=8, unique=True))
    request = parse_request(
        {
            "content": {
                "id": "c",
                "caption": draw(st.sampled_from(["Short", "x" * 300, "Hola y adiós"])),
                "hashtags": tags,
                "translations": {"es": "Hola"} if draw(st.booleans()) else {},
            },
            "platforms": draw(
                st.lists(st.sampled_from(PLATFORMS), min_size=1, max_size=5, unique=True)
            ),
            "languages": draw(
                st.lists(st.sampled_from(["en", "es", "ar"]), min_size=1, max_size=3, unique=True)
            ),
            "start": start.isoformat(),
            "spread_hours": draw(st.sampled_from([0.25, 1, 2, 4, 6, 9])),
            "min_gap_minutes": min_gap,
            "max_gap_minutes": max_gap,
            "duplicate_gap_minutes": draw(st.sampled_from([5, 5, 10, 30])),
            "account_count": draw(st.one_of(st.none(), st.integers(1, 70))),
            "seed": draw(st.integers(0, 1000)),
        }
    )
    return request, accounts


class TestWindowHardRules:
    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(scenarios(), st.integers(0, 5), st.sampled_from([0.3, 0.6, 0.8, 1.0]))
    def test_every_hard_rule_holds(
        self, scenario: tuple[Any, list[Account]], rotation: int, max_risk: float
    ) -> None:
        """For generated requests and accounts, every window-mode hard rule holds."""
        request, accounts = scenario
        result = plan_distribution(request, accounts, rotation=rotation, max_risk=max_risk)
        assert window_violations(request, accounts, result, max_risk=max_risk) == []

    @settings(max_examples=40, deadline=None)
    @given(scenarios())
    def test_same_seed_same_plan(self, scenario: tuple[Any, list[Account]]) -> None:
        """Planning twice with the same inputs gives the identical plan."""
        request, accounts = scenario
        first = plan_to_dict(plan_distribution(request, accounts))
        assert plan_to_dict(plan_distribution(request, accounts)) == first

    def test_all_fit_when_the_window_allows(self) -> None:
        """With room for everyone and enough caption variants, every eligible account posts."""
        accounts = [account(i) for i in range(100)]
        request = make_request(spread_hours=6)
        result = plan_distribution(request, accounts)
        assert len(result.slots) == 100
        assert result.unscheduled == [] and result.warnings == []

    def test_short_window_says_why(self) -> None:
        """150 accounts in 4 h at a 2 min gap: as many as fit, the rest explained."""
        accounts = [account(i) for i in range(150)]
        request = make_request(spread_hours=4)
        result = plan_distribution(request, accounts)
        assert len(result.slots) == 121  # 4 h / 2 min + 1
        assert len(result.unscheduled) == 29
        assert (
            "150 accounts need at least 4h58m at a 2m gap; the window is 4h" in result.warnings[0]
        )
        assert all("no room" in u.reason for u in result.unscheduled)

    def test_bundled_example_keeps_every_rule(self) -> None:
        """The bundled 150-account example plans cleanly with most slots on peak hours."""
        request = parse_request(
            __import__("json").loads((ROOT / "examples/request.json").read_text())
        )
        accounts = parse_accounts_csv((ROOT / "examples/accounts.csv").read_text())
        result = plan_distribution(request, accounts, max_risk=0.6)
        assert window_violations(request, accounts, result, max_risk=0.6) == []
        tz = {a.id: a.timezone for a in accounts}
        on_peak = sum(
            is_peak(s.scheduled_at, tz[s.account_id], DEFAULT_PLATFORMS[s.platform])
            for s in result.slots
        )
        assert on_peak / len(result.slots) > 0.7


class TestWindowChoices:
    def test_peaks_preferred_with_slack(self) -> None:
        """With a long window and few accounts, every post lands on a local peak hour."""
        accounts = [account(i, timezone="Europe/Madrid", platform="twitter") for i in range(10)]
        # Monday 2026-11-23 06:00Z = 07:00 Madrid; twitter peaks 8,12,16,20 local.
        request = make_request(start="2026-11-23T06:00:00Z", spread_hours=12, max_gap_minutes=60)
        result = plan_distribution(request, accounts)
        assert len(result.slots) == 10
        assert all(s.local_time.hour in (8, 12, 16, 20) for s in result.slots)

    def test_seed_drives_the_jitter(self) -> None:
        """Another seed moves times by seconds of jitter; the same seed repeats them."""
        accounts = [account(i, timezone="UTC", platform="twitter") for i in range(20)]
        times = {
            seed: [
                s.scheduled_at for s in plan_distribution(make_request(seed=seed), accounts).slots
            ]
            for seed in (1, 2)
        }
        assert times[1] != times[2]
        assert times[1] == [
            s.scheduled_at for s in plan_distribution(make_request(seed=1), accounts).slots
        ]
        assert any(t.second for t in times[1])  # not all on round minutes

    def test_rotation_changes_the_lead(self) -> None:
        """Successive distributions do not start with the same accounts."""
        accounts = [account(i, timezone="UTC", platform="twitter") for i in range(40)]
        request = make_request(start="2026-11-23T02:00:00Z", spread_hours=3)
        first = plan_distribution(request, accounts, rotation=0).slots[0].account_id
        second = plan_distribution(request, accounts, rotation=1).slots[0].account_id
        assert first != second

    def test_account_count_selects_and_explains(self) -> None:
        """Asking for fewer accounts than eligible schedules that many and explains the rest."""
        accounts = [account(i, followers=(i % 3) * 60_000) for i in range(30)]
        result = plan_distribution(make_request(account_count=12), accounts)
        assert len(result.slots) == 12
        assert len(result.unscheduled) == 18
        assert all(u.reason.startswith("not selected") for u in result.unscheduled)

    def test_risk_gate_leaves_critical_out(self) -> None:
        """A CRITICAL account is never scheduled, and a HIGH one is kept out at max_risk 0.6."""
        accounts = [
            account(0),
            account(1, suspensions=5, recent_failures=10, recent_posts=10, health=0.0),
            account(2, suspensions=3, recent_failures=6, recent_posts=10, health=0.3),
        ]
        result = plan_distribution(make_request(), accounts, max_risk=0.6)
        assert [s.account_id for s in result.slots] == ["a000"]
        reasons = {u.account_id: u.reason for u in result.unscheduled}
        assert "CRITICAL" in reasons["a001"]
        assert "safety limit 0.60" in reasons["a002"]

    def test_rate_limit_and_last_post_respected(self) -> None:
        """An account posts after its rate limit lifts and its platform min gap since last post."""
        start = datetime(2026, 11, 23, 13, tzinfo=UTC)
        accounts = [
            account(0, platform="twitter", rate_limited_until=start + timedelta(hours=2)),
            account(1, platform="youtube", last_posted_at=start - timedelta(hours=9)),
        ]
        result = plan_distribution(make_request(), accounts)
        at = {s.account_id: s.scheduled_at for s in result.slots}
        assert at["a000"] > start + timedelta(hours=2)
        assert at["a001"] >= start + timedelta(hours=3)

    def test_no_hashtags_spaces_identical_posts(self) -> None:
        """With one caption variant, identical posts stay duplicate_gap apart (fewer fit)."""
        accounts = [account(i, platform="twitter", language="en") for i in range(100)]
        request = make_request(
            content={"id": "c", "caption": "Same text", "hashtags": []}, spread_hours=2
        )
        result = plan_distribution(request, accounts)
        assert len(result.slots) == 25  # 2 h / 5 min + 1
        assert window_violations(request, accounts, result) == []
        assert "caption variant" in result.warnings[0]

    def test_trend_scores_reported(self) -> None:
        """Each slot carries the trend score of its platform and UTC hour."""
        from engine.ports import Trend

        accounts = [account(i, platform="twitter", timezone="UTC") for i in range(5)]
        request = make_request(start="2026-11-23T12:00:00Z", spread_hours=1, trend_weighted=True)
        result = plan_distribution(request, accounts, trends=[Trend("twitter", "x", 0.7, 12, 13)])
        assert [s.trend_score for s in result.slots] == [0.7] * 5


class TestWindowErrors:
    def test_unknown_platform(self) -> None:
        """An unknown platform is an InvalidRequest naming `platforms`."""
        with pytest.raises(InvalidRequest, match="platforms: unknown platform 'myspace'"):
            plan_distribution(make_request(platforms=["myspace"]), [])

    def test_bad_time_zone_names_the_account(self) -> None:
        """An account with an unknown time zone is named in the error."""
        with pytest.raises(InvalidInput, match="account a000: unknown time zone 'Mars/Base'"):
            plan_distribution(make_request(), [account(0, timezone="Mars/Base")])

    def test_min_gap_over_max_gap(self) -> None:
        """min_gap larger than max_gap is refused by the request."""
        with pytest.raises(InvalidRequest, match="min_gap"):
            make_request(min_gap_minutes=20, max_gap_minutes=10)

    def test_zero_window(self) -> None:
        """A zero window is refused, naming spread_hours."""
        with pytest.raises(InvalidRequest, match="spread_hours"):
            make_request(spread_hours=0)


class TestWindowDst:
    @pytest.mark.parametrize(
        ("start", "zone", "utc_peaks"),
        [
            # US fall back 2026-11-01 06:00Z: Sat 21 EDT = 01Z, Sun 9 EST = 14Z.
            ("2026-10-31T23:00:00Z", "America/New_York", {1, 14}),
            # US spring forward 2027-03-14 10:00Z: Sat 21 PST = 05Z, Sun 9 PDT = 16Z.
            ("2027-03-14T04:00:00Z", "America/Los_Angeles", {5, 16}),
            # EU spring forward 2027-03-28 01:00Z: Sat 21 CET = 20Z, Sun 9 CEST = 07Z.
            ("2027-03-27T19:00:00Z", "Europe/Madrid", {20, 7}),
        ],
    )
    def test_local_time_and_peaks_across_dst(
        self, start: str, zone: str, utc_peaks: set[int]
    ) -> None:
        """Across a DST change, local_time has the right offset and peaks follow local hours."""
        accounts = [account(i, timezone=zone, platform="twitter") for i in range(60)]
        request = make_request(start=start, spread_hours=16, max_gap_minutes=60)
        result = plan_distribution(request, accounts)
        assert window_violations(request, accounts, result) == []
        assert len(result.slots) == 60
        offsets = {s.local_time.utcoffset() for s in result.slots}
        assert len(offsets) == 2  # slots on both sides of the change
        weekend = DEFAULT_PLATFORMS["twitter"].weekend_peak_hours
        on_peak = [s for s in result.slots if s.local_time.hour in weekend]
        assert {s.scheduled_at.hour for s in on_peak} == utc_peaks
        assert len(on_peak) >= 45
