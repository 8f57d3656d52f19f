"""Account selection (seed 000 Task 5.2): who may post, who goes first, who is left out.

Only ACTIVE accounts that are not rate-limited past the window are eligible. Each gets a
score: 0.6 * health + 0.4 * idleness (hours since its last post / 72, capped at 1; never
posted counts as fully idle). Followers do not raise the score; they define tiers
(< 10k, < 100k, >= 100k) so a distribution asked for fewer accounts than are eligible
takes each tier in proportion to its size. Within a tier the pick is a rotating window
over the score ranking: distribution `rotation` starts `rotation * quota` places further
down, so successive distributions use different accounts and the workload is balanced.
The lead order (who posts first when the scheduler has no other preference) interleaves
the tiers and is rotated the same way.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from datetime import datetime, timedelta

from engine.models import Account, AccountState
from engine.platforms import PlatformRules

FOLLOWER_TIERS: tuple[int, ...] = (10_000, 100_000)
IDLE_SATURATION = timedelta(hours=72)


def follower_tier(followers: int) -> int:
    """0 for small accounts, 1 for mid-sized, 2 for large ones."""
    return bisect_right(FOLLOWER_TIERS, followers)  # how many bounds it reaches


def account_score(account: Account, now: datetime) -> float:
    """Selection score in [0, 1]: higher health and a longer rest rank first."""
    if account.last_posted_at is None:
        idle = 1.0
    else:
        idle = min(1.0, max(0.0, (now - account.last_posted_at) / IDLE_SATURATION))
    return 0.6 * min(1.0, max(0.0, account.health)) + 0.4 * idle


def ineligible_reason(account: Account, *, window_end: datetime) -> str | None:
    """Why an account on a requested platform cannot post at all, or None."""
    if account.state is not AccountState.ACTIVE:
        return f"account is {account.state.value}, not ACTIVE"
    if account.rate_limited_until is not None and account.rate_limited_until >= window_end:
        return (
            f"rate-limited until {account.rate_limited_until:%Y-%m-%dT%H:%MZ}, "
            "after the window ends"
        )
    return None


def earliest_post(account: Account, rules: PlatformRules, start: datetime) -> datetime:
    """The first moment the account may post: not before `start`, the platform's min gap
    after its last post, and strictly after its rate limit lifts."""
    earliest = start
    if account.last_posted_at is not None:
        earliest = max(earliest, _later(account.last_posted_at, rules.min_gap))
    if account.rate_limited_until is not None:
        earliest = max(earliest, _later(account.rate_limited_until, timedelta(seconds=1)))
    return earliest


def _later(at: datetime, delta: timedelta) -> datetime:
    """`at + delta`, saturating at the last representable time: an account stored with a
    far-future time (older imports did not bound them) is late for every plan, not a crash."""
    try:
        return at + delta
    except OverflowError:
        return datetime.max.replace(tzinfo=at.tzinfo)


def _ranked_tiers(accounts: Sequence[Account], now: datetime) -> dict[int, list[Account]]:
    tiers: dict[int, list[Account]] = {}
    for account in accounts:
        tiers.setdefault(follower_tier(account.followers), []).append(account)
    for members in tiers.values():
        members.sort(key=lambda a: (-account_score(a, now), a.id))
    return dict(sorted(tiers.items(), reverse=True))


def _quotas(sizes: dict[int, int], count: int) -> dict[int, int]:
    total = sum(sizes.values())
    exact = {tier: count * size / total for tier, size in sizes.items()}
    quotas = {tier: int(value) for tier, value in exact.items()}
    left = count - sum(quotas.values())
    for tier in sorted(exact, key=lambda t: (-(exact[t] - quotas[t]), -t))[:left]:
        quotas[tier] += 1
    return quotas


def select_accounts(
    accounts: Sequence[Account], count: int | None, *, now: datetime, rotation: int = 0
) -> tuple[list[Account], list[Account]]:
    """Pick `count` of the eligible `accounts` (all when None): (chosen in lead order, left out).

    Tiers are kept in proportion, the pick rotates with `rotation`; deterministic.
    """
    tiers = _ranked_tiers(accounts, now)
    if count is None or count >= len(accounts):
        return lead_order(tiers, rotation), []
    quotas = _quotas({tier: len(members) for tier, members in tiers.items()}, count)
    chosen: dict[int, list[Account]] = {}
    left_out: list[Account] = []
    for tier, members in tiers.items():
        quota = quotas[tier]
        start = (rotation * quota) % len(members) if quota else 0
        rotated = members[start:] + members[:start]
        # Back in rank order; positions by identity (members.index would scan the tier
        # once per chosen account: quadratic on large tiers).
        rank = {id(a): i for i, a in enumerate(members)}
        chosen[tier] = sorted(rotated[:quota], key=lambda a: rank[id(a)])
        left_out += rotated[quota:]
    return lead_order(chosen, rotation), left_out


def lead_order(tiers: dict[int, list[Account]], rotation: int) -> list[Account]:
    """Interleave tiers (largest first) by rank, then rotate the lead by `rotation` blocks."""
    order: list[Account] = []
    lists = [members for members in tiers.values() if members]
    depth = max((len(m) for m in lists), default=0)
    for i in range(depth):
        order.extend(members[i] for members in lists if i < len(members))
    if not order:
        return order
    shift = (rotation * max(1, len(order) // 10)) % len(order)
    return order[shift:] + order[:shift]
