"""Per-account limits read live from the platforms' APIs, applied at plan time.

The platform table documents the seed's limits and the APIs' published ones; some APIs
also say what one account may do: Instagram's `content_publishing_limit` (its daily cap)
and TikTok's `creator_info` (the creator's longest video, the privacy levels it offers).
At plan time each planned account whose publisher can read them (`AccountLimitsReader`)
is asked, at most once per `ttl` (a cache: creator_info allows 20 calls a minute per
token), with a timeout; the stricter of the table and the account's value wins:
- a daily cap below the table's leaves the account's excess slots out of the plan, with
  the reason (any 24 hours, as the planner counts);
- a shorter longest video flags the slot on the plan card (engine.media_check);
- a privacy level the account does not offer (or, before TikTok's audit, a public
  account: unaudited clients post only to private ones) is said on the card, since those
  posts would fail.
A read that fails is a warning, never a failed plan: the table's limits still apply.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from engine.errors import HeraldError
from engine.item_media import with_item_media_checks
from engine.media import AccountLimits, MediaAsset
from engine.media_check import own_api_accounts
from engine.models import Account, PlannedSlot, PlanResult, Unscheduled
from engine.platforms import PlatformTable, daily_cap
from engine.ports import AccountLimitsReader, Clock, MediaHandoff, Publisher
from engine.publisher_routing import route_publisher
from engine.request import DistributionRequest

DAY = timedelta(hours=24)
PUBLIC = "PUBLIC_TO_EVERYONE"


class LiveLimits:
    """Reads and caches what each account's API says about it (see module docstring)."""

    def __init__(
        self,
        publisher: Publisher,
        clock: Clock,
        *,
        ttl: timedelta = timedelta(hours=1),
        timeout_s: float = 10.0,
        concurrency: int = 8,
    ) -> None:
        self._publisher = publisher
        self._clock = clock
        self._ttl = ttl
        self._timeout = timeout_s
        self._concurrency = concurrency
        self._cache: dict[str, tuple[datetime, AccountLimits]] = {}

    def remember(self, account_id: str, limits: AccountLimits) -> None:
        """Keep limits read elsewhere (tests, a publisher that just read them)."""
        self._cache[account_id] = (self._clock.now(), limits)

    def forget(self, account_id: str) -> None:
        """Drop an account's limits (it was reconnected: read them again)."""
        self._cache.pop(account_id, None)

    async def read(self, accounts: Sequence[Account]) -> tuple[dict[str, AccountLimits], list[str]]:
        """The limits of those `accounts` whose publisher reads them, and a warning per
        account whose read failed (its last known limits, if any, are used then)."""
        readers = {a.id: r for a in accounts if (r := self._reader(a)) is not None}
        now = self._clock.now()
        fresh = {
            account_id: entry[1]
            for account_id in readers
            if (entry := self._cache.get(account_id)) is not None and now - entry[0] < self._ttl
        }
        due = [a for a in accounts if a.id in readers and a.id not in fresh]
        gate = asyncio.Semaphore(self._concurrency)
        warnings: list[str] = []

        async def one(account: Account) -> None:
            async with gate:
                try:
                    limits = await asyncio.wait_for(
                        readers[account.id].account_limits(account.id), self._timeout
                    )
                except (HeraldError, TimeoutError) as exc:
                    reason = str(exc) or "no answer in time"
                    warnings.append(
                        f"{account.platform} {account.handle}: its own limits could not be read "
                        f"({reason}); checked against the platform table only"
                    )
                    if account.id in self._cache:
                        fresh[account.id] = self._cache[account.id][1]
                    return
            self._cache[account.id] = (self._clock.now(), limits)
            fresh[account.id] = limits

        await asyncio.gather(*(one(a) for a in due))
        return fresh, sorted(warnings)

    def _reader(self, account: Account) -> AccountLimitsReader | None:
        routed = route_publisher(self._publisher, account)
        return routed if isinstance(routed, AccountLimitsReader) else None

    def handoff_notes(
        self,
        result: PlanResult,
        accounts: Sequence[Account],
        assets: Mapping[str, Sequence[MediaAsset]],
        request: DistributionRequest,
    ) -> list[str]:
        """Posts whose publisher could not hand their item's media to its platform
        (Instagram pulls from a public URL Herald may not have), one note per platform and
        reason."""
        by_id = {a.id: a for a in accounts}
        counts: dict[tuple[str, str], int] = defaultdict(int)
        for slot in result.slots:
            content = request.item(slot.content_id)
            media = assets.get(content.id) or ()
            account = by_id.get(slot.account_id)
            routed = route_publisher(self._publisher, account) if account else None
            if media and isinstance(routed, MediaHandoff):
                problem = routed.media_problem(media, content)
                if problem:
                    counts[(slot.platform, problem)] += 1
        return [
            f"{platform}: {n} post{'s' if n != 1 else ''} will fail: {problem}"
            for (platform, problem), n in counts.items()
        ]


def with_account_caps(
    result: PlanResult,
    limits: Mapping[str, AccountLimits],
    platforms: PlatformTable,
    handles: Mapping[str, str],
) -> tuple[PlanResult, list[str]]:
    """`result` without the slots over an account's live daily cap where that cap is
    stricter than the table's (any 24 hours), those accounts listed as unscheduled with the
    reason; and one note per account capped."""
    capped: dict[str, int] = {}
    for account_id, account_limits in limits.items():
        live = account_limits.max_posts_per_day
        platform = next((s.platform for s in result.slots if s.account_id == account_id), None)
        if live is None or platform is None or platform not in platforms:
            continue
        if live < daily_cap(platforms[platform]):
            capped[account_id] = max(0, live)
    if not capped:
        return result, []
    kept: list[PlannedSlot] = []
    dropped: dict[str, int] = defaultdict(int)
    recent: dict[str, list[datetime]] = defaultdict(list)
    for slot in sorted(result.slots, key=lambda s: s.scheduled_at):
        cap = capped.get(slot.account_id)
        if cap is not None:
            window = [t for t in recent[slot.account_id] if slot.scheduled_at - t < DAY]
            recent[slot.account_id] = window
            if len(window) >= cap:
                dropped[slot.account_id] += 1
                continue
            window.append(slot.scheduled_at)
        kept.append(slot)
    if not dropped:
        return result, []
    kept.sort(key=lambda s: (s.scheduled_at, s.account_id))
    unscheduled = list(result.unscheduled)
    notes = []
    for account_id, count in sorted(dropped.items()):
        name = handles.get(account_id, account_id)
        reason = (
            f"over its own cap of {capped[account_id]} posts per 24 h, read from the "
            f"platform's API (stricter than the table): {count} slot"
            f"{'s' if count != 1 else ''} left out"
        )
        unscheduled.append(Unscheduled(account_id, reason))
        notes.append(f"{name}: {reason}")
    return replace(result, slots=kept, unscheduled=unscheduled), notes


def privacy_notes(
    result: PlanResult, limits: Mapping[str, AccountLimits], handles: Mapping[str, str]
) -> list[str]:
    """Accounts whose posts would fail on privacy: the level Herald asks for is not among
    those the account offers (a public account offers PUBLIC_TO_EVERYONE: before the audit,
    Herald's SELF_ONLY posts are refused there)."""
    counts: dict[str, int] = defaultdict(int)
    platform_of: dict[str, str] = {}
    for slot in result.slots:
        counts[slot.account_id] += 1
        platform_of[slot.account_id] = slot.platform
    notes = []
    for account_id, n in sorted(counts.items()):
        own = limits.get(account_id)
        if own is None or own.post_privacy is None or not own.privacy_options:
            continue
        name, platform = handles.get(account_id, account_id), platform_of[account_id]
        slots = f"{n} post{'s' if n != 1 else ''} will fail"
        if own.post_privacy not in own.privacy_options:
            offered = ", ".join(own.privacy_options)
            notes.append(
                f"{platform} {name}: {slots}: the account offers {offered}, not {own.post_privacy}"
            )
        elif own.post_privacy == "SELF_ONLY" and PUBLIC in own.privacy_options:
            notes.append(
                f"{platform} {name}: {slots}: the account is public, and until Herald's "
                f"{platform} client passes {platform}'s audit it may post only to private "
                "accounts (make the account private, or leave it out)"
            )
    return notes


async def checked_plan(
    result: PlanResult,
    accounts: Sequence[Account],
    assets: Mapping[str, Sequence[MediaAsset]],
    platforms: PlatformTable,
    live: LiveLimits | None,
    request: DistributionRequest | None = None,
) -> PlanResult:
    """`result` after every plan-time check that depends on the platforms: accounts' live
    limits (caps, privacy), then each item's media (`assets`: item id -> its files;
    engine.item_media). Warnings: media problems first, then private-only notes, privacy,
    caps, unreadable limits, the planner's own."""
    handles = {a.id: a.handle for a in accounts}
    limits: dict[str, AccountLimits] = {}
    read_notes: list[str] = []
    if live is not None and result.slots:
        planned = {s.account_id for s in result.slots}
        limits, read_notes = await live.read([a for a in accounts if a.id in planned])
    result, cap_notes = with_account_caps(result, limits, platforms, handles)
    privacy = privacy_notes(result, limits, handles)
    if live is not None and request is not None:
        privacy = [*live.handoff_notes(result, accounts, assets, request), *privacy]
    result = replace(result, warnings=[*privacy, *cap_notes, *read_notes, *result.warnings])
    return with_item_media_checks(
        result,
        assets,
        platforms,
        limits=limits,
        names=handles,
        own_api=own_api_accounts(accounts),
    )
