"""The planner's entry point: a request and accounts in, slots, left-outs and warnings out.

Pure and deterministic: the same request (its `seed` included), accounts, rules, trends
and `rotation` always give the same plan. Window mode is `engine.scheduling`, calendar
mode `engine.calendar_planner`; both share eligibility, risk gating and captions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from engine.calendar_planner import plan_calendar
from engine.captions import account_offset, caption_variants
from engine.durations import format_duration
from engine.eligibility import gate_accounts
from engine.errors import InvalidRequest
from engine.models import Account, PlannedSlot, PlanResult, RiskLevel, Unscheduled
from engine.peaks import peak_hours_by_weekday, peak_intervals, zone
from engine.platforms import DEFAULT_PLATFORMS, PlatformTable
from engine.ports import Trend
from engine.request import DistributionRequest
from engine.scheduling import Candidate, schedule_window
from engine.selection import select_accounts
from engine.trends import hourly_scores


def check_request(request: DistributionRequest, platforms: PlatformTable) -> None:
    """Raise InvalidRequest for what the request model cannot know (the platform table)."""
    for name in request.platforms:
        if name not in platforms:
            known = ", ".join(sorted(platforms.names()))
            raise InvalidRequest("platforms", f"unknown platform {name!r} (known: {known})")
    if request.mode == "window" and math.floor(request.max_gap.total_seconds()) < math.ceil(
        request.min_gap.total_seconds()
    ):
        raise InvalidRequest("max_gap_minutes", "must be at least min_gap (to the second)")


def plan_distribution(
    request: DistributionRequest,
    accounts: Sequence[Account],
    *,
    platforms: PlatformTable = DEFAULT_PLATFORMS,
    trends: Sequence[Trend] = (),
    rotation: int = 0,
    max_risk: float = 0.8,
) -> PlanResult:
    """Plan `request` over `accounts`. Slots at or above `max_risk` (and every CRITICAL
    one) go to `unscheduled` with the reason. Raises InvalidRequest / InvalidInput."""
    check_request(request, platforms)
    if request.mode == "calendar":
        return plan_calendar(
            request,
            accounts,
            platforms=platforms,
            trends=trends,
            rotation=rotation,
            max_risk=max_risk,
        )
    return _plan_window(request, accounts, platforms, trends, rotation, max_risk)


def _plan_window(
    request: DistributionRequest,
    accounts: Sequence[Account],
    platforms: PlatformTable,
    trends: Sequence[Trend],
    rotation: int,
    max_risk: float,
) -> PlanResult:
    eligible, unscheduled, warnings = gate_accounts(request, accounts, platforms, max_risk=max_risk)
    by_id = {e.account.id: e for e in eligible}
    asked = request.account_count
    if asked is not None and asked > len(eligible):
        warnings.append(f"asked for {asked} accounts; only {len(eligible)} are eligible")
    chosen, not_chosen = select_accounts(
        [e.account for e in eligible], asked, now=request.start, rotation=rotation
    )
    for account in not_chosen:
        unscheduled.append(
            Unscheduled(
                account.id,
                f"not selected: {asked} of {len(eligible)} eligible accounts were asked for "
                "(tiers balanced, rotated across distributions)",
            )
        )
    start = math.ceil(request.start.timestamp())
    end = math.floor(request.end.timestamp())
    min_gap = math.ceil(request.min_gap.total_seconds())
    max_gap = math.floor(request.max_gap.total_seconds())
    dup_gap = math.ceil(request.duplicate_gap.total_seconds())
    candidates = []
    trend_tables: dict[str, tuple[float, ...]] = {
        name: hourly_scores(trends, name) for name in request.platforms
    }
    for account in chosen:
        e = by_id[account.id]
        variants = caption_variants(request.content, e.rules, e.language)
        candidates.append(
            Candidate(
                key=account.id,
                earliest=max(start, math.ceil(e.earliest.timestamp())),
                peaks=peak_intervals(account.timezone, peak_hours_by_weekday(e.rules), start, end),
                variants=variants,
                variant_offset=account_offset(account.id, len(variants)),
                trend=trend_tables[account.platform] if request.trend_weighted else (),
            )
        )
    result = schedule_window(
        candidates,
        start=start,
        end=end,
        min_gap=min_gap,
        max_gap=max_gap,
        duplicate_gap=dup_gap,
        seed=request.seed,
    )
    slots: list[PlannedSlot] = []
    for placement in sorted(result.placements, key=lambda p: p.at):
        e = by_id[candidates[placement.candidate].key]
        caption, hashtags, vid = candidates[placement.candidate].variants[placement.variant]
        when = datetime.fromtimestamp(placement.at, UTC)
        platform = e.account.platform
        slots.append(
            PlannedSlot(
                account_id=e.account.id,
                platform=platform,
                language=e.language,
                scheduled_at=when,
                local_time=when.astimezone(zone(e.account.timezone)),
                caption=caption,
                hashtags=hashtags,
                risk_score=e.risk,
                risk_level=RiskLevel.from_score(e.risk),
                trend_score=trend_tables[platform][when.hour],
                content_type=request.content.type,
                variant_id=vid,
            )
        )
    if result.left_out:
        wanted = len(candidates)
        need = (wanted - 1) * min_gap
        capacity = (end - start) // min_gap + 1 if min_gap else len(candidates)
        if need > end - start and len(slots) >= capacity:
            why = (
                f"{wanted} accounts need at least {format_duration(timedelta(seconds=need))} "
                f"at a {format_duration(request.min_gap)} gap; the window is "
                f"{format_duration(request.spread)}"
            )
        elif set(result.left_out.values()) == {"gap"}:
            why = (
                "no account could post within max_gap "
                f"({format_duration(request.max_gap)}) of the previous post: their earliest "
                "times leave a longer hole"
            )
        else:
            kinds = min(len(c.variants) for c in candidates)
            why = (
                f"identical captions must be {format_duration(request.duplicate_gap)} apart "
                f"and the content yields as few as {kinds} caption variant(s), so the window "
                "holds fewer posts"
            )
        warnings.append(f"{len(result.left_out)} of {wanted} selected accounts left out: {why}")
        for i in sorted(result.left_out):
            unscheduled.append(Unscheduled(candidates[i].key, f"no room: {why}"))
    if not slots and not warnings:
        warnings.append("no eligible account on the requested platforms")
    return PlanResult(slots=slots, unscheduled=unscheduled, warnings=warnings)


def plan_to_dict(result: PlanResult) -> dict[str, object]:
    """The `herald plan --json` shape."""
    problems: dict[int, list[str]] = {}
    for issue in result.media_issues:
        for index in issue.slots:
            problems.setdefault(index, []).append(issue.reason)
    return {
        "slots": [
            {
                "account_id": s.account_id,
                "platform": s.platform,
                "language": s.language,
                "scheduled_at": s.scheduled_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "local_time": s.local_time.isoformat(),
                "caption": s.caption,
                "hashtags": list(s.hashtags),
                "risk_score": s.risk_score,
                "risk_level": s.risk_level.value,
                "trend_score": s.trend_score,
                "content_type": s.content_type,
                "variant_id": s.variant_id,
                "media_problems": problems.get(i, []),
            }
            for i, s in enumerate(result.slots)
        ],
        "unscheduled": [
            {"account_id": u.account_id, "reason": u.reason} for u in result.unscheduled
        ],
        "warnings": list(result.warnings),
        "media_issues": [
            {
                "platform": m.platform,
                "content_type": m.content_type,
                "account_id": m.account_id,
                "reason": m.reason,
                "slots": list(m.slots),
            }
            for m in result.media_issues
        ],
    }
