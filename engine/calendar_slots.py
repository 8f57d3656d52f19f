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
    """Which caption variant is used at which minute, so identical posts stay
    `dup` minutes apart. Remembers, per variant list and hour, from which minute on
    every variant was found taken (occupancy only grows, so that stays true)."""

    def __init__(self, origin: int, minutes: int, dup: int) -> None:
        self.origin = origin
        self.minutes = minutes
        self.dup = dup
        self.used: dict[str, bytearray] = {}
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
        # Arrays are padded by `dup` minutes at the front, so no bound checks are needed.
        b_lo = (lo - origin) // 60 + dup
        # Most calls: the first variant is free at `lo`. That is also the full search's
        # answer, and the memo below cannot say otherwise (it only records full hours).
        occ = self.used.get(variants[first].variant_id)
        if occ is None:
            return lo, first
        if occ.find(1, b_lo - dup + 1, b_lo + dup) == -1:
            return origin + (b_lo - dup) * 60, first
        memo = (id(variants), hi)
        if self.full_from.get(memo, hi + 1) <= lo:
            return None
        b_hi = (hi - origin) // 60 + dup
        used = self.used
        k = len(variants)
        for j in range(k):
            index = (first + j) % k
            occ = used.get(variants[index].variant_id)
            if occ is None:
                return lo, index
            b = b_lo
            while b <= b_hi:
                hit = occ.find(1, b - dup + 1, b + dup)
                if hit == -1:
                    return origin + (b - dup) * 60, index
                b = hit + dup
        self.full_from[memo] = lo
        return None

    def claim_first(self, variants: tuple[Variant, ...], first: int, t: int) -> bool:
        """Take variant `first` at `t` if it is free there and `t` is on the minute grid:
        what `first_free` then `take` would do in the common case, in one step."""
        dup = self.dup
        b = (t - self.origin) // 60 + dup
        if self.origin + (b - dup) * 60 != t:
            return False
        vid = variants[first].variant_id
        occ = self.used.get(vid)
        if occ is None:
            occ = self.used[vid] = bytearray(self.minutes + 2 * dup)
        elif dup > 0 and occ.find(1, b - dup + 1, b + dup) != -1:
            return False
        occ[b] = 1
        return True

    def take(self, vid: str, t: int) -> None:
        occ = self.used.get(vid)
        if occ is None:
            occ = self.used[vid] = bytearray(self.minutes + 2 * self.dup)
        occ[(t - self.origin) // 60 + self.dup] = 1


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
        if bisect_left(accepted, t + DAY) - bisect_right(accepted, t - DAY) >= cap:
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
