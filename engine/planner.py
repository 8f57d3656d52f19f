"""The planner's entry point: a request and accounts in, slots, left-outs and warnings out.

Pure and deterministic: the same request (its `seed` included), accounts, rules, trends
and `rotation` always give the same plan. Window mode is `engine.scheduling`, calendar
mode `engine.calendar_planner`; both share eligibility, risk gating and captions.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from operator import attrgetter
from typing import Any, Protocol

from engine.calendar_planner import plan_calendar
from engine.captions import Variant, account_offset, caption_variants, distinct_captions
from engine.chain_capacity import chain_capacity, pick_for_chain
from engine.durations import format_duration
from engine.eligibility import gate_accounts
from engine.errors import InvalidRequest
from engine.models import Account, PlannedSlot, PlanResult, RiskLevel, Unscheduled
from engine.peaks import peak_hours_by_weekday, peak_intervals, zone
from engine.planned_slots import planned_slot
from engine.platforms import DEFAULT_PLATFORMS, PlatformTable
from engine.ports import Trend
from engine.repurpose import CONVERSIONS
from engine.request import DistributionRequest
from engine.scheduling import Candidate, schedule_window
from engine.selection import select_accounts
from engine.trends import hourly_scores

# Seed 000: never the same content on 2+ accounts within 5 minutes. Only the operator
# setting HERALD_DUPLICATE_GAP_FLOOR_MINUTES (tests and demos) may lower it.
DUPLICATE_GAP_FLOOR_MINUTES = 5.0


def check_request(
    request: DistributionRequest,
    platforms: PlatformTable,
    *,
    duplicate_floor_minutes: float = DUPLICATE_GAP_FLOOR_MINUTES,
) -> None:
    """Raise InvalidRequest for what the request model cannot know (the platform table,
    the operator's duplicate-gap floor)."""
    if request.unresolved:
        raise InvalidRequest(
            "queue",
            "names content library items not yet read from the library: a distribution's "
            "create reads them, and `herald plan` from --library FILE or the library in "
            "HERALD_DATABASE_URL",
        )
    if request.duplicate_gap_minutes < duplicate_floor_minutes:
        raise InvalidRequest(
            "duplicate_gap_minutes",
            f"{request.duplicate_gap_minutes:g} is below the {duplicate_floor_minutes:g}-minute "
            "floor: the same text never goes to two accounts within "
            f"{duplicate_floor_minutes:g} minutes (seed 000 rule)",
        )
    for name in request.platforms:
        if name not in platforms:
            known = ", ".join(sorted(platforms.names()))
            raise InvalidRequest("platforms", f"unknown platform {name!r} (known: {known})")
    known_types = {t for n in platforms.names() for t in platforms[n].content_types}
    known_types |= {source for source, _ in CONVERSIONS}  # image, text: repurposed
    for index, item in enumerate(request.items):
        if item.type not in known_types:
            # A typo ("vidoe") would be planned everywhere with a small risk bump and posted.
            field = f"queue.{index}.type" if request.queue else "content.type"
            raise InvalidRequest(
                field,
                f"{item.type[:40]!r} is no content type Herald knows "
                f"(known: {', '.join(sorted(known_types))})",
            )
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
    duplicate_floor_minutes: float = DUPLICATE_GAP_FLOOR_MINUTES,
) -> PlanResult:
    """Plan `request` over `accounts`. Slots at or above `max_risk` (and every CRITICAL
    one) go to `unscheduled` with the reason. Raises InvalidRequest (a duplicate gap below
    `duplicate_floor_minutes` included) / InvalidInput."""
    check_request(request, platforms, duplicate_floor_minutes=duplicate_floor_minutes)
    if request.mode == "calendar":
        result = plan_calendar(
            request,
            accounts,
            platforms=platforms,
            trends=trends,
            rotation=rotation,
            max_risk=max_risk,
        )
    else:
        result = _plan_window(request, accounts, platforms, trends, rotation, max_risk)
    result.warnings.extend(request_warnings(request, result, trends))
    return result


def request_warnings(
    request: DistributionRequest, result: PlanResult, trends: Sequence[Trend]
) -> list[str]:
    """What the plan keeps but the operator probably did not mean: a requested language no
    scheduled account speaks or without a translation, trend weighting with no trend data."""
    out: list[str] = []
    counts = Counter(map(attrgetter("language"), result.slots))
    first = request.languages[0]
    untranslated = _untranslated_slots(request, result)
    for language in request.languages:
        if result.slots and language not in counts:
            out.append(f"language {language!r} was requested but no scheduled account speaks it")
        elif language != first and untranslated.get(language):
            out.append(
                f"language {language!r} has no translation: its {untranslated[language]} "
                f"slot(s) carry the {first!r} caption"
            )
    if request.trend_weighted and not trends:
        out.append(
            "trend_weighted is set but there is no trend data (no trends source configured, "
            "or it returned none): every trend score is 0"
        )
    return out


def _untranslated_slots(request: DistributionRequest, result: PlanResult) -> Counter[str]:
    """Per language, the slots whose own item lacks a translation into it (a slot of a
    translated item in that language carries the translation, so it does not count)."""
    translated = {item.id: set(item.translations) for item in request.items}
    only = set(request.items[0].translations)  # a slot without an item id: the single item
    return Counter(
        slot.language
        for slot in result.slots
        if slot.language not in translated.get(slot.content_id, only)
    )


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
    content = request.items[0]
    asked = request.account_count
    if asked is not None and asked > len(eligible):
        warnings.append(f"asked for {asked} accounts; only {len(eligible)} are eligible")
    chosen, not_chosen = select_accounts(
        [e.account for e in eligible], asked, now=request.start, rotation=rotation
    )
    start = math.ceil(request.start.timestamp())
    end = math.floor(request.end.timestamp())
    min_gap = math.ceil(request.min_gap.total_seconds())
    max_gap = math.floor(request.max_gap.total_seconds())
    dup_gap = math.ceil(request.duplicate_gap.total_seconds())
    # Selection order: the chosen accounts, then the spares; a chosen account that cannot
    # be placed gives its turn to the next spare.
    order = chosen + not_chosen
    earliest = [max(start, math.ceil(by_id[a.id].earliest.timestamp())) for a in order]
    wanted = len(chosen)
    # Identical posts stay dup_gap apart: with V distinct caption variants in all, at most
    # V posts fit in each stretch of dup_gap; with one, dup_gap is simply the chain's gap.
    variants_of: dict[tuple[str, str], tuple[Variant, ...]] = {}  # by platform, language
    for a in order:
        e = by_id[a.id]
        if (a.platform, e.language) not in variants_of:
            variants_of[(a.platform, e.language)] = caption_variants(content, e.rules, e.language)
    texts = {v.variant_id for variants in variants_of.values() for v in variants}
    chain_gap = max(min_gap, dup_gap) if len(texts) == 1 else min_gap
    capacity = chain_capacity(earliest, start=start, end=end, min_gap=chain_gap)
    caption_room = len(texts) * ((end - start) // dup_gap + 1) if dup_gap > 0 else capacity
    caption_bound = (caption_room <= capacity and chain_gap > min_gap) or caption_room < capacity
    capacity = min(capacity, caption_room)
    picked, skipped = pick_for_chain(earliest, min(wanted, capacity), end=end, min_gap=chain_gap)
    chosen = [order[i] for i in picked]
    taken = set(picked) | set(skipped)
    window_bound = min_gap > 0 and (wanted - 1) * min_gap > end - start
    if wanted > capacity:
        if caption_bound:
            why = (
                f"identical captions must be {format_duration(request.duplicate_gap)} apart "
                f"and the content yields {len(texts)} caption variant(s) in all, so the "
                f"window holds at most {capacity} posts"
            )
        elif window_bound and capacity == (end - start) // min_gap + 1:
            why = (
                f"{wanted} accounts need at least "
                f"{format_duration(timedelta(seconds=(wanted - 1) * min_gap))} "
                f"at a {format_duration(request.min_gap)} gap; the window is "
                f"{format_duration(request.spread)}"
            )
        else:
            why = (
                f"only {capacity} posts fit at a {format_duration(request.min_gap)} gap before "
                "the end once the accounts' earliest times (last post + platform min gap, "
                "rate limits) are counted"
            )
        warnings.append(f"{wanted - capacity} of {wanted} selected accounts left out: {why}")
    else:
        why = ""
    late_from = end - (len(picked) - 1) * chain_gap

    def too_late(a: Account) -> Unscheduled:
        return Unscheduled(
            a.id,
            f"no room: may post only from {by_id[a.id].earliest:%Y-%m-%dT%H:%MZ} (last post "
            "+ platform min gap, or its rate limit); the other posts need the time before "
            f"the end at a {format_duration(request.min_gap)} gap",
        )

    unscheduled.extend(too_late(order[i]) for i in skipped)
    for i, a in enumerate(order):
        if i in taken:
            continue
        if i < wanted:
            late = not caption_bound and not window_bound and earliest[i] > late_from
            unscheduled.append(too_late(a) if late else Unscheduled(a.id, f"no room: {why}"))
        else:
            unscheduled.append(
                Unscheduled(
                    a.id,
                    f"not selected: {asked} of {len(eligible)} eligible accounts were asked "
                    "for (tiers balanced, rotated across distributions)",
                )
            )
    candidates = []
    trend_tables: dict[str, tuple[float, ...]] = {
        name: hourly_scores(trends, name) for name in request.platforms
    }
    peaks_of: dict[str, tuple[frozenset[int], ...]] = {}  # by platform
    for account in chosen:
        e = by_id[account.id]
        variants = variants_of[(account.platform, e.language)]
        if account.platform not in peaks_of:
            peaks_of[account.platform] = peak_hours_by_weekday(e.rules)
        candidates.append(
            Candidate(
                key=account.id,
                earliest=max(start, math.ceil(e.earliest.timestamp())),
                peaks=peak_intervals(account.timezone, peaks_of[account.platform], start, end),
                variants=variants,
                variant_offset=account_offset(account.id, len(variants)),
                trend=trend_tables[account.platform] if request.trend_weighted else (),
            )
        )
    result = schedule_window(
        candidates,
        start=start,
        end=end,
        min_gap=chain_gap,
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
            planned_slot(  # PlannedSlot's fields, in order
                e.account.id,
                platform,
                e.language,
                when,
                when.astimezone(zone(e.account.timezone)),
                caption,
                hashtags,
                e.risk,
                RiskLevel.from_score(e.risk),
                trend_tables[platform][when.hour],
                content.type,
                vid,
                content.id,
            )
        )
    if result.left_out:
        # The chain's selection already fits the window and the earliest times, so only
        # caption spacing (identical posts duplicate_gap apart) can leave accounts out.
        kinds = min(len(c.variants) for c in candidates)
        why = (
            f"identical captions must be {format_duration(request.duplicate_gap)} apart "
            f"and the content yields as few as {kinds} caption variant(s), so the window "
            "holds fewer posts"
        )
        warnings.append(
            f"{len(result.left_out)} of {len(candidates)} selected accounts left out: {why}"
        )
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
                "content_id": s.content_id,
                "media_problems": problems.get(i, []),
            }
            for i, s in enumerate(result.slots)
        ],
        "unscheduled": [
            {"account_id": u.account_id, "reason": u.reason} for u in result.unscheduled
        ],
        "warnings": list(result.warnings),
        "captions": distinct_captions(result.slots),
        "items": item_summary(result.slots),
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


class _ItemSlot(Protocol):
    @property
    def content_id(self) -> str: ...
    @property
    def account_id(self) -> str: ...
    @property
    def scheduled_at(self) -> datetime: ...


def item_summary(slots: Sequence[_ItemSlot]) -> list[dict[str, Any]]:
    """Per content item, in order of first use: its slots, how many accounts, which days
    (UTC dates). For the plan card, `--json` and `simulate`."""
    seen: dict[str, tuple[int, set[str], dict[str, None]]] = {}
    for s in slots:
        count, accounts, days = seen.get(s.content_id, (0, set(), {}))
        accounts.add(s.account_id)
        days[s.scheduled_at.strftime("%Y-%m-%d")] = None
        seen[s.content_id] = (count + 1, accounts, days)
    return [
        {"content_id": cid, "slots": n, "accounts": len(accounts), "days": sorted(days)}
        for cid, (n, accounts, days) in seen.items()
    ]
