"""The window-mode hard rules of `herald plan`, checked on a result (shared by tests and bench)."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from zoneinfo import ZoneInfo

from engine.captions import render_post
from engine.models import Account, AccountState, PlanResult, RiskLevel
from engine.platforms import DEFAULT_PLATFORMS, PlatformTable
from engine.request import DistributionRequest


def window_violations(
    request: DistributionRequest,
    accounts: Sequence[Account],
    result: PlanResult,
    *,
    platforms: PlatformTable = DEFAULT_PLATFORMS,
    max_risk: float = 0.8,
) -> list[str]:
    """Every hard rule the plan breaks, as readable strings (empty when it keeps them all)."""
    out: list[str] = []
    by_id = {a.id: a for a in accounts}
    slots = result.slots
    end = request.start + request.spread
    seen: set[str] = set()
    for s in slots:
        a = by_id.get(s.account_id)
        if a is None:
            out.append(f"{s.account_id}: unknown account")
            continue
        rules = platforms[a.platform]
        if a.state is not AccountState.ACTIVE:
            out.append(f"{a.id}: state {a.state}")
        if s.platform != a.platform or s.platform not in request.platforms:
            out.append(f"{a.id}: platform {s.platform}")
        want = a.language if a.language in request.languages else request.languages[0]
        if s.language != want:
            out.append(f"{a.id}: language {s.language} != {want}")
        if not request.start <= s.scheduled_at <= end:
            out.append(f"{a.id}: {s.scheduled_at} outside the window")
        if a.last_posted_at and s.scheduled_at < a.last_posted_at + rules.min_gap:
            out.append(f"{a.id}: too soon after its last post")
        if a.rate_limited_until and s.scheduled_at <= a.rate_limited_until:
            out.append(f"{a.id}: while rate-limited")
        if a.id in seen:
            out.append(f"{a.id}: used twice")
        seen.add(a.id)
        local = s.scheduled_at.astimezone(ZoneInfo(a.timezone))
        if s.local_time != local or s.local_time.utcoffset() != local.utcoffset():
            out.append(f"{a.id}: local_time {s.local_time} != {local}")
        if len(s.hashtags) > rules.hashtag_limit:
            out.append(f"{a.id}: {len(s.hashtags)} hashtags > {rules.hashtag_limit}")
        if len(render_post(s.caption, s.hashtags)) > rules.caption_limit:
            out.append(f"{a.id}: post longer than {rules.caption_limit}")
        if s.risk_score >= max_risk or s.risk_level is RiskLevel.CRITICAL:
            out.append(f"{a.id}: risk {s.risk_score} scheduled")
    for prev, nxt in pairwise(slots):
        gap = nxt.scheduled_at - prev.scheduled_at
        if gap < request.min_gap or gap > request.max_gap:
            out.append(f"gap {gap} between {prev.account_id} and {nxt.account_id}")
    last_by_key: dict[tuple[str, frozenset[str]], object] = {}
    for s in slots:
        key = (s.caption, frozenset(s.hashtags))
        before = last_by_key.get(key)
        if before is not None and s.scheduled_at - before < request.duplicate_gap:  # type: ignore[operator]
            out.append(f"{s.account_id}: duplicate caption within {request.duplicate_gap}")
        last_by_key[key] = s.scheduled_at
    left = {u.account_id for u in result.unscheduled}
    out.extend(f"{u.account_id}: no reason" for u in result.unscheduled if not u.reason)
    out.extend(
        f"{a.id}: neither scheduled nor explained"
        for a in accounts
        if a.platform in request.platforms and a.id not in seen and a.id not in left
    )
    eligible = [
        a
        for a in accounts
        if a.platform in request.platforms
        and a.state is AccountState.ACTIVE
        and (a.rate_limited_until is None or a.rate_limited_until < end)
    ]
    wanted = min(len(eligible), request.account_count or len(eligible))
    if len(slots) < wanted and not result.warnings:
        out.append(f"{len(slots)} slots < {wanted} wanted and no warning")
    if request.account_count is not None and len(slots) > request.account_count:
        out.append(f"{len(slots)} slots > account_count {request.account_count}")
    return out
