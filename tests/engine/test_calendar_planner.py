"""Calendar mode: peak hours only, per-account gaps and daily caps, velocity, duplicates."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.calendar_planner import daily_quota
from engine.models import Account, AccountState, PlanResult
from engine.peaks import is_peak
from engine.planner import plan_distribution
from engine.platforms import DEFAULT_PLATFORMS
from engine.request import DistributionRequest, parse_request

PLATFORMS = ("tiktok", "youtube", "instagram", "twitter", "linkedin")
ZONES = ("UTC", "America/New_York", "Europe/Madrid", "Asia/Kolkata", "Australia/Sydney")


def calendar_violations(
    request: DistributionRequest, accounts: list[Account], result: PlanResult
) -> list[str]:
    """Every calendar rule the plan breaks."""
    out = []
    by_id = {a.id: a for a in accounts}
    per_account: dict[str, list[datetime]] = defaultdict(list)
    for s in result.slots:
        a = by_id[s.account_id]
        rules = DEFAULT_PLATFORMS[a.platform]
        if a.state is not AccountState.ACTIVE or a.platform not in request.platforms:
            out.append(f"{a.id}: not eligible")
        if not request.start <= s.scheduled_at <= request.end:
            out.append(f"{a.id}: outside the calendar")
        if not is_peak(s.scheduled_at, a.timezone, rules):
            out.append(f"{a.id}: {s.local_time} not on a peak hour")
        if s.local_time != s.scheduled_at.astimezone(ZoneInfo(a.timezone)):
            out.append(f"{a.id}: wrong local time")
        want = a.language if a.language in request.languages else request.languages[0]
        if s.language != want:
            out.append(f"{a.id}: language")
        if a.rate_limited_until and s.scheduled_at <= a.rate_limited_until:
            out.append(f"{a.id}: while rate-limited")
        per_account[a.id].append(s.scheduled_at)
    for account_id, times in per_account.items():
        a = by_id[account_id]
        rules = DEFAULT_PLATFORMS[a.platform]
        all_times = sorted(times + ([a.last_posted_at] if a.last_posted_at else []))
        for x, y in pairwise(all_times):
            if y - x < rules.min_gap:
                out.append(f"{account_id}: gap {y - x} < {rules.min_gap}")
        for t in all_times:
            window = [x for x in all_times if t <= x < t + timedelta(days=1)]
            if len(window) > rules.max_posts_per_day:
                out.append(f"{account_id}: {len(window)} posts in 24 h")
    uses: dict[tuple[str, str], int] = defaultdict(int)
    for s in result.slots:
        uses[(s.account_id, s.content_id)] += 1
        if uses[(s.account_id, s.content_id)] > request.max_per_account:
            out.append(f"{s.account_id}: item {s.content_id} more than max_per_account")
    items = {i.id: i for i in request.items}
    out.extend(
        f"{s.account_id}: caption not from item {s.content_id}"
        for s in result.slots
        if s.content_id not in items
        or not s.caption.startswith(
            items[s.content_id].translations.get(s.language, items[s.content_id].caption)[:20]
        )
    )
    last: dict[tuple[str, frozenset[str]], datetime] = {}
    for s in result.slots:
        key = (s.caption, frozenset(s.hashtags))
        if key in last and s.scheduled_at - last[key] < request.duplicate_gap:
            out.append(f"{s.account_id}: duplicate caption too close")
        last[key] = s.scheduled_at
    return out


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[DistributionRequest, list[Account]]:
    start = datetime(2026, 10, 25, tzinfo=UTC) + timedelta(hours=draw(st.integers(0, 24 * 160)))
    accounts = []
    for i in range(draw(st.integers(0, 40))):
        last = draw(st.one_of(st.none(), st.integers(-48 * 60, 60)))
        accounts.append(
            Account(
                id=f"a{i}",
                platform=draw(st.sampled_from(PLATFORMS)),
                handle=f"@{i}",
                timezone=draw(st.sampled_from(ZONES)),
                language=draw(st.sampled_from(["en", "es", "ar"])),
                state=draw(st.sampled_from([AccountState.ACTIVE] * 5 + [AccountState.PAUSED])),
                last_posted_at=None if last is None else start + timedelta(minutes=last),
            )
        )
    tags = draw(st.sampled_from([[], ["a", "b"]]))
    size = draw(st.integers(1, 6))
    data: dict[str, Any] = {
        "queue": [
            {"id": f"i{k}", "caption": f"Item {k}" if k % 3 else "Same", "hashtags": tags}
            for k in range(size)
        ],
        "max_per_account": draw(st.sampled_from([1, 1, 2, 5])),
        "platforms": draw(st.lists(st.sampled_from(PLATFORMS), min_size=1, unique=True)),
        "languages": ["en", "es"],
        "mode": "calendar",
        "start": start.isoformat(),
        "days": draw(st.integers(1, 7)),
        "velocity": draw(st.sampled_from([0.5, 1, 1.5, 3, 8])),
        "duplicate_gap_minutes": draw(st.sampled_from([5, 30, 60])),
        "trend_weighted": draw(st.booleans()),
    }
    return parse_request(data), accounts


class TestCalendarRules:
    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(scenarios())
    def test_every_rule_holds(self, scenario: tuple[DistributionRequest, list[Account]]) -> None:
        """For generated calendars, peaks, gaps, daily caps and duplicate spacing all hold."""
        request, accounts = scenario
        result = plan_distribution(request, accounts)
        assert calendar_violations(request, accounts, result) == []
        scheduled = {s.account_id for s in result.slots}
        explained = {u.account_id for u in result.unscheduled}
        for a in accounts:
            if a.platform in request.platforms:
                assert a.id in scheduled or a.id in explained

    def test_velocity_one_is_one_post_a_day(self) -> None:
        """Velocity 1 on twitter gives each account one post per calendar day."""
        accounts = [
            Account(id=f"t{i}", platform="twitter", handle="@t", timezone="Europe/Madrid")
            for i in range(10)
        ]
        request = parse_request(
            {
                "content": {"id": "c", "caption": "Hi", "hashtags": ["a", "b", "c", "d"]},
                "platforms": ["twitter"],
                "mode": "calendar",
                "start": "2026-11-23T00:00:00Z",
                "days": 7,
                "max_per_account": 7,
            }
        )
        result = plan_distribution(request, accounts)
        assert len(result.slots) == 70
        assert result.warnings == []

    def test_velocity_capped_by_platform(self) -> None:
        """LinkedIn's 24 h min gap caps it at one post a day whatever the velocity; it says so."""
        accounts = [Account(id="l", platform="linkedin", handle="@l", timezone="UTC")]
        request = parse_request(
            {
                "content": {"id": "c", "caption": "Hi"},
                "platforms": ["linkedin"],
                "mode": "calendar",
                "start": "2026-11-23T00:00:00Z",
                "days": 3,
                "velocity": 2,
                "max_per_account": 6,
            }
        )
        result = plan_distribution(request, accounts)
        assert len(result.slots) == 3
        assert "linkedin" in result.warnings[0]


class TestDailyQuota:
    def test_fractional_velocity_alternates(self) -> None:
        """Velocity 1.5 gives 3 posts every 2 days; the cap bounds it."""
        quotas = [daily_quota(1.5, d, 0.0, 5) for d in range(4)]
        assert quotas == [1, 2, 1, 2]
        assert daily_quota(8, 0, 0.0, 2) == 2


class TestTrendWeighting:
    def test_trending_peak_chosen_first(self) -> None:
        """With trend_weighted, a one-a-day account posts on the trending peak hour."""
        from engine.ports import Trend

        accounts = [
            Account(id=f"t{i}", platform="twitter", handle="@t", timezone="UTC") for i in range(8)
        ]
        request = parse_request(
            {
                "content": {"id": "c", "caption": "Hi", "hashtags": ["a", "b", "c", "d"]},
                "platforms": ["twitter"],
                "mode": "calendar",
                "start": "2026-11-23T00:00:00Z",
                "days": 3,
                "trend_weighted": True,
                "max_per_account": 3,
            }
        )
        trends = [Trend("twitter", "news", 0.9, 16, 17)]
        result = plan_distribution(request, accounts, trends=trends)
        assert len(result.slots) == 24
        assert {s.scheduled_at.hour for s in result.slots} == {16}
        assert {s.trend_score for s in result.slots} == {0.9}


class TestCalendarScale:
    def test_rules_hold_for_two_thousand_accounts(self) -> None:
        """2 000 accounts over a week: every rule holds while captions are heavily contended."""
        from examples.make_accounts import make_accounts

        accounts = make_accounts(2000, seed=4)
        request = parse_request(
            {
                "content": {"id": "c", "caption": "Hi", "hashtags": ["a", "b", "c", "d", "e"]},
                "platforms": list(PLATFORMS),
                "languages": ["en", "es", "ar"],
                "mode": "calendar",
                "start": "2026-11-23T00:00:00Z",
                "velocity": 1.5,
                "max_per_account": 11,
            }
        )
        result = plan_distribution(request, accounts, max_risk=0.6)
        assert len(result.slots) > 10_000
        assert calendar_violations(request, accounts, result) == []


class TestQueue:
    def queue_request(self, **overrides: Any) -> DistributionRequest:
        data: dict[str, Any] = {
            "queue": [
                {"id": f"item{k}", "caption": f"Post number {k}", "hashtags": ["a", "b"]}
                for k in range(7)
            ],
            "platforms": ["twitter", "instagram"],
            "mode": "calendar",
            "start": "2026-11-23T00:00:00Z",
            "days": 7,
        }
        data.update(overrides)
        return parse_request(data)

    def test_each_account_gets_each_item_once(self) -> None:
        """A 7-item queue at velocity 1: 7 posts per account, each item once, spread by day."""
        accounts = [
            Account(id=f"a{i}", platform=("twitter", "instagram")[i % 2], handle="@a", timezone=z)
            for i, z in enumerate(ZONES * 4)
        ]
        request = self.queue_request()
        result = plan_distribution(request, accounts)
        assert calendar_violations(request, accounts, result) == []
        per_account: dict[str, list[str]] = defaultdict(list)
        for s in result.slots:
            per_account[s.account_id].append(s.content_id)
        assert all(
            sorted(items) == [f"item{k}" for k in range(7)] for items in per_account.values()
        )
        # Spread: every item is posted on several days, not bunched on one.
        by_item: dict[str, set[str]] = defaultdict(set)
        for s in result.slots:
            by_item[s.content_id].add(s.scheduled_at.strftime("%d"))
        assert all(len(days) >= 4 for days in by_item.values())

    def test_short_queue_caps_posts_and_warns(self) -> None:
        """Two items at velocity 1 over a week: 2 posts per account on different days, a warning."""
        accounts = [
            Account(id=f"a{i}", platform="twitter", handle="@a", timezone="UTC") for i in range(5)
        ]
        request = self.queue_request(
            queue=[{"id": "x", "caption": "X"}, {"id": "y", "caption": "Y"}]
        )
        result = plan_distribution(request, accounts)
        assert len(result.slots) == 10
        per_account: dict[str, set[str]] = defaultdict(set)
        for s in result.slots:
            per_account[s.account_id].add(s.scheduled_at.strftime("%d"))
        assert all(len(days) == 2 for days in per_account.values())
        assert any("more posts than the queue allows" in w for w in result.warnings)

    def test_window_mode_refuses_a_queue(self) -> None:
        """Window mode takes one item; a queue of two is refused naming the rule."""
        import pytest

        from engine.errors import InvalidRequest

        with pytest.raises(InvalidRequest, match="window mode takes one item"):
            self.queue_request(mode="window")
