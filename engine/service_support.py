"""What `DistributionService` shares with its read side: its configuration, the views it
returns, role and version checks, name resolution, and how plans become slots and events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from engine.errors import AmbiguousName, ConcurrentModification, DistributionNotFound, NotAllowed
from engine.models import (
    Account,
    Actor,
    Distribution,
    Event,
    PlannedSlot,
    Role,
    SafetyMode,
    Slot,
    SlotStatus,
    Unscheduled,
    new_event_id,
)
from engine.ports import UnitOfWork
from engine.wording import with_article

_RANK = {Role.VIEWER: 0, Role.OPERATOR: 1, Role.APPROVER: 2}


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    """Policy the service enforces, from Settings (see bot/bootstrap.py)."""

    default_safety_mode: SafetyMode = SafetyMode.SEMI_AUTONOMOUS
    enable_full_autonomous: bool = False
    allow_self_approval: bool = False
    late_after: timedelta = timedelta(minutes=1)
    retry_stagger: timedelta = timedelta(seconds=30)
    # The publisher of accounts without their own (HERALD_PUBLISHER), named on simulations.
    default_publisher: str = "simulated"
    duplicate_gap_floor_minutes: float = 5.0


@dataclass(frozen=True)
class PlanView:
    """A stored plan: the distribution, its slots in time order, what was left out and why."""

    distribution: Distribution
    slots: list[Slot]
    unscheduled: list[Unscheduled]
    warnings: list[str]


@dataclass(frozen=True)
class StatusView:
    """Where a run stands. `late` counts unclaimed slots overdue by more than a minute."""

    distribution: Distribution
    counts: dict[SlotStatus, int]
    next_due_at: datetime | None
    published: int
    failed: int
    late: int

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def done(self) -> int:
        open_ = (
            SlotStatus.PLANNED,
            SlotStatus.QUEUED,
            SlotStatus.RETRY_SCHEDULED,
            SlotStatus.CLAIMED,
        )
        return self.total - sum(self.counts.get(s, 0) for s in open_)


@dataclass(frozen=True)
class ImportReport:
    """How many accounts were written, and every bad row (by line) that was not."""

    imported: int
    errors: list[str] = field(default_factory=list)


def require_role(actor: Actor, role: Role, doing: str) -> None:
    """Raise NotAllowed unless `actor` has at least `role` (viewer < operator < approver)."""
    if _RANK[actor.role] < _RANK[role]:
        raise NotAllowed(
            f"{actor.display or actor.id} is {with_article(str(actor.role))} and cannot "
            f"{doing} (needs {role})"
        )


def check_version(d: Distribution, expected: int | None) -> None:
    """Raise ConcurrentModification when the caller saw another version than stored."""
    if expected is not None and d.version != expected:
        raise ConcurrentModification(
            f"{d.name!r} changed since you looked at it (version {d.version}, you saw "
            f"{expected}); look again and retry"
        )


def describe(d: Distribution) -> str:
    """How messages name a distribution."""
    return f"distribution {d.name!r}"


async def resolve_distribution(uow: UnitOfWork, key: str) -> Distribution:
    """The distribution with id `key`, or the one whose name matches; AmbiguousName /
    DistributionNotFound otherwise."""
    key = key.strip()
    found = await uow.find_distributions(key)
    if not found:
        raise DistributionNotFound(key)
    exact = [d for d in found if d.id == key]
    if exact:
        return exact[0]
    if len(found) > 1:
        raise AmbiguousName(key, [(d.id, d.name) for d in found])
    return found[0]


def slot_from_plan(
    distribution_id: str, seq: int, planned: PlannedSlot, accounts: dict[str, Account]
) -> Slot:
    """A planned slot stored as slot `seq` of the distribution, with its idempotency key."""
    account = accounts.get(planned.account_id)
    slot_id = f"{distribution_id}.{seq}"
    return Slot(
        id=slot_id,
        distribution_id=distribution_id,
        seq=seq,
        account_id=planned.account_id,
        platform=planned.platform,
        language=planned.language,
        timezone=account.timezone if account else "UTC",
        scheduled_at=planned.scheduled_at,
        due_at=planned.scheduled_at,
        caption=planned.caption,
        hashtags=tuple(planned.hashtags),
        risk_score=planned.risk_score,
        risk_level=planned.risk_level,
        trend_score=planned.trend_score,
        content_type=planned.content_type,
        variant_id=planned.variant_id,
        content_id=planned.content_id,
        status=SlotStatus.PLANNED,
        # Stable per slot: a repeated publish of the same slot cannot post twice.
        idempotency_key=f"herald:{slot_id}",
    )


def planned_from_slot(slot: Slot) -> PlannedSlot:
    """A stored slot as the planner's value (for the simulation report)."""
    try:
        zone = ZoneInfo(slot.timezone)
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    return PlannedSlot(
        account_id=slot.account_id,
        platform=slot.platform,
        language=slot.language,
        scheduled_at=slot.scheduled_at,
        local_time=slot.scheduled_at.astimezone(zone),
        caption=slot.caption,
        hashtags=slot.hashtags,
        risk_score=slot.risk_score,
        risk_level=slot.risk_level,
        trend_score=slot.trend_score,
        content_type=slot.content_type,
        variant_id=slot.variant_id,
        content_id=slot.content_id,
    )


def distribution_event(
    now: datetime,
    kind: str,
    actor: Actor,
    d: Distribution,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
) -> Event:
    """An audit event about a distribution, by `actor`."""
    data = dict(data or {})
    if actor.via:
        data["via"] = actor.via  # the API token the user acted through
    return Event(new_event_id(), now, kind, actor.id, d.id, before=before, after=after, data=data)
