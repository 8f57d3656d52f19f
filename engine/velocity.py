"""Velocity profiles (seed 001 #10): how often and when to post on a platform.

The profile comes from the platform table; the optimal velocity (posts per day) comes
from recent history: ramp up slowly while posts succeed, slow down when they fail.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from engine.models import Slot, SlotStatus
from engine.platforms import DEFAULT_PLATFORMS, PlatformTable

HISTORY_WINDOW = timedelta(days=7)
RAMP_UP = 0.5  # posts/day added while the failure rate stays under HEALTHY_FAILURE_RATE
HEALTHY_FAILURE_RATE = 0.05
TROUBLED_FAILURE_RATE = 0.2


@dataclass(frozen=True, slots=True)
class PostRecord:
    """One past publish attempt on a platform."""

    platform: str
    at: datetime
    succeeded: bool


@dataclass(frozen=True, slots=True)
class VelocityProfile:
    """Seed 001's profile: the platform's limits plus the velocity history suggests."""

    platform: str
    optimal_posts_per_day: int
    min_gap_hours: float
    peak_hours: tuple[int, ...]
    optimal_velocity: float
    observed_per_day: float
    failure_rate: float
    reason: str

    def to_dict(self) -> dict[str, object]:
        """The seed's JSON shape (camelCase)."""
        return {
            "platform": self.platform,
            "optimalPostsPerDay": self.optimal_posts_per_day,
            "minGapHours": self.min_gap_hours,
            "peakHours": list(self.peak_hours),
            "optimalVelocity": self.optimal_velocity,
            "observedPerDay": self.observed_per_day,
            "failureRate": self.failure_rate,
            "reason": self.reason,
        }


def records_from_slots(slots: Iterable[Slot]) -> list[PostRecord]:
    """Published and failed slots as history (other statuses say nothing about velocity)."""
    out = []
    for slot in slots:
        if slot.executed_at is None:
            continue
        if slot.status is SlotStatus.PUBLISHED:
            out.append(PostRecord(slot.platform, slot.executed_at, True))
        elif slot.status is SlotStatus.FAILED:
            out.append(PostRecord(slot.platform, slot.executed_at, False))
    return out


def velocity_profile(
    platform: str,
    history: Sequence[PostRecord],
    *,
    now: datetime,
    platforms: PlatformTable = DEFAULT_PLATFORMS,
) -> VelocityProfile:
    """The velocity profile of `platform` given the last seven days of `history`.

    With no history the optimal velocity is half the platform's daily maximum. Otherwise,
    from the observed posts per active day: + 0.5 when at most 5 % failed, unchanged up to
    20 %, and cut by the failure rate beyond; always between 0.5 and the daily maximum.
    Raises InvalidInput for an unknown platform.
    """
    rules = platforms[platform]
    since = now - HISTORY_WINDOW
    recent = [r for r in history if r.platform.lower() == rules.name and since <= r.at <= now]
    cap = float(rules.max_posts_per_day)
    if not recent:
        optimal = cap / 2
        observed = failure = 0.0
        reason = "no recent history: half the daily maximum"
    else:
        days = len({r.at.date() for r in recent})
        observed = len(recent) / days
        failure = sum(not r.succeeded for r in recent) / len(recent)
        if failure <= HEALTHY_FAILURE_RATE:
            optimal = observed + RAMP_UP
            reason = f"{failure:.0%} failed: ramping up"
        elif failure <= TROUBLED_FAILURE_RATE:
            optimal = observed
            reason = f"{failure:.0%} failed: holding"
        else:
            optimal = observed * (1 - failure)
            reason = f"{failure:.0%} failed: slowing down"
    optimal = min(cap, max(0.5, optimal))
    return VelocityProfile(
        platform=rules.name,
        optimal_posts_per_day=rules.max_posts_per_day,
        min_gap_hours=rules.min_gap.total_seconds() / 3600,
        peak_hours=rules.peak_hours,
        optimal_velocity=round(optimal, 1),
        observed_per_day=round(observed, 2),
        failure_rate=round(failure, 3),
        reason=reason,
    )
