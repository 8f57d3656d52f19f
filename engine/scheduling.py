"""Window-mode scheduling (seed 000 Task 5.1): one chain of posts inside a spread window.

The hard rules: every post in [start, end]; consecutive posts of the distribution between
`min_gap` and `max_gap` apart; each account at most once, not before its earliest time;
identical caption+hashtags at least `duplicate_gap` apart. Within them, maximise the
share of posts on their platform's local peak hours, then spread evenly.

How (all times are integer epoch seconds):
1. Greedy chain, earliest-deadline-first. From the previous post, the next one may go in
   [prev + min_gap, min(prev + max_gap, latest)], where `latest` leaves room for the
   remaining posts at min_gap. Scan that range minute by minute and take the first moment
   at which some unused account is on peak (and has a free caption variant); among those,
   the one whose peak interval ends soonest (then the selection's lead order). EDF is the
   exact rule for matching points to intervals, so peaks are rarely wasted.
2. When nothing is on peak in the range, post off-peak as late as possible (to reach the
   next peak sooner), preferring accounts with no peak left in the window.
3. Re-matching: keeping the chain's times, re-assign accounts by a maximum bipartite
   matching (times x accounts on peak there, augmenting paths from the greedy's peaks);
   off-peak times take the rest. Kept only if it adds peaks and breaks no rule.
4. Smoothing: a few Gauss-Seidel passes move each post toward the middle of its
   neighbours (the first toward `start`, the last toward `end`), clamped so that every rule
   still holds and a post on peak stays inside its peak interval. A final pass adds
   seeded jitter of up to 45 s, also clamped, so times look human and are reproducible.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from engine.captions import Variant

STEP = 60
JITTER = 45
SMOOTHING_PASSES = 6


# (peak end, -trend, candidate, peak start) per UTC quarter-hour; the candidate's index is
# its lead rank.
Segments = dict[int, list[tuple[int, float, int, int]]]
# (candidate, time, variant index, peak interval or None)
Pick = tuple[int, int, int, tuple[int, int] | None]
VariantChooser = Callable[[int, int], int | None]


@dataclass(slots=True)
class Candidate:
    """One account the chain may use: its earliest time, peak intervals and variants."""

    key: str
    earliest: int
    peaks: tuple[tuple[int, int], ...]
    variants: tuple[Variant, ...]
    variant_offset: int = 0
    trend: tuple[float, ...] = ()


@dataclass(slots=True)
class Placement:
    """A candidate placed at `at` with its `variant` (index into its variants)."""

    candidate: int
    at: int
    variant: int
    peak: tuple[int, int] | None


@dataclass(slots=True)
class ChainResult:
    placements: list[Placement]
    left_out: dict[int, str] = field(default_factory=dict)


def schedule_window(
    candidates: Sequence[Candidate],
    *,
    start: int,
    end: int,
    min_gap: int,
    max_gap: int,
    duplicate_gap: int,
    seed: int,
) -> ChainResult:
    """Place as many `candidates` (given in lead order) as the rules allow; see the module
    docstring. `left_out` maps each candidate not placed to the reason."""
    n = len(candidates)
    assigned = [False] * n
    # Per UTC quarter-hour: (peak end, -trend, candidate, peak start): EDF order, ties to
    # the stronger trend (when the request is trend-weighted), then the lead.
    segments: Segments = {}
    last_peak_end = [0] * n
    for i, cand in enumerate(candidates):
        trends = cand.trend
        for a, b in cand.peaks:
            if b <= start or a > end:
                continue
            if b > last_peak_end[i]:
                last_peak_end[i] = b
            for q in range(a // 900, (b - 1) // 900 + 1):
                entry = (b, -trends[(q // 4) % 24] if trends else -0.0, i, a)
                if q in segments:
                    segments[q].append(entry)
                else:
                    segments[q] = [entry]
    for entries in segments.values():
        entries.sort()
    last_use: dict[str, int] = {}

    def free_variant(i: int, t: int) -> int | None:
        cand = candidates[i]
        best = None
        best_use = 0
        k = len(cand.variants)
        for j in range(k):
            index = (cand.variant_offset + j) % k
            used = last_use.get(cand.variants[index].variant_id)
            if used is None:
                return index
            if used <= t - duplicate_gap and (best is None or used < best_use):
                best, best_use = index, used
        return best

    placements: list[Placement] = []
    pool = list(range(n))
    remaining = n
    prev: int | None = None
    stop_reason = ""
    # Earliest times of the accounts not yet placed, sorted: the chain must not post before
    # `_ready_by(waiting, ...)`, or an account still waiting (rate limit, min gap since its
    # last post) could not be reached within max_gap. Any account free at that moment is
    # as good as any other for the count, so peaks still choose among them.
    waiting = sorted(max(start, c.earliest) for c in candidates)
    while remaining:
        if prev is None:
            lo = max(start, _ready_by(waiting, start, max_gap))
        else:
            lo = max(prev + min_gap, _ready_by(waiting, prev, max_gap))
        if lo > end:
            stop_reason = "window"
            break
        fits = remaining if min_gap <= 0 else min(remaining, (end - lo) // min_gap + 1)
        hi = end - (fits - 1) * min_gap
        if prev is not None:
            hi = min(hi, prev + max_gap)
        pick = _peak_pick(candidates, segments, assigned, free_variant, lo, hi)
        if pick is None:
            pick = _offpeak_pick(candidates, pool, assigned, last_peak_end, free_variant, lo, hi)
        wide = end if prev is None else min(end, prev + max_gap)
        if pick is None and wide > hi:
            # Nobody fits where the tightest packing would put the next post (caption
            # duplicates or earliest times): give up on fitting everyone and look further.
            # Count comes before peaks: take the earliest moment anyone fits.
            t = _earliest_fit(candidates, pool, assigned, last_use, duplicate_gap, hi + 1)
            if t <= wide:
                pick = _peak_pick(candidates, segments, assigned, free_variant, t, t)
                if pick is None:
                    pick = _offpeak_pick(
                        candidates, pool, assigned, last_peak_end, free_variant, t, t
                    )
        if pick is None:
            stop_reason = "gap"
            break
        i, t, v, peak = pick
        assigned[i] = True
        remaining -= 1
        del waiting[bisect.bisect_left(waiting, max(start, candidates[i].earliest))]
        last_use[candidates[i].variants[v].variant_id] = t
        placements.append(Placement(i, t, v, peak))
        prev = t
        if len(pool) > 32 and remaining < len(pool) // 2:
            pool = [j for j in pool if not assigned[j]]
    improved = _rematch(candidates, placements, segments, duplicate_gap)
    if improved is not None:
        placements = improved
        assigned = [False] * n
        for p in placements:
            assigned[p.candidate] = True
    _smooth(placements, candidates, start, end, min_gap, max_gap, duplicate_gap, seed)
    left_out = {i: stop_reason or "window" for i in range(n) if not assigned[i]}
    return ChainResult(placements, left_out)


def _ready_by(waiting: list[int], after: int, max_gap: int) -> int:
    """The first moment the chain may post so that every waiting account (the i-th earliest
    at `waiting[i]`) can still be reached within max_gap steps: max(e_i - i * max_gap).
    Entries at or before `after` cannot bind; most accounts are free from the start, so
    only the few late ones are looked at."""
    best = waiting[0] if waiting else after
    for i in range(bisect.bisect_right(waiting, after), len(waiting)):
        best = max(best, waiting[i] - i * max_gap)
    return best


def _earliest_fit(
    candidates: Sequence[Candidate],
    pool: list[int],
    assigned: list[bool],
    last_use: dict[str, int],
    duplicate_gap: int,
    lo: int,
) -> int:
    """The first moment >= lo at which some unused candidate has a free variant."""
    best = 2**62
    for i in pool:
        if assigned[i]:
            continue
        cand = candidates[i]
        free_at = min(
            last_use[v.variant_id] + duplicate_gap if v.variant_id in last_use else lo
            for v in cand.variants
        )
        best = min(best, max(lo, cand.earliest, free_at))
    return best


def _peak_pick(
    candidates: Sequence[Candidate],
    segments: Segments,
    assigned: list[bool],
    free_variant: VariantChooser,
    lo: int,
    hi: int,
) -> Pick | None:
    """The first moment in [lo, hi] at which an unused account is on peak with a free
    variant, and the account whose peak ends soonest there."""
    t = lo
    while t <= hi:
        entries = segments.get(t // 900)
        waiting = False
        if entries:
            for b, _rank, i, a in entries:
                if assigned[i] or b <= t or a > t:
                    continue
                if candidates[i].earliest > t:
                    waiting = True
                    continue
                v = free_variant(i, t)
                if v is None:
                    waiting = True
                    continue
                return i, t, v, (a, b)
        if waiting:
            t += STEP
        else:
            # Nothing here can become available later in this quarter: jump to the next.
            nxt = (t // 900 + 1) * 900
            t = max(t + STEP, lo + -(-(nxt - lo) // STEP) * STEP)
    return None


def _offpeak_pick(
    candidates: Sequence[Candidate],
    pool: list[int],
    assigned: list[bool],
    last_peak_end: list[int],
    free_variant: VariantChooser,
    lo: int,
    hi: int,
) -> Pick | None:
    """The latest moment in [lo, hi] some unused account can post off-peak; accounts with
    no peak left in the window first, then the lead order."""
    t = hi
    while t >= lo:
        fallback = None
        for i in pool:
            if assigned[i] or candidates[i].earliest > t:
                continue
            if last_peak_end[i] <= t:
                v = free_variant(i, t)
                if v is not None:
                    return i, t, v, None
            elif fallback is None:
                v = free_variant(i, t)
                if v is not None:
                    fallback = (i, t, v, None)
        if fallback is not None:
            return fallback
        t -= STEP
    return None


# Options per time in the re-matching; see `_rematch`.
EDGE_CAP = 256
EDGE_STRIDE = 97


def _rematch(
    candidates: Sequence[Candidate],
    placements: list[Placement],
    segments: Segments,
    duplicate_gap: int,
) -> list[Placement] | None:
    """Keep the chain's times, but re-assign accounts by a maximum bipartite matching
    (times x accounts on peak there) seeded with the greedy's peaks; off-peak times get the
    accounts left. Returns None when it finds no more peaks or breaks a rule (then the
    greedy plan stands)."""
    count = len(placements)
    # Each time's options: segment entries (peak end, -trend, account, peak start).
    edges: list[Sequence[tuple[int, float, int, int]]] = []
    whole: dict[int, bool] = {}  # per quarter: every account in it fits any of its times
    for idx, p in enumerate(placements):
        t = p.at
        q = t // 900
        bucket = segments.get(q, ())
        size = len(bucket)
        if size <= EDGE_CAP:
            fits = whole.get(q)
            if fits is None:
                lo, hi = q * 900, q * 900 + 900
                fits = whole[q] = all(
                    a <= lo and hi <= b and candidates[who].earliest <= lo
                    for b, _, who, a in bucket
                )
            if fits:
                # What the filter below would keep: all of it, in order; shared, not copied.
                edges.append(bucket)
                continue
        # A small bucket keeps its order (earliest-ending peak first). A crowded one (many
        # accounts sharing a zone) gives each time at most EDGE_CAP options, starting at a
        # rotating offset so neighbouring times see different accounts: the matching stays
        # near-linear instead of building a quadratic graph.
        start = 0 if size <= EDGE_CAP else (idx * EDGE_STRIDE) % size
        options: list[tuple[int, float, int, int]] = []
        for k in range(size):
            entry = bucket[(start + k) % size]
            b, _, who, a = entry
            if a <= t < b and candidates[who].earliest <= t:
                options.append(entry)
                if len(options) >= EDGE_CAP:
                    break
        edges.append(options)
    slot_of: dict[int, int] = {}
    match: list[int | None] = [None] * count
    peak_of: list[tuple[int, int] | None] = [None] * count
    for idx, p in enumerate(placements):
        if p.peak is not None:
            match[idx] = p.candidate
            slot_of[p.candidate] = idx
            peak_of[idx] = p.peak
    before = len(slot_of)

    # Accounts a failed search reached: everything reachable from them was explored and
    # led to no free account, so while the matching stays as it is, no later search can
    # succeed through them either. Searches skip them until an augmentation changes the
    # matching (the paths found are the same; failed searches no longer re-walk the graph).
    dead: set[int] = set()

    def augment(root: int) -> bool:
        # Kuhn's augmenting path, iteratively: a recursive search overflows the stack on
        # plans of thousands of slots. `path[k]` is the edge from `stack[k]` to `stack[k+1]`.
        nonlocal dead
        seen = dead
        stack = [(root, iter(edges[root]))]
        path: list[tuple[int, int, tuple[int, int]]] = []
        while stack:
            idx, options = stack[-1]
            for b, _, i, a in options:
                if i in seen:
                    continue
                seen.add(i)
                path.append((idx, i, (a, b)))
                other = slot_of.get(i)
                if other is None:
                    for at, account, peak in path:
                        slot_of[account] = at
                        match[at] = account
                        peak_of[at] = peak
                    dead = set()
                    return True
                stack.append((other, iter(edges[other])))
                break
            else:
                stack.pop()
                if path:
                    path.pop()
        return False

    for idx in range(count):
        if match[idx] is None and edges[idx]:
            augment(idx)
    if len(slot_of) == before:
        return None
    # Off-peak times, in order, take the chain's remaining accounts (any whose earliest
    # time has come: a later time suits them as well, so the order does not matter).
    spare = sorted(
        (p.candidate for p in placements if p.candidate not in slot_of),
        key=lambda i: candidates[i].earliest,
    )
    waiting: list[int] = []
    out: list[Placement] = []
    last_use: dict[str, int] = {}
    pos = 0
    for idx, p in enumerate(placements):
        t = p.at
        i = match[idx]
        interval = peak_of[idx]
        if i is None:
            while pos < len(spare) and candidates[spare[pos]].earliest <= t:
                waiting.append(spare[pos])
                pos += 1
            if not waiting:
                return None
            i = waiting.pop(0)
            interval = None
        cand = candidates[i]
        k = len(cand.variants)
        best = None
        for j in range(k):
            index = (cand.variant_offset + j) % k
            used = last_use.get(cand.variants[index].variant_id)
            if used is None:
                best = index
                break
            if used <= t - duplicate_gap and (
                best is None or used < last_use[cand.variants[best].variant_id]
            ):
                best = index
        if best is None:
            return None
        last_use[cand.variants[best].variant_id] = t
        out.append(Placement(i, t, best, interval))
    return out


def _smooth(
    placements: list[Placement],
    candidates: Sequence[Candidate],
    start: int,
    end: int,
    min_gap: int,
    max_gap: int,
    duplicate_gap: int,
    seed: int,
) -> None:
    """Spread posts evenly without breaking any rule (see the module docstring)."""
    count = len(placements)
    if count == 0:
        return
    times = [p.at for p in placements]
    lows: list[int] = []
    highs: list[int] = []
    for p in placements:
        earliest = max(start, candidates[p.candidate].earliest)
        if p.peak is not None:
            lows.append(max(earliest, p.peak[0]))
            highs.append(min(end, p.peak[1] - 1))
        else:
            lows.append(earliest)
            highs.append(end)
    prev_same = [-1] * count
    next_same = [-1] * count
    seen: dict[str, int] = {}
    for idx, p in enumerate(placements):
        vid = candidates[p.candidate].variants[p.variant].variant_id
        if vid in seen:
            prev_same[idx] = seen[vid]
            next_same[seen[vid]] = idx
        seen[vid] = idx
    rng = random.Random(seed)
    last = count - 1
    # Plain comparisons rather than min()/max() calls: this loop runs passes x posts times.
    # A pass that moves nothing is a fixed point (the next would repeat it exactly), so the
    # remaining smoothing passes are skipped and the jitter pass comes next.
    sweep = 0
    while sweep <= SMOOTHING_PASSES:
        jitter = sweep == SMOOTHING_PASSES
        moved = False
        for idx in range(count):
            lo = lows[idx]
            hi = highs[idx]
            if idx > 0:
                prev = times[idx - 1]
                if prev + min_gap > lo:
                    lo = prev + min_gap
                if prev + max_gap < hi:
                    hi = prev + max_gap
            if idx < last:
                nxt = times[idx + 1]
                if nxt - min_gap < hi:
                    hi = nxt - min_gap
                if nxt - max_gap > lo:
                    lo = nxt - max_gap
            same = prev_same[idx]
            if same >= 0 and times[same] + duplicate_gap > lo:
                lo = times[same] + duplicate_gap
            same = next_same[idx]
            if same >= 0 and times[same] - duplicate_gap < hi:
                hi = times[same] - duplicate_gap
            if jitter:
                target = times[idx] + rng.randint(-JITTER, JITTER)
            elif idx == 0:
                target = start if count > 1 else (start + end) // 2
            elif idx == last:
                target = end
            else:
                target = (times[idx - 1] + times[idx + 1]) // 2
            if lo <= hi:  # always true: the current time satisfies every bound
                at = hi if target > hi else lo if target < lo else target
                if at != times[idx]:
                    times[idx] = at
                    moved = True
        sweep = sweep + 1 if moved or jitter else SMOOTHING_PASSES
    for p, t in zip(placements, times, strict=True):
        p.at = t
