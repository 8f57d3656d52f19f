"""Which accounts may take a slot: the per-account gates both planners share.

Its own module so that the window planner and the calendar planner import it, not each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from engine.captions import caption_refusal
from engine.durations import format_duration
from engine.errors import InvalidInput
from engine.models import Account, RiskLevel, Unscheduled
from engine.peaks import zone
from engine.platforms import PlatformRules, PlatformTable
from engine.request import DistributionRequest
from engine.risk import account_base_risk, risk_from_base, risk_reason
from engine.safety import CRITICAL_RISK
from engine.selection import earliest_post, ineligible_reason

ONE_DAY = timedelta(days=1)


@dataclass(slots=True)
class Eligible:
    """An account that passed every per-account gate, with what the schedulers need."""

    account: Account
    rules: PlatformRules
    language: str
    earliest: datetime
    risk: float
    base_risk: float  # before the velocity term (`engine.risk.account_base_risk`)


def slot_language(account: Account, request: DistributionRequest) -> str:
    """The account's language when requested, else the first requested language."""
    return account.language if account.language in request.languages else request.languages[0]


def gate_accounts(
    request: DistributionRequest,
    accounts: Sequence[Account],
    platforms: PlatformTable,
    *,
    max_risk: float,
    posts_in_window: int = 1,
) -> tuple[list[Eligible], list[Unscheduled], list[str]]:
    """Split accounts on requested platforms into eligible ones and left-outs with reasons,
    plus warnings summarising the left-outs that are not simply inactive.

    Accounts on other platforms are ignored. Raises InvalidInput naming an account whose
    time zone is unknown.
    """
    wanted = set(request.platforms)
    end = request.end
    eligible: list[Eligible] = []
    left: list[Unscheduled] = []
    content_type = request.content.type
    late = risky = 0
    refused: dict[str, int] = {}
    # Looked up once per platform, language or zone rather than once per account.
    refusals: dict[tuple[str, str], str | None] = {}
    table: dict[str, PlatformRules] = {}
    zones: set[str] = set()
    start = request.start
    languages = request.languages
    for account in accounts:
        if account.platform not in wanted:
            continue
        if account.timezone not in zones:
            try:
                zone(account.timezone)
            except InvalidInput:
                raise InvalidInput(
                    f"account {account.id}: unknown time zone {account.timezone!r}"
                ) from None
            zones.add(account.timezone)
        reason = ineligible_reason(account, window_end=end)
        if reason:
            left.append(Unscheduled(account.id, reason))
            continue
        rules = table.get(account.platform)
        if rules is None:
            rules = table[account.platform] = platforms[account.platform]
        earliest = earliest_post(account, rules, start)
        if earliest > end:
            left.append(Unscheduled(account.id, _late_reason(account, rules, earliest)))
            late += 1
            continue
        recent = account.last_posted_at is not None and start - account.last_posted_at < ONE_DAY
        base_risk = account_base_risk(account, rules, content_type=content_type)
        risk = risk_from_base(base_risk, posts_in_window + recent, rules)
        if risk >= max_risk or RiskLevel.from_score(risk) is RiskLevel.CRITICAL:
            left.append(Unscheduled(account.id, risk_reason(risk, max_risk)))
            risky += 1
            continue
        # slot_language, inlined (once per account)
        language = account.language if account.language in languages else languages[0]
        key = (account.platform, language)
        if key not in refusals:
            refusals[key] = caption_refusal(request.content, rules, language)
        refusal = refusals[key]
        if refusal:
            # Never post a caption cut through its link or #ad: refuse it for the platform.
            left.append(Unscheduled(account.id, refusal))
            refused[refusal] = refused.get(refusal, 0) + 1
            continue
        eligible.append(Eligible(account, rules, language, earliest, risk, base_risk))
    warnings = [f"{count} account(s) left out: {why}" for why, count in refused.items()]
    if late:
        warnings.append(
            f"{late} active account(s) cannot post before the end: the platform's min gap since "
            "their last post, or a rate limit, runs past it"
        )
    if risky:
        limit = min(max_risk, CRITICAL_RISK)
        warnings.append(
            f"{risky} account(s) left for review: risk at or above {limit:.2f} "
            "(CRITICAL is never scheduled)"
        )
    return eligible, left, warnings


def _late_reason(account: Account, rules: PlatformRules, earliest: datetime) -> str:
    if (
        account.rate_limited_until is not None
        and earliest <= account.rate_limited_until + timedelta(seconds=1)
    ):
        return f"rate-limited until {account.rate_limited_until:%Y-%m-%dT%H:%MZ}, after the window"
    return (
        f"posted at {account.last_posted_at:%Y-%m-%dT%H:%MZ}; the {rules.name} min gap of "
        f"{format_duration(rules.min_gap)} allows it only from {earliest:%Y-%m-%dT%H:%MZ}, "
        "after the window"
    )
