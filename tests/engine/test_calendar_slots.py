"""Calendar placement: the caption-spacing shortcut, time order, the fast slot build and
the paused collector."""

from __future__ import annotations

import gc
from dataclasses import FrozenInstanceError, fields, replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.calendar_slots import CaptionSpacing
from engine.captions import Variant
from engine.models import Account, PlannedSlot
from engine.planned_slots import UNFROZEN_SLOT
from engine.planner import plan_distribution
from engine.request import DistributionRequest, parse_request
from engine.selection import select_accounts

ORIGIN = 1_795_000_020 - 1_795_000_020 % 60
# Three variant lists sharing ids, as items with the same caption on two platforms do.
LISTS = (
    (Variant("a", (), "va"), Variant("b", (), "vb")),
    (Variant("b", (), "vb"), Variant("c", (), "vc"), Variant("a", (), "va")),
    (Variant("d", (), "vd"),),
)


class TestCaptionSpacing:
    @settings(max_examples=200, deadline=None)
    @given(
        dup=st.sampled_from([0, 1, 5, 30]),
        tries=st.lists(
            st.tuples(
                st.integers(0, 2),  # variant list
                st.integers(0, 2),  # first variant
                st.integers(0, 300),  # minute
                st.sampled_from([0, 0, 0, 17]),  # seconds off the minute grid
                st.integers(0, 59),  # minutes to the end of the hour
            ),
            max_size=80,
        ),
    )
    def test_claim_first_then_search_equals_the_search(
        self, dup: int, tries: list[tuple[int, int, int, int, int]]
    ) -> None:
        """Claiming the first variant at t, else searching, takes what searching alone does."""
        fast = CaptionSpacing(ORIGIN, 400, dup)
        slow = CaptionSpacing(ORIGIN, 400, dup)
        for which, first, minute, seconds, room in tries:
            variants = LISTS[which]
            first %= len(variants)
            t = ORIGIN + minute * 60 + seconds
            hi = t + room * 60
            expected = slow.first_free(variants, first, t, hi)
            if expected is not None:
                slow.take(variants[expected[1]].variant_id, expected[0])
            if fast.claim_first(variants, first, t):
                got: tuple[int, int] | None = (t, first)
            else:
                got = fast.first_free(variants, first, t, hi)
                if got is not None:
                    fast.take(variants[got[1]].variant_id, got[0])
            assert got == expected
            assert fast.blocked == slow.blocked


def calendar(accounts: int) -> tuple[DistributionRequest, list[Account]]:
    zones = ("UTC", "America/New_York", "Asia/Kolkata")
    people = [
        Account(f"a{i}", ("twitter", "tiktok")[i % 2], f"@a{i}", zones[i % 3])
        for i in range(accounts)
    ]
    request = parse_request(
        {
            "queue": [{"id": f"i{k}", "caption": f"Item {k}"} for k in range(4)],
            "platforms": ["twitter", "tiktok"],
            "mode": "calendar",
            "start": "2026-11-23T00:00:00Z",
            "days": 3,
            "velocity": 2,
        }
    )
    return request, people


class TestCalendarOrder:
    def test_slots_in_time_then_selection_order(self) -> None:
        """Slots come sorted by time; at one time, in selection order (no global sort)."""
        request, accounts = calendar(60)
        result = plan_distribution(request, accounts)
        order, _ = select_accounts(accounts, None, now=request.start)
        rank = {a.id: i for i, a in enumerate(order)}
        keys = [(s.scheduled_at, rank[s.account_id]) for s in result.slots]
        assert keys == sorted(keys)
        assert len(result.slots) > 100
        assert len({s.scheduled_at for s in result.slots}) < len(result.slots)  # ties seen


class TestUnfrozenSlots:
    def test_calendar_slots_are_ordinary_frozen_planned_slots(self) -> None:
        """The fast build is in use and gives PlannedSlots equal to ones built normally."""
        assert UNFROZEN_SLOT is not None
        request, accounts = calendar(6)
        slot = plan_distribution(request, accounts).slots[0]
        assert type(slot) is PlannedSlot
        assert slot == PlannedSlot(*(getattr(slot, f.name) for f in fields(PlannedSlot)))
        assert hash(slot) == hash(replace(slot))
        with pytest.raises(FrozenInstanceError):
            slot.caption = "changed"  # type: ignore[misc]


class TestCollectorPause:
    def test_collector_state_is_restored(self) -> None:
        """Planning a calendar leaves the garbage collector on if it was on, off if off."""
        request, accounts = calendar(10)
        was = gc.isenabled()
        try:
            gc.enable()
            plan_distribution(request, accounts)
            assert gc.isenabled()
            gc.disable()
            plan_distribution(request, accounts)
            assert not gc.isenabled()
        finally:
            if was:
                gc.enable()
            else:
                gc.disable()
