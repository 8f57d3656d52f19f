"""Known API posting limits, respected before sending (not discovered by 429s).

`hold_over_limit` checks a claimed batch against the platform table's `PostLimit`s, counting
from the database (slots PUBLISHED in the window plus those CLAIMED now, by any replica), so
every replica sees the same count; a slot that would exceed a limit is held until the window
resets instead of being sent. `plan_costs` estimates what a plan's posts cost (X bills each).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from engine.models import Account, Slot
from engine.platforms import PlatformTable, PostLimit
from engine.ports import Repository, UnitOfWork

PublisherOf = Callable[[Account], str]


@dataclass(frozen=True, slots=True)
class Hold:
    """A slot kept back by a limit: until when, and why (user-facing)."""

    until: datetime
    reason: str


def window_start(limit: PostLimit, now: datetime) -> datetime:
    if limit.utc_day:
        return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return now - limit.window


def window_reset(limit: PostLimit, now: datetime, oldest: datetime | None) -> datetime:
    """When room frees up: the next UTC midnight, or when the oldest counted post leaves
    the rolling window (a full window from now when the count is all in-flight claims)."""
    if limit.utc_day:
        return window_start(limit, now) + timedelta(days=1)
    # One second past the window, so the oldest post is out of it when the slot comes due.
    reset = (oldest if oldest is not None else now) + limit.window + timedelta(seconds=1)
    return max(reset, now + timedelta(seconds=1))


async def hold_over_limit(
    uow: UnitOfWork,
    batch: Sequence[tuple[Slot, Account]],
    *,
    table: PlatformTable,
    publisher_of: PublisherOf,
    now: datetime,
    all_accounts: Sequence[Account] = (),
) -> dict[str, Hold]:
    """The slots of `batch` (claimed by the caller, so counted as CLAIMED) that would exceed
    a limit of their account's publisher, by slot id. `all_accounts` is needed for app-wide
    limits (every account of that publisher counts). Raises StorageError."""
    held: dict[str, Hold] = {}
    by_publisher: dict[str, list[tuple[Slot, Account]]] = {}
    for slot, account in batch:
        by_publisher.setdefault(publisher_of(account), []).append((slot, account))
    for limit in table.post_limits:
        items = [i for i in by_publisher.get(limit.publisher, []) if i[0].id not in held]
        if not items:
            continue
        since = window_start(limit, now)
        if limit.per == "app":
            ids = [a.id for a in all_accounts if publisher_of(a) == limit.publisher]
            groups = [(sorted({a.id for _, a in items} | set(ids)), items)]
        else:
            ids = sorted({a.id for _, a in items})
            total, _ = await uow.posts_in_window(ids, since)
            if total <= limit.posts:
                continue  # no single account can be over when all of them together are not
            groups = [([a], [i for i in items if i[1].id == a]) for a in ids]
        for account_ids, group in groups:
            count, oldest = await uow.posts_in_window(account_ids, since)
            used = count - len(group)  # what others (and earlier posts) already took
            for index, (slot, _) in enumerate(sorted(group, key=lambda i: i[0].due_at)):
                if used + index < limit.posts:
                    continue
                scope = "this account" if limit.per == "account" else "this Herald's app"
                span = "UTC day" if limit.utc_day else _span(limit.window)
                held[slot.id] = Hold(
                    window_reset(limit, now, oldest),
                    f"{limit.publisher} allows {limit.posts} posts per {span} for {scope}; "
                    "held until the window resets",
                )
    return held


async def held_by_limits(
    repository: Repository,
    batch: Sequence[tuple[Slot, Account]],
    *,
    table: PlatformTable,
    publisher_of: PublisherOf,
    now: datetime,
) -> dict[str, Hold]:
    """`hold_over_limit` for a claimed batch in one transaction; no query at all when no
    slot's publisher has a known limit. Raises StorageError."""
    limited = {limit.publisher for limit in table.post_limits}
    batch = [(slot, account) for slot, account in batch if publisher_of(account) in limited]
    if not batch:
        return {}
    names = {publisher_of(account) for _, account in batch}
    app_wide = any(limit.per == "app" and limit.publisher in names for limit in table.post_limits)
    async with repository.unit_of_work() as uow:
        accounts = await uow.list_accounts() if app_wide else []
        return await hold_over_limit(
            uow, batch, table=table, publisher_of=publisher_of, now=now, all_accounts=accounts
        )


def plan_costs(
    slots: Iterable[Slot], accounts: Iterable[Account], table: PlatformTable, default: str
) -> dict[str, object]:
    """Per publisher, how many posts the plan sends through it and, where the API bills per
    post, the estimated cost (a post with a link costs more). Scalars, for the plan card."""
    publisher = {a.id: (a.publisher or default) for a in accounts}
    costs = {c.publisher: c for c in table.post_costs}
    counts: dict[str, int] = {}
    usd: dict[str, float] = {}
    for slot in slots:
        name = publisher.get(slot.account_id, default)
        counts[name] = counts.get(name, 0) + 1
        cost = costs.get(name)
        if cost is not None:
            each = cost.per_link_post_usd if _has_link(slot.caption) else cost.per_post_usd
            usd[name] = usd.get(name, 0.0) + each
    summary: dict[str, object] = {
        "publishers": ", ".join(f"{n} {c}" for n, c in sorted(counts.items())) or "none"
    }
    for name, total in sorted(usd.items()):
        summary[f"{name}_api_cost_usd"] = round(total, 3)
    return summary


def _has_link(text: str) -> bool:
    return "http://" in text or "https://" in text


def _span(window: timedelta) -> str:
    minutes = int(window.total_seconds() // 60)
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h"
