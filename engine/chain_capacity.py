"""How many accounts one window-mode chain can hold, and which ones (in selection order).

A chain of m posts in [start, end], consecutive posts min_gap..max_gap apart, each account
not before its earliest time e, exists iff (m - 1) * min_gap <= end - start and the
accounts' earliest times, sorted, satisfy e_(j) <= end - (m - j) * min_gap: the chain may
wait, so packing every post at min_gap against the end is always a valid last resort, and
max_gap never limits the count. Position j of that packing takes any account with
e <= P_j; the positions are nested, so the sets of accounts that fit form a (transversal)
matroid and taking accounts greedily in selection order, skipping one that no longer fits,
ends with a largest set: an account that cannot be placed is replaced by the next one.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence


def chain_capacity(earliest: Sequence[int], *, start: int, end: int, min_gap: int) -> int:
    """The most accounts (with these earliest times) one chain can hold."""
    if end < start:
        return 0
    times = sorted(max(start, e) for e in earliest if e <= end)
    room = len(times) if min_gap <= 0 else min(len(times), (end - start) // min_gap + 1)
    # The m earliest accounts are the best m. They fit iff times[j] <= end - (m-1-j) gap
    # for every j < m, i.e. max_j(times[j] - j gap) + (m-1) gap <= end: a running maximum,
    # and once some m fails every larger one does.
    fits = 0
    worst = times[0] if times else 0
    for j in range(room):
        shifted = times[j] - j * min_gap
        if shifted > worst:
            worst = shifted
        if worst + j * min_gap > end:
            break
        fits = j + 1
    return fits


def pick_for_chain(
    earliest: Sequence[int], target: int, *, end: int, min_gap: int
) -> tuple[list[int], list[int]]:
    """Indices (into `earliest`, given in selection order) of `target` accounts that fit one
    chain, greedily in that order, and the indices passed over because they did not fit.
    `target` must not exceed `chain_capacity`; the rest of the order is not looked at."""
    picked: list[int] = []
    skipped: list[int] = []
    first_position = end - (target - 1) * max(0, min_gap)
    late: list[int] = []  # earliest times of picked accounts that do not fit every position
    for index, e in enumerate(earliest):
        if len(picked) == target:
            break
        if e <= first_position:
            picked.append(index)
            continue
        trial = late.copy()
        bisect.insort(trial, e)
        # The k-th latest account needs a position P <= end - k * min_gap (k from 0).
        if all(t <= end - k * min_gap for k, t in enumerate(reversed(trial))):
            late = trial
            picked.append(index)
        else:
            skipped.append(index)
    return picked, skipped
