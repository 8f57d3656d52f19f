"""Calendar mode's placement of one post: a time inside one peak hour that keeps the
account's own rules (min gap, 24-hour cap) and a caption variant free of identical posts
within the duplicate gap.

An account's accepted times are kept sorted, so each rule is a couple of bisections
rather than a scan of everything the account already posts.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right

from engine.captions import Variant

DAY = 86_400
HOUR = 3_600
BLOCKED = (-1, -1)  # `place`: the hour is ruled out for the account, whatever the item


class CaptionSpacing:
    """Which minutes each caption variant may not be used at, so identical posts stay
    `dup` minutes apart: per variant, a byte per minute of the calendar, set within `dup`
    minutes of each use (padded by `dup` at both ends, so no bound checks). "Is it free
    at m" is one byte and "its first free minute in an hour" one `find`, however packed
    the hour already is. Remembers, per variant list and hour, from which minute on every
    variant was found taken (uses only grow, so that stays true)."""

    def __init__(self, origin: int, minutes: int, dup: int) -> None:
        self.origin = origin
        self.size = minutes + 2 * max(0, dup) + 1
        self.dup = dup
        self.mark = b"\x01" * max(0, 2 * dup - 1)  # the minutes one use blocks
        self.blocked: dict[str, bytearray] = {}
        self.full_from: dict[tuple[int, int], int] = {}

    def first_free(
        self, variants: tuple[Variant, ...], first: int, lo: int, hi: int
    ) -> tuple[int, int] | None:
        """A free (time, variant index) in [lo, hi] on the minute grid: the account's variants
        in rotation order, each at its earliest free minute (first fit)."""
        dup = self.dup
        if dup <= 0:
            return lo, first
        origin = self.origin
        m_lo = (lo - origin) // 60
        blocked = self.blocked
        # Most calls: the first variant is free at `lo`. That is also the full search's
        # answer, and the memo below cannot say otherwise (it only records full hours).
        minutes = blocked.get(variants[first].variant_id)
        if minutes is None:
            return lo, first
        if not minutes[m_lo + dup]:
            return origin + m_lo * 60, first
        memo = (id(variants), hi)
        if self.full_from.get(memo, hi + 1) <= lo:
            return None
        m_hi = (hi - origin) // 60
        k = len(variants)
        for j in range(k):
            index = (first + j) % k
            minutes = blocked.get(variants[index].variant_id)
            if minutes is None:
                return lo, index
            free = minutes.find(0, m_lo + dup, m_hi + dup + 1)
            if free != -1:
                return origin + (free - dup) * 60, index
        self.full_from[memo] = lo
        return None

    def claim_first(self, variants: tuple[Variant, ...], first: int, t: int) -> bool:
        """Take variant `first` at `t` if it is free there and `t` is on the minute grid:
        what `first_free` then `take` would do in the common case, in one step."""
        m = (t - self.origin) // 60
        if self.origin + m * 60 != t:
            return False
        minutes = self.blocked.get(variants[first].variant_id)
        if minutes is None:
            minutes = self.blocked[variants[first].variant_id] = bytearray(self.size)
        elif minutes[m + self.dup]:
            return False
        minutes[m + 1 : m + 2 * self.dup] = self.mark
        return True

    def take(self, vid: str, t: int) -> None:
        minutes = self.blocked.get(vid)
        if minutes is None:
            minutes = self.blocked[vid] = bytearray(self.size)
        m = (t - self.origin) // 60
        minutes[m + 1 : m + 2 * self.dup] = self.mark


def place(
    hour: int,
    offset: int,
    earliest: int,
    end: int,
    accepted: list[int],
    gap: int,
    cap: int,
    variants: tuple[Variant, ...],
    first_variant: int,
    spacing: CaptionSpacing,
) -> tuple[int, int] | None:
    """The first time in this peak hour (from the account's offset) that keeps every rule,
    with a free caption variant; records the variant's use. None when every variant is
    taken nearby (another item may still fit), BLOCKED when the account's own gap or
    daily cap rules the hour out (no item can). `accepted` is sorted."""
    t = hour + offset
    if t < earliest:
        t = earliest + (t - earliest) % 60
    last = hour + HOUR - 1
    if last > end:
        last = end
    captions = False
    while t <= last:
        # The latest own post within `gap` of t: every minute before it + gap is within
        # gap of it too, so the next try is the first minute (on t's grid) after that.
        j = bisect_left(accepted, t + gap) - 1
        if j >= 0 and accepted[j] > t - gap:
            x = accepted[j] + gap
            t = x + (-(x - t) % 60)
            continue
        if len(accepted) >= cap and (
            bisect_left(accepted, t + DAY) - bisect_right(accepted, t - DAY) >= cap
        ):
            return BLOCKED
        if spacing.claim_first(variants, first_variant, t):
            return t, first_variant
        found = spacing.first_free(variants, first_variant, t, last)
        if found is None:
            return None
        at = found[0]
        if at != t:
            j = bisect_left(accepted, at + gap) - 1
            if j >= 0 and accepted[j] > at - gap:
                t = at
                captions = True
                continue
        spacing.take(variants[found[1]].variant_id, at)
        return found
    return None if captions else BLOCKED
