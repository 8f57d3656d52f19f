"""How many accounts one window chain holds, against the packing definition."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.chain_capacity import chain_capacity, pick_for_chain


def fits(times: list[int], *, start: int, end: int, min_gap: int) -> bool:
    """The definition: posts packed min_gap apart against the end, the j-th earliest
    account at the j-th position, each no earlier than its time and not before start."""
    m = len(times)
    if m and (m - 1) * min_gap > end - start:
        return False
    return all(t <= end - (m - 1 - j) * min_gap for j, t in enumerate(sorted(times)))


class TestChainCapacity:
    @settings(max_examples=300, deadline=None)
    @given(
        earliest=st.lists(st.integers(-50, 400), max_size=25),
        end=st.integers(0, 400),
        min_gap=st.integers(0, 60),
    )
    def test_capacity_is_the_most_earliest_accounts_that_fit(
        self, earliest: list[int], end: int, min_gap: int
    ) -> None:
        """The capacity is the largest m whose m earliest accounts fit the packing."""
        start = 0
        usable = sorted(max(start, e) for e in earliest if e <= end)
        expected = max(
            m
            for m in range(len(usable) + 1)
            if fits(usable[:m], start=start, end=end, min_gap=min_gap)
        )
        got = chain_capacity(earliest, start=start, end=end, min_gap=min_gap)
        assert got == expected
        picked, _ = pick_for_chain([max(start, e) for e in earliest], got, end=end, min_gap=min_gap)
        assert len(picked) == got
        assert fits(
            [max(start, earliest[i]) for i in picked], start=start, end=end, min_gap=min_gap
        )
