"""Accounts' own limits at plan time: read once per hour, the stricter value wins per account."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from engine.clock import ManualClock
from engine.errors import AuthExpired
from engine.live_limits import LiveLimits, privacy_notes, with_account_caps
from engine.media import AccountLimits
from engine.models import Account, PlannedSlot, PlanResult, RiskLevel
from engine.platforms import DEFAULT_PLATFORMS
from engine.ports import PublishReceipt, PublishRequest
from engine.publisher_routing import PublisherRouter

T = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def planned(account_id: str, platform: str, hours: float) -> PlannedSlot:
    at = T + timedelta(hours=hours)
    return PlannedSlot(
        account_id, platform, "en", at, at, "hi", (), 0.1, RiskLevel.LOW, content_type="video"
    )


def account(account_id: str, platform: str, publisher: str = "") -> Account:
    return Account(account_id, platform, f"@{account_id}", "UTC", publisher=publisher)


class PlainPublisher:
    """A publisher with no way to read an account's limits (the simulated default)."""

    supports_idempotency = True

    async def publish(self, request: PublishRequest) -> PublishReceipt:
        return PublishReceipt("p", None)


class ReadingPublisher:
    """A publisher whose API reports per-account limits (or fails to)."""

    supports_idempotency = True

    def __init__(self, limits: dict[str, AccountLimits]) -> None:
        self.limits = limits
        self.reads: list[str] = []
        self.failing: set[str] = set()

    async def publish(self, request: PublishRequest) -> PublishReceipt:
        return PublishReceipt("p", None)

    async def account_limits(self, account_id: str) -> AccountLimits:
        self.reads.append(account_id)
        if account_id in self.failing:
            raise AuthExpired(f"{account_id} needs reconnecting")
        return self.limits[account_id]


class TestReading:
    async def test_read_once_per_ttl_and_only_where_a_publisher_reads_them(self) -> None:
        """Accounts on a reading publisher are asked once per hour; the default publisher's
        accounts are not asked at all."""
        clock = ManualClock(T)
        reader = ReadingPublisher({"ig-1": AccountLimits(max_posts_per_day=25)})
        router = PublisherRouter(PlainPublisher(), {"instagram": reader})
        live = LiveLimits(router, clock)
        accounts = [account("ig-1", "instagram", "instagram"), account("ig-2", "instagram")]
        limits, warnings = await live.read(accounts)
        assert limits == {"ig-1": AccountLimits(max_posts_per_day=25)} and warnings == []
        await live.read(accounts)
        clock.advance(timedelta(minutes=61))
        await live.read(accounts)
        assert reader.reads == ["ig-1", "ig-1"]

    async def test_a_failed_read_is_a_warning_and_the_last_value_stays(self) -> None:
        """A read that fails never fails the plan: a warning, and the last known limits."""
        clock = ManualClock(T)
        reader = ReadingPublisher({"tt-1": AccountLimits(max_video_duration_s=60)})
        live = LiveLimits(reader, clock)
        await live.read([account("tt-1", "tiktok")])
        clock.advance(timedelta(hours=2))
        reader.failing.add("tt-1")
        limits, warnings = await live.read([account("tt-1", "tiktok")])
        assert limits["tt-1"].max_video_duration_s == 60
        assert warnings == [
            "tiktok @tt-1: its own limits could not be read (tt-1 needs reconnecting); "
            "checked against the platform table only"
        ]


class TestCaps:
    def test_a_live_cap_stricter_than_the_table_leaves_slots_out(self) -> None:
        """Instagram's table allows 4 a day; an account whose API says 1 keeps one slot per
        24 h, the rest are left out with the reason. A looser live cap changes nothing."""
        result = PlanResult(
            [planned("ig-1", "instagram", h) for h in (0, 3, 6, 30)]
            + [planned("ig-2", "instagram", h) for h in (0, 3)]
        )
        limits = {
            "ig-1": AccountLimits(max_posts_per_day=1),
            "ig-2": AccountLimits(max_posts_per_day=100),
        }
        capped, notes = with_account_caps(result, limits, DEFAULT_PLATFORMS, {"ig-1": "@one"})
        kept = [(s.account_id, (s.scheduled_at - T).total_seconds() / 3600) for s in capped.slots]
        assert kept == [("ig-1", 0), ("ig-2", 0), ("ig-2", 3), ("ig-1", 30)]
        assert [u.account_id for u in capped.unscheduled] == ["ig-1"]
        assert notes == [
            "@one: over its own cap of 1 posts per 24 h, read from the platform's API "
            "(stricter than the table): 2 slots left out"
        ]


class TestPrivacy:
    def test_unaudited_client_and_a_public_account(self) -> None:
        """Before the audit Herald posts SELF_ONLY, which TikTok refuses on public accounts
        (they offer PUBLIC_TO_EVERYONE): the card says those posts will fail."""
        result = PlanResult([planned("tt-1", "tiktok", 0), planned("tt-2", "tiktok", 1)])
        public = ("PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY")
        limits = {
            "tt-1": AccountLimits(privacy_options=public, post_privacy="SELF_ONLY"),
            "tt-2": AccountLimits(
                privacy_options=("FOLLOWER_OF_CREATOR", "SELF_ONLY"), post_privacy="SELF_ONLY"
            ),
        }
        [note] = privacy_notes(result, limits, {"tt-1": "@one"})
        assert note.startswith("tiktok @one: 1 post will fail: the account is public")

    def test_a_level_the_account_does_not_offer(self) -> None:
        """After the audit, a private account does not offer PUBLIC_TO_EVERYONE."""
        result = PlanResult([planned("tt-2", "tiktok", 0)])
        limits = {
            "tt-2": AccountLimits(
                privacy_options=("FOLLOWER_OF_CREATOR", "SELF_ONLY"),
                post_privacy="PUBLIC_TO_EVERYONE",
            )
        }
        assert privacy_notes(result, limits, {}) == [
            "tiktok tt-2: 1 post will fail: the account offers FOLLOWER_OF_CREATOR, SELF_ONLY, "
            "not PUBLIC_TO_EVERYONE"
        ]
