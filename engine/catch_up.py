"""Catch-up spacing: the dispatcher never publishes late slots of a plan in a burst.

A slot claimed late (after a pause, an outage or a restart) is given the earliest time at
or after now at which every rule of its plan still holds against the distribution's posts
(published, in flight, or already re-timed): the chain's `min_gap` (window mode), the
`duplicate_gap` between identical caption+hashtags, and per account the platform's min gap
and `max_posts_per_day` in any 24 hours (calendar mode). A rule is kept between two posts when
their plan kept it (a valid plan keeps every rule for every pair); a plan made dense on
purpose (tests, hand-made plans) is published as planned.
A slot whose new time falls past the plan's end is held for a human decision.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from engine.errors import SlotNotFound
from engine.lifecycle import advance_slot
from engine.models import SYSTEM, Distribution, Event, Slot, SlotStatus, new_event_id
from engine.platforms import PlatformTable
from engine.ports import Repository

DAY = timedelta(days=1)
ZERO = timedelta(0)
# A slot claimed this much after its due time makes the dispatcher re-read what the
# distribution already posted (another process may have published since we last looked).
LATE_TOLERANCE = timedelta(seconds=30)
# Gaps the plan made shorter than this are not enforced: it is below the dispatcher's
# resolution (a tick is about a second), and posts planned that close are a burst on purpose.
RESOLUTION = timedelta(seconds=1)
# Posts looked at on each side of a candidate time (see _distribution_conflict).
SCAN_LIMIT = 16
# failure_kind of a slot held past its window until a human chooses (see Dispatcher).
HELD_PAST_WINDOW = "held_past_window"
# failure_kind of a slot a human allowed to publish past its window.
PAST_WINDOW_ALLOWED = "past_window_allowed"


@dataclass(frozen=True, slots=True)
class _Post:
    at: datetime
    scheduled: datetime
    account_id: str
    text: tuple[str, tuple[str, ...]]


@dataclass(slots=True)
class DistributionSpacing:
    """The posts of one distribution, by slot id, with an index by time."""

    distribution: Distribution
    posts: dict[str, _Post] = field(default_factory=dict)
    times: list[tuple[datetime, str]] = field(default_factory=list)
    by_account: dict[str, set[str]] = field(default_factory=dict)
    loaded_at: datetime | None = None
    # Gaps shorter than this are not enforced (see RESOLUTION and CatchUp).
    resolution: timedelta = RESOLUTION

    def add(self, slot: Slot, at: datetime) -> None:
        self.remove(slot.id)
        post = _Post(at, slot.scheduled_at, slot.account_id, (slot.caption, slot.hashtags))
        self.posts[slot.id] = post
        bisect.insort(self.times, (at, slot.id))
        self.by_account.setdefault(slot.account_id, set()).add(slot.id)

    def remove(self, slot_id: str) -> None:
        old = self.posts.pop(slot_id, None)
        if old is not None:
            index = bisect.bisect_left(self.times, (old.at, slot_id))
            if index < len(self.times) and self.times[index] == (old.at, slot_id):
                del self.times[index]
            self.by_account.get(old.account_id, set()).discard(slot_id)

    def earliest(self, slot: Slot, now: datetime, platforms: PlatformTable) -> datetime:
        """The earliest time >= max(now, due) at which `slot` breaks no rule (see module)."""
        request = self.distribution.request
        window = request.mode == "window"
        if slot.platform in platforms:
            rules = platforms[slot.platform]
            account_gap, cap = rules.min_gap, rules.max_posts_per_day
        else:  # a platform dropped from the table: no per-account rule left to keep
            account_gap, cap = timedelta(0), 0
        reach = max(request.min_gap if window else timedelta(0), request.duplicate_gap)
        text = (slot.caption, slot.hashtags)
        t = max(now, slot.due_at)
        # Each pass moves t later past one conflict; a bounded loop is a safety net only.
        for _ in range(100_000):
            conflict = self._distribution_conflict(slot, t, reach, window, text)
            if conflict is None:
                conflict = self._account_conflict(slot, t, account_gap, 0 if window else cap)
            if conflict is None:
                return t
            t = conflict
        return t

    def _distribution_conflict(
        self,
        slot: Slot,
        t: datetime,
        reach: timedelta,
        window: bool,
        text: tuple[str, tuple[str, ...]],
    ) -> datetime | None:
        """The time `slot` must move to past the chain and duplicate rules, or None."""
        if not reach:
            return None
        request = self.distribution.request
        lo = bisect.bisect_left(self.times, (t - reach, ""))
        hi = bisect.bisect_left(self.times, (t + reach, ""), lo)
        # A plan that keeps its rules has few posts within `reach` of any time; a plan made
        # dense on purpose (posts at one instant) asks for no gap between them, so looking
        # at the nearest SCAN_LIMIT on each side keeps a 10 000-slot burst plan cheap.
        middle = bisect.bisect_left(self.times, (t, ""), lo, hi)
        lo, hi = max(lo, middle - SCAN_LIMIT), min(hi, middle + SCAN_LIMIT)
        latest: datetime | None = None
        for at, other_id in self.times[lo:hi]:
            if other_id == slot.id:
                continue
            post = self.posts[other_id]
            planned = abs(slot.scheduled_at - post.scheduled)
            if planned < self.resolution:
                continue  # planned together on purpose: nothing to keep between them
            need = _kept(request.min_gap, planned) if window else ZERO
            if post.text == text:
                need = max(need, _kept(request.duplicate_gap, planned))
            if need >= self.resolution and abs(t - at) < need:
                return at + need  # the earliest conflict in time order: move past it
        return latest

    def _account_conflict(
        self, slot: Slot, t: datetime, gap: timedelta, cap: int
    ) -> datetime | None:
        """The time `slot` must move to past its account's min gap and daily cap, or None."""
        moved = False
        mine = sorted(
            (self.posts[sid].at, self.posts[sid].scheduled)
            for sid in self.by_account.get(slot.account_id, ())
            if sid != slot.id
        )
        for at, scheduled in mine:
            need = _kept(gap, abs(slot.scheduled_at - scheduled))
            if need >= self.resolution and abs(t - at) < need:
                t = at + need  # posts are in time order: later ones are checked from here
                moved = True
        if cap:
            recent = [at for at, _ in mine if t - DAY < at <= t]
            if len(recent) >= cap:
                return recent[len(recent) - cap] + DAY
        return t if moved else None


def _kept(rule: timedelta, planned: timedelta) -> timedelta:
    """The gap to keep between two posts: the rule when their plan kept it, else none (a
    plan made dense on purpose, or a hand-made one, is not re-spaced)."""
    return rule if planned >= rule - RESOLUTION else ZERO


def spacing_from_slots(
    distribution: Distribution, slots: list[Slot], *, deciding: set[str]
) -> DistributionSpacing:
    """Rebuild a distribution's spacing from its stored slots: published ones at their
    time, in-flight ones at their due time, re-timed ones at their new time. Slots in
    `deciding` (the batch being decided now) are left out."""
    spacing = DistributionSpacing(distribution)
    for slot in slots:
        if slot.id in deciding:
            continue
        if slot.status == SlotStatus.PUBLISHED and slot.executed_at is not None:
            spacing.add(slot, slot.executed_at)
        elif slot.status == SlotStatus.CLAIMED or (
            slot.status == SlotStatus.QUEUED and slot.due_at > slot.scheduled_at
        ):
            spacing.add(slot, slot.due_at)
    return spacing


class CatchUp:
    """The dispatcher's spacing step: decides, for each claimed slot, publish now, re-time
    (back to QUEUED at its new due time) or hold past the window (PLANNED, for a human)."""

    def __init__(
        self,
        repository: Repository,
        platforms: PlatformTable,
        worker_id: str,
        *,
        resolution: timedelta = RESOLUTION,
        speed: Callable[[], float] = lambda: 1.0,
    ) -> None:
        # A fast simulated clock (`herald demo`) cannot wake finer than ~50 ms of wall time,
        # which is minutes of its time: gaps below `resolution` are left as planned.
        self._resolution = resolution
        self._repository = repository
        self._platforms = platforms
        self._worker_id = worker_id
        self._spacing: dict[str, DistributionSpacing] = {}
        # The clock's current speed: a re-read costs ~0.3 s of CPU for a 10 000-slot run,
        # so it happens at most every LATE_TOLERANCE of wall time, whatever the speed (at
        # 120x, 30 clock seconds are 0.25 s: a late run re-read itself without pause).
        self._speed = speed

    def forget(self, distribution_id: str) -> None:
        self._spacing.pop(distribution_id, None)

    async def space(
        self, slots: list[Slot], distributions: dict[str, Distribution], now: datetime
    ) -> tuple[list[Slot], list[Event]]:
        """The slots to publish now, and the events of those re-timed or held (written in
        one transaction). Raises StorageError (the leases then expire and are reclaimed)."""
        groups: dict[str, list[Slot]] = {}
        for slot in sorted(slots, key=lambda s: (s.due_at, s.seq)):
            groups.setdefault(slot.distribution_id, []).append(slot)
        publish: list[Slot] = []
        moved: list[tuple[Slot, datetime]] = []
        held: list[tuple[Slot, datetime]] = []
        for distribution_id, group in groups.items():
            distribution = distributions[distribution_id]
            spacing = self._spacing.get(distribution_id)
            stale = spacing is None or (
                spacing.loaded_at is not None
                and now - spacing.loaded_at > LATE_TOLERANCE * max(1.0, self._speed())
                and any(now - s.due_at > LATE_TOLERANCE for s in group)
            )
            if stale:
                # First sight since start, or late: what was posted meanwhile is in the
                # database (another process, or this one before a restart).
                async with self._repository.reading() as uow:
                    # Only what spacing counts: every slot of a 10 000-slot run, mapped on
                    # the serving loop, held it for ~1 s at each re-read of a late run.
                    rows = await uow.list_spaced_slots(distribution_id)
                spacing = spacing_from_slots(distribution, rows, deciding={s.id for s in group})
                spacing.loaded_at = now
                spacing.resolution = self._resolution
                self._spacing[distribution_id] = spacing
            assert spacing is not None
            # Slack past the end: the plan's own chain lets a post trail the previous one by
            # max_gap, so a late post that many minutes past the window is not held.
            end = distribution.request.end + distribution.request.max_gap
            for slot in group:
                spacing.remove(slot.id)
                at = spacing.earliest(slot, now, self._platforms)
                if at <= now:
                    spacing.add(slot, now)
                    publish.append(slot)
                elif at > end >= slot.due_at and slot.failure_kind != PAST_WINDOW_ALLOWED:
                    # Only spacing pushes it out; a retry already due past the end (the
                    # retry policy's choice) is spaced, not held.
                    spacing.add(slot, at)  # so the next held slot is proposed after it
                    held.append((slot, at))
                else:
                    spacing.add(slot, at)
                    moved.append((slot, at))
        events = await self._write(moved, held, distributions, now) if moved or held else []
        return publish, events

    async def _write(
        self,
        moved: list[tuple[Slot, datetime]],
        held: list[tuple[Slot, datetime]],
        distributions: dict[str, Distribution],
        now: datetime,
    ) -> list[Event]:
        per_distribution: dict[str, dict[str, list[dict[str, str]]]] = {}
        async with self._repository.unit_of_work() as uow:
            work = [(m, "release") for m in moved] + [(h, "hold") for h in held]
            for (slot, at), action in work:
                try:
                    current = await uow.get_slot(slot.id)
                except SlotNotFound:
                    continue
                if current.status != SlotStatus.CLAIMED or current.claimed_by != self._worker_id:
                    continue
                before = current.due_at
                current.status = advance_slot(current.status, action)
                current.due_at = at
                current.claimed_by = None
                current.lease_expires_at = None
                # A re-timing is not an attempt: the retry bound counts publishes.
                current.attempts = max(0, current.attempts - 1)
                if action == "hold":
                    current.failure_kind = HELD_PAST_WINDOW
                    end = distributions[slot.distribution_id].request.end
                    current.error = (
                        f"held: spaced by the plan's rules it would go out at {_iso(at)}, "
                        f"after the window ends at {_iso(end)}"
                    )
                await uow.save_slot(current)
                key = "held" if action == "hold" else "respaced"
                moves = per_distribution.setdefault(slot.distribution_id, {})
                moves.setdefault(key, []).append(
                    {
                        "slot_id": slot.id,
                        "account_id": slot.account_id,
                        "from": _iso(before),
                        "to": _iso(at),
                    }
                )
            events = [
                _event(now, distributions[d_id], kind_moves)
                for d_id, kinds in per_distribution.items()
                for kind_moves in kinds.items()
            ]
            for event in events:
                await uow.append_event(event)
        return events


def _event(
    now: datetime, distribution: Distribution, kind_moves: tuple[str, list[dict[str, str]]]
) -> Event:
    key, moves = kind_moves
    data: dict[str, Any] = {
        "name": distribution.name,
        "slots": len(moves),
        "first": moves[0]["to"],
        "last": moves[-1]["to"],
        "moves": moves[:50],
        "window_end": _iso(distribution.request.end),
    }
    if key == "held":
        kind = "distribution.catch_up_held"
        data["reason"] = (
            f"{len(moves)} late post(s) no longer fit before the window ends at "
            f"{_iso(distribution.request.end)} with the plan's gaps"
        )
        data["choices"] = list(CATCH_UP_CHOICES)
    else:
        kind = "distribution.respaced"
        data["reason"] = (
            f"{len(moves)} late post(s) re-spaced so the plan's gaps hold "
            f"(from {moves[0]['to']} to {moves[-1]['to']})"
        )
    return Event(new_event_id(), now, kind, SYSTEM.id, distribution.id, data=data)


# What a human may choose for held slots (DistributionService.decide_held).
CATCH_UP_CHOICES = ("replan", "publish", "skip")


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")
