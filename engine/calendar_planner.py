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
from collections.abc import Sequence
from datetime import UTC, datetime

from engine.captions import Variant, caption_variants
from engine.eligibility import gate_accounts
from engine.models import Account, PlannedSlot, PlanResult, RiskLevel, Unscheduled
from engine.peaks import peak_hours_by_weekday, peak_intervals, zone
from engine.platforms import PlatformTable
from engine.ports import Trend
from engine.request import DistributionRequest
from engine.risk import account_base_risk, velocity_risk
from engine.selection import select_accounts
from engine.trends import hourly_scores

DAY = 86_400
HOUR = 3_600
BLOCKED = (-1, -1)  # `_place`: the hour is ruled out for the account, whatever the item


def daily_quota(velocity: float, day: int, phase: float, cap: int) -> int:
    """Posts asked of one account on day `day` (see the module docstring)."""
    return min(cap, math.floor((day + 1) * velocity + phase) - math.floor(day * velocity + phase))


def _hour_starts(tz: str, intervals: tuple[tuple[int, int], ...]) -> list[int]:
    """UTC starts of the local peak hours: an interval clipped at the calendar's start may
    begin mid-hour, so each is snapped back to its local hour boundary first."""
    zi = zone(tz)
    starts: list[int] = []
    for a, b in intervals:
        local = datetime.fromtimestamp(a, UTC).astimezone(zi)
        starts.extend(range(a - local.minute * 60 - local.second, b, HOUR))
    return starts


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
    posting = 0
    start = math.ceil(request.start.timestamp())
    end = math.floor(request.end.timestamp())
    origin = start - start % 60
    minutes = (end - origin) // 60 + 2
    dup = math.ceil(request.duplicate_gap.total_seconds() / 60)
    spacing = CaptionSpacing(origin, minutes, dup)
    hours_cache: dict[tuple[str, tuple[frozenset[int], ...]], list[int]] = {}
    trend_tables: dict[str, tuple[float, ...]] = {}
    risk_cache: dict[tuple[str, int], float] = {}
    slots: list[tuple[int, int, PlannedSlot]] = []
    asked_posts = placed_posts = 0
    short: dict[str, int] = {}
    content_type = request.content.type
    items = request.items
    repeat = request.max_per_account
    budget = len(items) * repeat
    queue_cut = 0
    choice_cache: dict[tuple[str, str], list[tuple[Variant, ...]]] = {}

    for rank, account in enumerate(order):
        if posting == wanted:
            unscheduled += [
                Unscheduled(
                    a.id,
                    f"not selected: {asked} of {len(eligible)} eligible accounts were asked for",
                )
                for a in order[rank:]
            ]
            break
        e = by_id[account.id]
        rules = e.rules
        peaks = peak_hours_by_weekday(rules)
        key = (account.timezone, peaks)
        if key not in hours_cache:
            hours_cache[key] = _hour_starts(
                account.timezone, peak_intervals(account.timezone, peaks, start, end)
            )
        crc = zlib.crc32(account.id.encode())
        offset = (crc % 50) * 60
        phase = (crc % 1000) / 1000
        earliest = max(start, math.ceil(e.earliest.timestamp()))
        if account.platform not in trend_tables:
            trend_tables[account.platform] = hourly_scores(trends, account.platform)
        trend = trend_tables[account.platform]
        ckey = (rules.name, e.language)
        if ckey not in choice_cache:
            choice_cache[ckey] = [caption_variants(item, rules, e.language) for item in items]
        choices = choice_cache[ckey]
        firsts = [crc % max(1, len(v)) for v in choices]  # = account_offset, crc reused
        uses = [0] * len(items)
        item_start = (crc + rotation) % len(items)
        gap = math.ceil(rules.min_gap.total_seconds())
        cap = rules.max_posts_per_day
        by_day: dict[int, list[int]] = {}
        for h in hours_cache[key]:
            t = h + offset
            if earliest <= t <= end:
                by_day.setdefault((t - start) // DAY, []).append(h)
        accepted: list[int] = []
        if account.last_posted_at is not None:
            accepted.append(math.floor(account.last_posted_at.timestamp()))
        mine: list[tuple[int, int, int]] = []  # (time, item, variant)
        quotas = [daily_quota(request.velocity, day, phase, cap) for day in range(request.days)]
        if not any(quotas):
            unscheduled.append(Unscheduled(account.id, _no_quota_reason(request)))
            continue
        asked_posts += sum(quotas)
        if sum(quotas) > budget:
            # Each item at most `repeat` times per account: spread the posts the queue
            # allows evenly over the days instead of front-loading them.
            queue_cut += sum(quotas) - budget
            quotas = [
                daily_quota(budget / request.days, d, phase, cap) for d in range(request.days)
            ]
        for day, quota in enumerate(quotas):
            hours = by_day.get(day, [])
            if not quota or not hours:
                if quota:
                    short[account.platform] = short.get(account.platform, 0) + quota
                continue
            turn = (crc + day + rotation) % len(hours)
            ordered = hours[turn:] + hours[:turn]
            if request.trend_weighted and trends:
                ordered.sort(key=lambda h: -trend[(h // HOUR) % 24])
            got = 0
            for h in ordered:
                if got >= quota:
                    break
                k = len(mine)
                for j in range(len(items)):
                    index = (item_start + k + j) % len(items)
                    if uses[index] >= repeat:
                        continue
                    placed = _place(
                        h,
                        offset,
                        earliest,
                        end,
                        accepted,
                        gap,
                        cap,
                        choices[index],
                        firsts[index],
                        spacing,
                    )
                    if placed is BLOCKED:
                        break
                    if placed is not None:
                        accepted.append(placed[0])
                        mine.append((placed[0], index, placed[1]))
                        uses[index] += 1
                        got += 1
                        break
            placed_posts += got
            if got < quota:
                short[account.platform] = short.get(account.platform, 0) + quota - got
        if not mine:
            unscheduled.append(Unscheduled(account.id, _empty_reason(by_day, quotas, request.days)))
            continue
        posting += 1
        zi = zone(account.timezone)
        times = sorted(accepted)
        for t, index, v in mine:
            n = sum(1 for x in times if t - DAY < x <= t)
            rk = (account.id, n)
            if rk not in risk_cache:
                risk_cache[rk] = round(
                    min(
                        1.0,
                        account_base_risk(account, rules, content_type=content_type)
                        + velocity_risk(n, rules),
                    ),
                    3,
                )
            risk = risk_cache[rk]
            caption, hashtags, vid = choices[index][v]
            when = datetime.fromtimestamp(t, UTC)
            slots.append(
                (
                    t,
                    rank,
                    PlannedSlot(
                        account_id=account.id,
                        platform=account.platform,
                        language=e.language,
                        scheduled_at=when,
                        local_time=when.astimezone(zi),
                        caption=caption,
                        hashtags=hashtags,
                        risk_score=risk,
                        risk_level=RiskLevel.from_score(risk),
                        trend_score=trend[(t // HOUR) % 24],
                        content_type=items[index].type,
                        variant_id=vid,
                        content_id=items[index].id,
                    ),
                )
            )
    slots.sort(key=lambda item: (item[0], item[1]))
    if queue_cut:
        warnings.append(
            f"velocity {request.velocity:g} asks for {queue_cut} more posts than the queue "
            f"allows: {len(items)} item(s) x max_per_account {repeat} per account; add items "
            "to the queue or raise max_per_account"
        )
        asked_posts -= queue_cut
    if placed_posts < asked_posts:
        warnings.append(
            f"velocity {request.velocity:g} asks for {asked_posts} posts; peak hours, min gaps, "
            f"daily caps and caption spacing allow {placed_posts} (short: "
            + ", ".join(f"{p} {n}" for p, n in sorted(short.items(), key=lambda i: -i[1]))
            + ")"
        )
    if not slots and not warnings:
        warnings.append("no eligible account on the requested platforms")
    return PlanResult(slots=[s for _, _, s in slots], unscheduled=unscheduled, warnings=warnings)


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
        if self.dup <= 0:
            return lo, first
        memo = (id(variants), hi)
        if self.full_from.get(memo, hi + 1) <= lo:
            return None
        dup = self.dup
        # Arrays are padded by `dup` minutes at the front, so no bound checks are needed.
        b_lo = (lo - self.origin) // 60 + dup
        b_hi = (hi - self.origin) // 60 + dup
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
                    return self.origin + (b - dup) * 60, index
                b = hit + dup
        self.full_from[memo] = lo
        return None

    def take(self, vid: str, t: int) -> None:
        occ = self.used.get(vid)
        if occ is None:
            occ = self.used[vid] = bytearray(self.minutes + 2 * self.dup)
        occ[(t - self.origin) // 60 + self.dup] = 1


def _place(
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
    daily cap rules the hour out (no item can)."""
    t = max(hour + offset, earliest + (-(earliest - hour - offset) % 60))
    last = min(hour + HOUR - 1, end)
    captions = False
    while t <= last:
        blocked = next((x for x in accepted if abs(t - x) < gap), None)
        if blocked is not None:
            t = blocked + gap + (-(blocked + gap - t) % 60)
            continue
        if sum(1 for x in accepted if abs(t - x) < DAY) >= cap:
            return BLOCKED
        found = spacing.first_free(variants, first_variant, t, last)
        if found is None:
            return None
        if found[0] != t and any(abs(found[0] - x) < gap for x in accepted):
            t = found[0]
            captions = True
            continue
        spacing.take(variants[found[1]].variant_id, found[0])
        return found
    return None if captions else BLOCKED


def _no_quota_reason(request: DistributionRequest) -> str:
    return (
        f"velocity {request.velocity:g} (posts per account per day) gives this account no "
        f"post in the {request.days}-day calendar"
    )


def _empty_reason(by_day: dict[int, list[int]], quotas: list[int], days: int) -> str:
    if not by_day:
        return f"no peak hour in the {days}-day calendar after its earliest allowed time"
    if not any(quota and day in by_day for day, quota in enumerate(quotas)):
        return "its peak hours fall on none of the days its velocity share gives it a post"
    return "every peak hour was taken by its min gap, daily cap or identical captions nearby"
