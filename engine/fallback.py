"""What to do when a publish fails (seed 001 "Fallback Logic"), as pure decisions.

Rate limit: retry after Retry-After (or 2 h) and mark the account RATE_LIMITED until then.
Suspended: mark the account SUSPENDED and move the slot to another eligible account.
Network: retry after 30 min. Unknown: FAILED. Outcome unknown: never retried blindly.
Duplicate content and rejected content: FAILED at once, never retried (the same post would
be refused again, and a duplicate may mean it is already up).
Temporary failures are retried at most `max_attempts` times in all; everything is configurable.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from engine.errors import (
    AccountSuspended,
    AuthExpired,
    ContentRejected,
    DuplicateContent,
    NetworkError,
    OutcomeUnknown,
    PublishError,
    RateLimited,
)
from engine.models import Account, AccountState, Distribution, Slot, SlotStatus
from engine.platforms import PlatformRules, PlatformTable
from engine.ports import UnitOfWork
from engine.repurpose import fit_caption, target_type


@dataclass(frozen=True, slots=True)
class RedistributionPolicy:
    """The fallback rules' knobs. Only temporary failures (rate limit, network) are retried."""

    max_attempts: int = 3
    rate_limit_delay: timedelta = timedelta(hours=2)
    network_delay: timedelta = timedelta(minutes=30)
    honour_retry_after: bool = True
    max_retry_after: timedelta = timedelta(hours=24)
    redistribute_on_suspension: bool = True
    max_redistributions: int = 2

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.rate_limit_delay <= timedelta(0) or self.network_delay <= timedelta(0):
            raise ValueError("retry delays must be positive")


class FallbackAction(StrEnum):
    RETRY = "retry"
    REDISTRIBUTE = "redistribute"
    FAIL = "fail"
    OUTCOME_UNKNOWN = "outcome_unknown"


@dataclass(frozen=True, slots=True)
class AccountChange:
    """An account state the failure implies (RATE_LIMITED until a time, or SUSPENDED)."""

    account_id: str
    state: AccountState
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class FallbackDecision:
    """What happens to a slot after a failed publish, and why (the reason is user-facing)."""

    action: FallbackAction
    reason: str
    kind: str
    retry_at: datetime | None = None
    account_change: AccountChange | None = None


def decide(
    slot: Slot, error: PublishError, now: datetime, policy: RedistributionPolicy
) -> FallbackDecision:
    """Apply the seed's rules to one failed attempt of `slot` (its `attempts` counts this one)."""
    kind = error.kind
    message = str(error) or kind
    if isinstance(error, OutcomeUnknown):
        return FallbackDecision(
            FallbackAction.OUTCOME_UNKNOWN,
            f"outcome unknown, a human decides (never retried blindly): {message}",
            kind,
        )
    if isinstance(error, DuplicateContent):
        existing = (
            f" (the platform names {error.existing_post_id})" if error.existing_post_id else ""
        )
        return FallbackDecision(
            FallbackAction.FAIL,
            f"duplicate content, not retried: the platform already has this post{existing}: "
            f"{message}",
            kind,
        )
    if isinstance(error, ContentRejected):
        return FallbackDecision(
            FallbackAction.FAIL,
            f"content rejected by the platform, not retried (edit the caption or media and "
            f"retry by hand): {message}",
            kind,
        )
    if isinstance(error, AccountSuspended | AuthExpired):
        # A revoked token is handled like a suspension: the account cannot post until a
        # human acts (reconnects it), so its slot moves to another account if allowed.
        state = (
            AccountState.NEEDS_AUTH if isinstance(error, AuthExpired) else AccountState.SUSPENDED
        )
        change = AccountChange(slot.account_id, state)
        hops = _hops(slot)
        if policy.redistribute_on_suspension and hops < policy.max_redistributions:
            return FallbackDecision(
                FallbackAction.REDISTRIBUTE, f"{_why(error)}: {message}", kind, None, change
            )
        return FallbackDecision(
            FallbackAction.FAIL,
            f"{_why(error)}, not redistributed: {message}",
            kind,
            None,
            change,
        )
    if isinstance(error, RateLimited):
        delay = policy.rate_limit_delay
        if policy.honour_retry_after and error.retry_after and error.retry_after > timedelta(0):
            delay = min(error.retry_after, policy.max_retry_after)
        until = now + delay
        change = AccountChange(slot.account_id, AccountState.RATE_LIMITED, until)
        return _retry_or_fail(slot, policy, until, f"rate limited: {message}", kind, change)
    if isinstance(error, NetworkError):
        return _retry_or_fail(
            slot, policy, now + policy.network_delay, f"network error: {message}", kind, None
        )
    return FallbackDecision(FallbackAction.FAIL, f"publish failed: {message}", kind)


def _why(error: PublishError) -> str:
    return "account needs reconnecting" if isinstance(error, AuthExpired) else "account suspended"


def _retry_or_fail(
    slot: Slot,
    policy: RedistributionPolicy,
    retry_at: datetime,
    reason: str,
    kind: str,
    change: AccountChange | None,
) -> FallbackDecision:
    if slot.attempts >= policy.max_attempts:
        return FallbackDecision(
            FallbackAction.FAIL,
            f"{reason} (gave up after {slot.attempts} attempts)",
            kind,
            None,
            change,
        )
    return FallbackDecision(FallbackAction.RETRY, reason, kind, retry_at, change)


def _content_type_for(slot: Slot, source_type: str | None, rules: PlatformRules) -> str | None:
    if source_type:
        mapped = target_type(source_type, rules)
        return mapped[0] if mapped else None
    if not rules.content_types or slot.content_type in rules.content_types:
        return slot.content_type
    return None


def _hops(slot: Slot) -> int:
    # Redistributed slots carry the hop count in their id suffix (`s-abc.r2`).
    if not slot.redistributed_from:
        return 0
    tail = slot.id.rsplit(".r", 1)
    return int(tail[1]) if len(tail) == 2 and tail[1].isdigit() else 1


def account_available(account: Account, now: datetime) -> bool:
    """Whether an account may post now: ACTIVE, or RATE_LIMITED with the limit expired."""
    if account.state == AccountState.ACTIVE:
        return account.rate_limited_until is None or account.rate_limited_until <= now
    if account.state == AccountState.RATE_LIMITED:
        return account.rate_limited_until is not None and account.rate_limited_until <= now
    return False


def choose_replacement(
    slot: Slot,
    accounts: Iterable[Account],
    siblings: Sequence[Slot],
    *,
    platforms: Sequence[str],
    table: PlatformTable,
    now: datetime,
    source_type: str | None = None,
) -> Account | None:
    """Another eligible account for a slot whose account cannot post (suspended).

    Eligible: available now, same language, on a requested platform whose rules allow the
    content type (`source_type`, the distribution's content type, repurposed per platform;
    else the slot's own type), not already used by this distribution (one post per account), and
    within that platform's daily cap and minimum gap counting the distribution's slots.
    The same platform is preferred, then the healthiest account; ties break by id.
    """
    used = {s.account_id for s in siblings}
    by_account: dict[str, list[datetime]] = {}
    for s in siblings:
        if s.status not in (SlotStatus.CANCELLED, SlotStatus.SKIPPED):
            by_account.setdefault(s.account_id, []).append(s.due_at)
    candidates: list[tuple[int, float, int, str, Account]] = []
    for account in accounts:
        if account.id in used or account.platform not in platforms:
            continue
        if account.platform not in table or account.language != slot.language:
            continue
        if not account_available(account, now):
            continue
        rules = table[account.platform]
        if fit_caption(slot.caption, rules.caption_limit) is None:
            continue  # the caption would lose a link, mention, number or #ad there
        if _content_type_for(slot, source_type, rules) is None:
            continue
        times = by_account.get(account.id, [])
        same_day = [t for t in times if t.date() == now.date()]
        if len(same_day) >= rules.max_posts_per_day:
            continue
        if any(abs(t - now) < rules.min_gap for t in times):
            continue
        same_platform = 0 if account.platform == slot.platform else 1
        candidates.append((same_platform, -account.health, -account.followers, account.id, account))
    if not candidates:
        return None
    return min(candidates, key=lambda c: c[:4])[4]


def redistributed_slot(
    slot: Slot,
    account: Account,
    *,
    table: PlatformTable,
    now: datetime,
    source_type: str | None = None,
) -> Slot:
    """The replacement slot on `account`, due `now`, content type and caption fitted to the
    platform's rules."""
    hops = _hops(slot) + 1
    root = slot.id.rsplit(".r", 1)[0] if slot.redistributed_from else slot.id
    new_id = f"{root}.r{hops}"
    rules = table[account.platform]
    return replace(
        slot,
        id=new_id,
        account_id=account.id,
        platform=account.platform,
        timezone=account.timezone,
        due_at=now,
        caption=fit_caption(slot.caption, rules.caption_limit) or slot.caption,
        hashtags=slot.hashtags[: rules.hashtag_limit],
        content_type=_content_type_for(slot, source_type, rules) or slot.content_type,
        status=SlotStatus.QUEUED,
        attempts=0,
        claimed_by=None,
        lease_expires_at=None,
        executed_at=None,
        post_id=None,
        post_url=None,
        error=None,
        failure_kind=None,
        idempotency_key=f"herald:{new_id}",
        redistributed_from=slot.id,
    )


async def move_to_another_account(
    uow: UnitOfWork,
    slot: Slot,
    distribution: Distribution,
    accounts: Sequence[Account],
    siblings: list[Slot],
    *,
    table: PlatformTable,
    now: datetime,
    due: datetime | None = None,
) -> Slot | None:
    """Redistribution, written once (the dispatcher's outcomes and `retry_failed` use it):
    add a copy of `slot` on another eligible account, due at `due` (default `now`) with
    the next sequence number, and append it to `siblings`. None when no account fits."""
    source_type = distribution.request.item(slot.content_id).type
    target = choose_replacement(
        slot,
        accounts,
        siblings,
        platforms=distribution.request.platforms,
        table=table,
        now=now,
        source_type=source_type,
    )
    if target is None:
        return None
    moved = redistributed_slot(slot, target, table=table, now=due or now, source_type=source_type)
    moved = replace(moved, seq=max((s.seq for s in siblings), default=0) + 1)
    await uow.add_slots([moved])
    siblings.append(moved)
    return moved
