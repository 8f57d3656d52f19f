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
from dataclasses import fields, make_dataclass
from datetime import UTC, datetime

from engine.calendar_slots import DAY, HOUR
from engine.captions import Variant
from engine.models import Account, PlannedSlot, RiskLevel
from engine.peaks import zone
from engine.platforms import PlatformRules
from engine.request import Content
from engine.risk import velocity_risk


def _unfrozen_slot() -> type | None:
    """A plain slotted dataclass with PlannedSlot's fields, in the same order, whose
    instances may become PlannedSlots by class assignment; None if PlannedSlot changed so
    that this would not give the same objects (then slots are built the ordinary way).

    Why: PlannedSlot is frozen, so its __init__ sets each of its 13 fields through
    object.__setattr__, ~20 000 machine instructions a slot (a fifth of a 90 000-slot
    calendar); building the unfrozen twin and switching its class takes ~4 000. Python
    allows the switch because both have the same slots and nothing else; the result is an
    ordinary, frozen PlannedSlot, equal to one built by PlannedSlot(...)."""
    names = [f.name for f in fields(PlannedSlot)]
    if hasattr(PlannedSlot, "__post_init__") or getattr(PlannedSlot, "__slots__", ()) != tuple(
        names
    ):
        return None
    twin = make_dataclass(
        "UnfrozenSlot", [(f.name, f.type) for f in fields(PlannedSlot)], slots=True, eq=False
    )
    probe = tuple(range(len(names)))
    try:
        slot = twin(*probe)
        slot.__class__ = PlannedSlot
    except TypeError:
        return None
    return twin if slot == PlannedSlot(*probe) else None  # type: ignore[arg-type]


UNFROZEN_SLOT = _unfrozen_slot()


class Timeline:
    """The slots of the accounts placed so far, by time."""

    def __init__(self, items: list[Content]) -> None:
        self.types = [item.type for item in items]
        self.ids = [item.id for item in items]
        self.at: dict[int, tuple[datetime, list[PlannedSlot]]] = {}
        self.levels: dict[float, RiskLevel] = {}
        self.velocity: dict[tuple[str, int], float] = {}
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
                entry = at[t] = (datetime.fromtimestamp(t, UTC), [])
            when = entry[0]
            caption, hashtags, vid = choices[index][v]
            # Positional, in PlannedSlot's field order: a keyword call costs a third more.
            slot = build(
                account_id,
                platform,
                language,
                when,
                when.astimezone(zi),
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
            entry[1].append(slot)

    def slots(self) -> list[PlannedSlot]:
        """Every slot, in time order (then selection order)."""
        at = self.at
        return [slot for t in sorted(at) for slot in at[t][1]]


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
