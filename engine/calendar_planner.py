"""Calendar mode (seed 001): a multi-day calendar of posts per account, on peak hours.

Rules, per account (each account is on one platform):
- posts only on its platform's local peak hours (weekend hours on Saturday and Sunday);
- never closer than the platform's `min_gap` (its last post included), and never more than
  `max_posts_per_day` in any 24 hours (a rolling window, so also per calendar day);
- identical caption+hashtags anywhere in the distribution at least `duplicate_gap` apart.

`velocity` is the target number of posts per account per day (default 1; 1.5 alternates
one and two; capped by the platform's `max_posts_per_day`). Day d is the 24 hours from
`start + d days`; an account's quota for day d is floor((d+1)v + p) - floor(dv + p), where
p in [0, 1) is a per-account phase so that fractional velocities do not make every
account post twice on the same days. When peaks, gaps or caps allow fewer posts than the
velocity asks for, the plan says so in `warnings`.

Within a day, candidate peak hours are tried in a per-account rotated order (so accounts
spread over all of a platform's peaks instead of piling onto the first), or by trend
score first when the request is `trend_weighted`. Each account posts at a fixed minute
offset (0-49) inside the hour, moved forward a minute at a time (staying inside the peak
hour) when every caption variant is taken within `duplicate_gap`.
"""

from __future__ import annotations

import math
import zlib
from bisect import bisect_left, bisect_right, insort
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import accumulate, pairwise

from engine.calendar_slots import BLOCKED, DAY, HOUR, CaptionSpacing, place
from engine.calendar_timeline import Timeline, collector_paused
from engine.captions import Variant, caption_variants
from engine.eligibility import Eligible, gate_accounts
from engine.models import Account, PlanResult, Unscheduled
from engine.peaks import peak_hours_by_weekday, peak_intervals, zone
from engine.platforms import PlatformRules, PlatformTable
from engine.ports import Trend
from engine.request import DistributionRequest
from engine.selection import select_accounts
from engine.trends import hourly_scores

OFFSETS = 50  # an account posts (crc32 of its id % 50) minutes into its peak hours
MAX_OFFSET = (OFFSETS - 1) * 60


def daily_quota(velocity: float, day: int, phase: float, cap: int) -> int:
    """Posts asked of one account on day `day` (see the module docstring)."""
    return min(cap, math.floor((day + 1) * velocity + phase) - math.floor(day * velocity + phase))


def _quotas(velocity: float, days: int, phase: float, cap: int) -> list[int]:
    """`daily_quota` for each day, from one floor per day boundary instead of two."""
    floors = [math.floor(day * velocity + phase) for day in range(days + 1)]
    return [min(cap, b - a) for a, b in pairwise(floors)]


def _hour_starts(tz: str, intervals: tuple[tuple[int, int], ...]) -> list[int]:
    """UTC starts of the local peak hours: an interval clipped at the calendar's start may
    begin mid-hour, so each is snapped back to its local hour boundary first."""
    zi = zone(tz)
    starts: list[int] = []
    for a, b in intervals:
        local = datetime.fromtimestamp(a, UTC).astimezone(zi)
        starts.extend(range(a - local.minute * 60 - local.second, b, HOUR))
    return starts


@dataclass(slots=True)
class _PeakHours:
    """A zone's peak hour starts (UTC) on one platform, and where each day starts among
    them (`_Week._bounds`): one list for every minute offset when they agree, else one per
    offset as accounts need them."""

    hours: list[int]
    ascending: bool
    bounds: list[int] | None
    by_offset: dict[int, list[int]] = field(default_factory=dict)


@dataclass(slots=True)
class _Platform:
    """What every account on one platform shares: its rules, peak hours and trend scores,
    and per language the caption variants of each item (`sizes`: how many, at least 1)."""

    rules: PlatformRules
    peaks: tuple[frozenset[int], ...]
    gap: int
    cap: int
    trend: tuple[float, ...]
    choices: dict[str, tuple[list[tuple[Variant, ...]], list[int]]] = field(default_factory=dict)


class _Week:
    """The calendar's shared state: caption spacing across accounts, the tallies for the
    warnings, and what is computed once per platform, zone or phase instead of per account."""

    def __init__(self, request: DistributionRequest, trends: Sequence[Trend], rotation: int):
        self.request = request
        self.trends = trends
        self.rotation = rotation
        self.start = start = math.ceil(request.start.timestamp())
        self.end = math.floor(request.end.timestamp())
        origin = start - start % 60
        dup = math.ceil(request.duplicate_gap.total_seconds() / 60)
        self.spacing = CaptionSpacing(origin, (self.end - origin) // 60 + 2, dup)
        self.items = request.items
        self.repeat = request.max_per_account
        self.budget = len(self.items) * self.repeat
        self.by_trend = request.trend_weighted and bool(trends)
        self.platforms: dict[str, _Platform] = {}
        self.hours: dict[tuple[str, str], _PeakHours] = {}
        self.day_starts = [start + d * DAY for d in range(request.days + 1)]
        self.quotas: dict[tuple[int, int], tuple[list[int], int, int] | None] = {}
        self.asked_posts = self.placed_posts = self.queue_cut = 0
        self.short: dict[str, int] = {}

    def platform(self, name: str, rules: PlatformRules, language: str) -> _Platform:
        p = self.platforms.get(name)
        if p is None:
            p = self.platforms[name] = _Platform(
                rules,
                peak_hours_by_weekday(rules),
                math.ceil(rules.min_gap.total_seconds()),
                rules.max_posts_per_day,
                hourly_scores(self.trends, name),
            )
        if language not in p.choices:
            choices = [caption_variants(item, rules, language) for item in self.items]
            p.choices[language] = (choices, [max(1, len(v)) for v in choices])
        return p

    def day_quotas(self, crc: int, cap: int) -> tuple[list[int], int, int] | None:
        """Per day the posts asked of an account with this phase and cap, the velocity's
        ask, and how many of those the queue cuts; None when the velocity asks for none."""
        key = (crc % 1000, cap)
        if key in self.quotas:
            return self.quotas[key]
        phase = (crc % 1000) / 1000
        quotas = _quotas(self.request.velocity, self.request.days, phase, cap)
        found: tuple[list[int], int, int] | None = None
        if any(quotas):
            asked = sum(quotas)
            cut = 0
            if asked > self.budget:
                # Each item at most `repeat` times per account: spread the posts the queue
                # allows evenly over the days instead of front-loading them.
                cut = asked - self.budget
                days = self.request.days
                quotas = _quotas(self.budget / days, days, phase, cap)
            found = (quotas, asked, cut)
        self.quotas[key] = found
        return found

    def by_day(
        self, tz: str, name: str, p: _Platform, offset: int, earliest: int
    ) -> tuple[list[int], list[int], bool]:
        """The peak hours whose post minute (hour + offset) falls between the account's
        earliest time and the end, by day: day d's are `hours[starts[d]:starts[d + 1]]`
        (one day more at the end, for the calendar's last second when it starts a day), and
        whether the hours ascend. Indices rather than lists per day: these are shared,
        never mutate them."""
        peak = self.hours.get((tz, name))
        if peak is None:
            peak = self.hours[(tz, name)] = self._peak_hours(tz, p)
        hours = peak.hours
        if not peak.ascending:
            # Hours not strictly ascending (no modern zone does this): scan them.
            start, end, days = self.start, self.end, self.request.days
            out: list[list[int]] = [[] for _ in range(days + 1)]
            for h in hours:
                t = h + offset
                if earliest <= t <= end:
                    out[min(days, (t - start) // DAY)].append(h)
            flat = [h for day in out for h in day]
            return flat, [0, *accumulate(len(day) for day in out)], False
        bounds = peak.bounds
        if bounds is None:
            bounds = peak.by_offset.get(offset)
            if bounds is None:
                bounds = peak.by_offset[offset] = self._bounds(hours, offset)
        lo = bisect_left(hours, earliest - offset)
        if lo <= bounds[0]:
            return hours, bounds, True
        # An account free only later in the calendar (recent post, rate limit): the days
        # before its earliest time are empty, the day it falls on starts there.
        return hours, [max(lo, b) for b in bounds], True

    def _peak_hours(self, tz: str, p: _Platform) -> _PeakHours:
        hours = _hour_starts(tz, peak_intervals(tz, p.peaks, self.start, self.end))
        ascending = all(a < b for a, b in pairwise(hours))
        # The day starts do not depend on the minute offset when no hour begins within
        # the largest offset before a day boundary or the end (then one split serves all).
        late = MAX_OFFSET
        shared = ascending and not any(
            bisect_left(hours, x - late) != bisect_left(hours, x) for x in self.day_starts
        )
        shared = shared and bisect_right(hours, self.end - late) == bisect_right(hours, self.end)
        return _PeakHours(hours, ascending, self._bounds(hours, 0) if shared else None)

    def _bounds(self, hours: list[int], offset: int) -> list[int]:
        """Where each day starts among `hours` for accounts posting `offset` into the
        hour; the last entry: the end of those that fit before the calendar's end."""
        hi = bisect_right(hours, self.end - offset)
        bounds = [bisect_left(hours, x - offset, 0, hi) for x in self.day_starts]
        bounds.append(hi)
        return bounds

    def plan_account(
        self, account: Account, e: Eligible
    ) -> tuple[list[int], list[int], _Platform] | str:
        """The account's posts as flat (time, item, variant) triples with every time it
        posts at (sorted, its last post included), or why it gets none."""
        p = self.platform(account.platform, e.rules, e.language)
        crc = zlib.crc32(account.id.encode())
        offset = (crc % OFFSETS) * 60
        start = self.start
        earliest = max(start, math.ceil(e.earliest.timestamp()))
        choices, sizes = p.choices[e.language]
        items = len(self.items)
        repeat = self.repeat
        uses = [0] * items
        item_start = (crc + self.rotation) % items
        gap = p.gap
        cap = p.cap
        end = self.end
        spacing = self.spacing
        hours, starts, ascending = self.by_day(
            account.timezone, account.platform, p, offset, earliest
        )
        accepted: list[int] = []
        if account.last_posted_at is not None:
            accepted.append(math.floor(account.last_posted_at.timestamp()))
        # (time, item, variant) of each post, flat: tuples kept per post would add as many
        # long-lived objects as there are slots for the garbage collector to walk.
        mine: list[int] = []
        posts = 0
        planned = self.day_quotas(crc, cap)
        if planned is None:
            return _no_quota_reason(self.request)
        quotas, asked, cut = planned
        self.asked_posts += asked
        self.queue_cut += cut
        short = total = 0
        trend = p.trend
        rotation = self.rotation
        by_trend = self.by_trend
        for day, quota in enumerate(quotas):
            if not quota:
                continue
            first = starts[day]
            size = starts[day + 1] - first
            if size <= 0:
                short += quota
                continue
            turn = (crc + day + rotation) % size
            # A day whose peak hours all lie within the min gap of each other holds one
            # post: once it has it, every other hour would come back BLOCKED.
            one_a_day = False
            if quota > 1 and size > 1:
                if ascending:
                    span = hours[first + size - 1] - hours[first] + HOUR - 1
                else:
                    span = _span(hours[first : first + size])
                one_a_day = span < gap
            # The day's hours from `turn` on, wrapping round (or strongest trend first):
            # indices rather than a rotated copy, which would be made for every account-day.
            ordered = hours
            if by_trend:
                today = hours[first + turn : first + size] + hours[first : first + turn]
                ordered = sorted(today, key=lambda h: -trend[(h // HOUR) % 24])
                first = turn = 0
            got = 0
            for i in range(turn, turn + size):
                if got >= quota or (got and one_a_day):
                    break
                h = ordered[first + i % size]
                for j in range(items):
                    index = (item_start + posts + j) % items
                    if uses[index] >= repeat:
                        continue
                    variants = choices[index]
                    placed = place(
                        h, offset, earliest, end, accepted, gap, cap,
                        variants, crc % sizes[index], spacing,
                    )  # fmt: skip
                    if placed is BLOCKED:
                        break
                    if placed is not None:
                        insort(accepted, placed[0])
                        mine += placed[0], index, placed[1]
                        posts += 1
                        uses[index] += 1
                        got += 1
                        break
            total += got
            short += quota - got
        self.placed_posts += total
        if short:
            self.short[account.platform] = self.short.get(account.platform, 0) + short
        if not mine:
            return _empty_reason(starts, quotas)
        return mine, accepted, p


def plan_calendar(
    request: DistributionRequest,
    accounts: Sequence[Account],
    *,
    platforms: PlatformTable,
    trends: Sequence[Trend] = (),
    rotation: int = 0,
    max_risk: float = 0.8,
) -> PlanResult:
    """Plan a calendar-mode request; see the module docstring. Pure and deterministic."""

    top_rate = max(
        min(platforms[p].max_posts_per_day, math.ceil(request.velocity)) for p in request.platforms
    )
    eligible, unscheduled, warnings = gate_accounts(
        request,
        accounts,
        platforms,
        max_risk=max_risk,
        posts_in_window=top_rate,
    )
    by_id = {e.account.id: e for e in eligible}
    asked = request.account_count
    if asked is not None and asked > len(eligible):
        warnings.append(f"asked for {asked} accounts; only {len(eligible)} are eligible")
    chosen, not_chosen = select_accounts(
        [e.account for e in eligible], asked, now=request.start, rotation=rotation
    )
    # Selection order, spares last: an account that gets no post does not count against
    # account_count, the next one takes its turn.
    order = chosen + not_chosen
    wanted = len(chosen)
    week = _Week(request, trends, rotation)
    timeline = Timeline(request.items)
    with collector_paused():
        for rank, account in enumerate(order):
            if timeline.posters == wanted:
                why = f"not selected: {asked} of {len(eligible)} eligible accounts were asked for"
                unscheduled += [Unscheduled(a.id, why) for a in order[rank:]]
                break
            e = by_id[account.id]
            planned = week.plan_account(account, e)
            if isinstance(planned, str):
                unscheduled.append(Unscheduled(account.id, planned))
                continue
            mine, times, p = planned
            timeline.add(
                account,
                e.language,
                mine,
                times,
                p.choices[e.language][0],
                p.trend,
                e.rules,
                e.base_risk,
            )
        slots = timeline.slots()
    if week.queue_cut:
        items = request.items
        warnings.append(
            f"velocity {request.velocity:g} asks for {week.queue_cut} more posts than the "
            f"queue allows: {len(items)} item(s) x max_per_account {request.max_per_account} "
            "per account; add items to the queue or raise max_per_account"
        )
        week.asked_posts -= week.queue_cut
    if week.placed_posts < week.asked_posts:
        warnings.append(
            f"velocity {request.velocity:g} asks for {week.asked_posts} posts; peak hours, min "
            f"gaps, daily caps and caption spacing allow {week.placed_posts} (short: "
            + ", ".join(f"{p} {n}" for p, n in sorted(week.short.items(), key=lambda i: -i[1]))
            + ")"
        )
    if not slots and not warnings:
        warnings.append("no eligible account on the requested platforms")
    return PlanResult(slots=slots, unscheduled=unscheduled, warnings=warnings)


def _span(hours: list[int]) -> int:
    """The most seconds between two posts in these peak hours (each anywhere in its hour)."""
    return max(hours) - min(hours) + HOUR - 1


def _no_quota_reason(request: DistributionRequest) -> str:
    return (
        f"velocity {request.velocity:g} (posts per account per day) gives this account no "
        f"post in the {request.days}-day calendar"
    )


def _empty_reason(starts: list[int], quotas: list[int]) -> str:
    if starts[0] == starts[-1]:
        days = len(quotas)
        return f"no peak hour in the {days}-day calendar after its earliest allowed time"
    if not any(quota and starts[day + 1] > starts[day] for day, quota in enumerate(quotas)):
        return "its peak hours fall on none of the days its velocity share gives it a post"
    return "every peak hour was taken by its min gap, daily cap or identical captions nearby"
