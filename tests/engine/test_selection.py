"""Account selection: eligibility, scoring, tier balance and rotation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from engine.models import Account, AccountState
from engine.platforms import DEFAULT_PLATFORMS
from engine.selection import (
    account_score,
    earliest_post,
    follower_tier,
    ineligible_reason,
    select_accounts,
)

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


def acct(n: int, **kw: object) -> Account:
    return Account(id=f"a{n:02d}", platform="twitter", handle=f"@{n}", timezone="UTC", **kw)  # type: ignore[arg-type]


class TestSelection:
    def test_only_active_and_not_limited(self) -> None:
        """Non-ACTIVE accounts and those limited past the window are ineligible, with reasons."""
        end = NOW + timedelta(hours=6)
        assert ineligible_reason(acct(1), window_end=end) is None
        assert "PAUSED" in (
            ineligible_reason(acct(1, state=AccountState.PAUSED), window_end=end) or ""
        )
        limited = acct(1, rate_limited_until=end + timedelta(minutes=1))
        assert "rate-limited" in (ineligible_reason(limited, window_end=end) or "")

    def test_earliest_post(self) -> None:
        """Earliest post respects the platform min gap and the rate limit."""
        rules = DEFAULT_PLATFORMS["twitter"]
        a = acct(1, last_posted_at=NOW - timedelta(hours=1))
        assert earliest_post(a, rules, NOW) == NOW + timedelta(hours=1)
        b = acct(2, rate_limited_until=NOW + timedelta(minutes=5))
        assert earliest_post(b, rules, NOW) == NOW + timedelta(minutes=5, seconds=1)

    def test_score_prefers_health_and_rest(self) -> None:
        """Healthier and longer-rested accounts score higher."""
        assert account_score(acct(1, health=0.9), NOW) > account_score(acct(2, health=0.5), NOW)
        rested = acct(1, last_posted_at=NOW - timedelta(days=3))
        busy = acct(2, last_posted_at=NOW - timedelta(hours=1))
        assert account_score(rested, NOW) > account_score(busy, NOW)

    def test_tiers(self) -> None:
        """Follower tiers split at 10k and 100k."""
        assert [follower_tier(f) for f in (0, 9_999, 10_000, 99_999, 100_000)] == [0, 0, 1, 1, 2]

    def test_tiers_kept_in_proportion(self) -> None:
        """Picking 10 of 30 (10 per tier) takes about a third of each tier."""
        accounts = [acct(i, followers=[500, 50_000, 500_000][i % 3]) for i in range(30)]
        chosen, left = select_accounts(accounts, 10, now=NOW)
        tiers = [follower_tier(a.followers) for a in chosen]
        assert len(chosen) == 10 and len(left) == 20
        assert sorted(tiers.count(t) for t in range(3)) == [3, 3, 4]

    def test_rotation_balances_workload(self) -> None:
        """Successive distributions pick different accounts until everyone has had a turn."""
        accounts = [acct(i) for i in range(20)]
        used = [
            {a.id for a in select_accounts(accounts, 5, now=NOW, rotation=r)[0]} for r in range(4)
        ]
        assert set().union(*used) == {a.id for a in accounts}
        assert all(not (used[i] & used[j]) for i in range(4) for j in range(i + 1, 4))

    def test_all_when_no_count(self) -> None:
        """Without a count every eligible account is chosen; rotation moves the lead."""
        accounts = [acct(i) for i in range(20)]
        first, _ = select_accounts(accounts, None, now=NOW, rotation=0)
        second, _ = select_accounts(accounts, None, now=NOW, rotation=1)
        assert len(first) == 20 and first[0] != second[0]
