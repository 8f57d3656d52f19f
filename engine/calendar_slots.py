"""Calendar mode's placement of one post: a time inside one peak hour that keeps the
account's own rules (min gap, 24-hour cap) and a caption variant free of identical posts
within the duplicate gap.

An account's accepted times are kept sorted, so each rule is a couple of bisections
rather than a scan of everything the account already posts.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort

from engine.captions import Variant

DAY = 86_400
HOUR = 3_600
BLOCKED = (-1, -1)  # `place`: the hour is ruled out for the account, whatever the item


class CaptionSpacing:
    """Which caption variant is used at which minute, so identical posts stay `dup`
    minutes apart: per variant, the sorted minutes (since `origin`) it is used at. A week
    holds a few dozen uses per variant, so a lookup is a bisection in a short list (an
    array of every minute per variant took ~30 MB for 10 000 accounts, mostly cold cache
    lines). Remembers, per variant list and hour, from which minute on every variant was
    found taken (uses only grow, so that stays true)."""

    def __init__(self, origin: int, dup: int) -> None:
        self.origin = origin
        self.dup = dup
        self.used: dict[str, list[int]] = {}
        self.full_from: dict[tuple[int, int], int] = {}

    def first_free(
        self, variants: tuple[Variant, ...], first: int, lo: int, hi: int
    ) -> tuple[int, int] | None:
        """A free (time, variant index) in [lo, hi] on the minute grid: the account's variants
        in rotation order, each at its earliest free minute (first fit, for speed)."""
        dup = self.dup
        if dup <= 0:
            return lo, first
        origin = self.origin
        m_lo = (lo - origin) // 60
        # Most calls: the first variant is free at `lo`. That is also the full search's
        # answer, and the memo below cannot say otherwise (it only records full hours).
        uses = self.used.get(variants[first].variant_id)
        if uses is None:
            return lo, first
        i = bisect_right(uses, m_lo - dup)
        if i == len(uses) or uses[i] >= m_lo + dup:
            return origin + m_lo * 60, first
        memo = (id(variants), hi)
        if self.full_from.get(memo, hi + 1) <= lo:
            return None
        m_hi = (hi - origin) // 60
        used = self.used
        k = len(variants)
        for j in range(k):
            index = (first + j) % k
            uses = used.get(variants[index].variant_id)
            if uses is None:
                return lo, index
            m = m_lo
            while m <= m_hi:
                i = bisect_right(uses, m - dup)
                if i == len(uses) or uses[i] >= m + dup:
                    return origin + m * 60, index
                # The last use within dup of m: every minute up to it + dup - 1 is within
                # dup of it too, so the next candidate is right after that.
                m = uses[bisect_left(uses, m + dup, i) - 1] + dup
        self.full_from[memo] = lo
        return None

    def claim_first(self, variants: tuple[Variant, ...], first: int, t: int) -> bool:
        """Take variant `first` at `t` if it is free there and `t` is on the minute grid:
        what `first_free` then `take` would do in the common case, in one step."""
        m = (t - self.origin) // 60
        if self.origin + m * 60 != t:
            return False
        vid = variants[first].variant_id
        uses = self.used.get(vid)
        if uses is None:
            self.used[vid] = [m]
            return True
        dup = self.dup
        i = bisect_right(uses, m - dup)
        if dup > 0 and i < len(uses) and uses[i] < m + dup:
            return False
        uses.insert(i, m)  # every use before i is <= m - dup, every one from i on > m
        return True

    def take(self, vid: str, t: int) -> None:
        uses = self.used.get(vid)
        if uses is None:
            self.used[vid] = [(t - self.origin) // 60]
        else:
            insort(uses, (t - self.origin) // 60)


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
