"""The calendar's slots: each account's placed posts become PlannedSlots, filed by time.

Accounts are placed one after another in selection order, so filing each account's slots
under their time keeps every time's list in the plan's (time, selection) order: no sort of
the whole plan is needed. The velocity term of a slot's risk counts the account's posts in
the 24 hours up to it (itself included), so slots are built once the account is placed.
"""

from __future__ import annotations

import gc
from bisect import bisect_right
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from itertools import chain, islice
from typing import Any

from engine.calendar_slots import DAY, HOUR
from engine.captions import Variant
from engine.models import Account, PlannedSlot, RiskLevel
from engine.peaks import zone
from engine.planned_slots import UNFROZEN_SLOT
from engine.platforms import PlatformRules
from engine.request import Content
from engine.risk import velocity_risk


class Timeline:
    """The slots of the accounts placed so far, by time."""

    def __init__(self, items: list[Content]) -> None:
        self.types = [item.type for item in items]
        self.ids = [item.id for item in items]
        # Per time: its datetime, then the slots at that time (one list, no pair per time).
        self.at: dict[int, list[Any]] = {}
        self.levels: dict[float, RiskLevel] = {}
        self.velocity: dict[tuple[str, int], float] = {}
        # Local times by zone and time: accounts in one zone often post at the same minute.
        self.local: dict[str, dict[int, datetime]] = {}
        self.posters = 0

    def add(
        self,
        account: Account,
        language: str,
        posts: list[int],
        times: list[int],
        choices: list[tuple[Variant, ...]],
        trend: tuple[float, ...],
        rules: PlatformRules,
        base_risk: float,
    ) -> None:
        """File the account's `posts` (flat time, item, variant triples; `choices`: each
        item's variants); `times`: every time it posts at, sorted, its last post included;
        `base_risk`: its risk before the velocity term."""
        self.posters += 1
        account_id, platform = account.id, account.platform
        zi = zone(account.timezone)
        local_at = self.local.get(account.timezone)
        if local_at is None:
            local_at = self.local[account.timezone] = {}
        types, ids, at, levels, velocities = (
            self.types, self.ids, self.at, self.levels, self.velocity,
        )  # fmt: skip
        risks: dict[int, tuple[float, RiskLevel]] = {}
        build = UNFROZEN_SLOT or PlannedSlot
        thaw = UNFROZEN_SLOT is not None
        triples = iter(posts)
        for t, index, v in zip(triples, triples, triples, strict=True):
            # Its posts in the 24 hours up to this one, itself included.
            n = bisect_right(times, t) - bisect_right(times, t - DAY)
            scored = risks.get(n)
            if scored is None:
                velocity = velocities.get((rules.name, n))
                if velocity is None:
                    velocity = velocities[(rules.name, n)] = velocity_risk(n, rules)
                risk = round(min(1.0, base_risk + velocity), 3)
                level = levels.get(risk)
                if level is None:
                    level = levels[risk] = RiskLevel.from_score(risk)
                scored = risks[n] = (risk, level)
            entry = at.get(t)
            if entry is None:
                entry = at[t] = [datetime.fromtimestamp(t, UTC)]
            when = entry[0]
            local = local_at.get(t)
            if local is None:
                local = local_at[t] = when.astimezone(zi)
            caption, hashtags, vid = choices[index][v]
            # engine.planned_slots.planned_slot, inlined: this runs once per slot.
            slot = build(
                account_id,
                platform,
                language,
                when,
                local,
                caption,
                hashtags,
                scored[0],
                scored[1],
                trend[(t // HOUR) % 24],
                types[index],
                vid,
                ids[index],
            )
            if thaw:
                slot.__class__ = PlannedSlot
            entry.append(slot)

    def slots(self) -> list[PlannedSlot]:
        """Every slot, in time order (then selection order)."""
        at = self.at
        return list(chain.from_iterable(islice(at[t], 1, None) for t in sorted(at)))


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a calendar is built. A 10 000-account
    week makes ~90 000 slots that all live to the end, and every full collection walks
    them all again: a fifth of the planning time, for objects without cycles (reference
    counting still frees everything else at once). Restored on the way out, only when
    it was on (a caller that turned it off keeps it off)."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()
