"""Risk scoring for one planned post (seed 001 "Risk Assessment", seed 000 Task 5.3).

    risk = 0.35 * suspensions    min(1, suspensions / 3): three suspensions saturate it
         + 0.25 * failure rate   recent_failures / max(1, recent_posts, recent_failures)
         + 0.15 * ill health     1 - health
         + 0.10 * platform       the platform's own risk from the rules table (0..1)
         + 0.10 * velocity       min(1, posts_in_window / max_posts_per_day) for the account
         + 0.05 * content type   1 when the platform does not list the content type, else 0

The weights sum to 1, so the score is in [0, 1]. Suspension history weighs most because a
platform that suspended an account before is the likeliest to do it again; velocity is
what the planner itself controls, so it is kept small but never zero.
Levels (`RiskLevel.from_score`): LOW < 0.3 <= MEDIUM < 0.6 <= HIGH < 0.8 <= CRITICAL.
"""

from __future__ import annotations

from engine.models import Account, RiskLevel
from engine.platforms import PlatformRules

W_SUSPENSIONS = 0.35
W_FAILURES = 0.25
W_HEALTH = 0.15
W_PLATFORM = 0.10
W_VELOCITY = 0.10
W_CONTENT = 0.05

# What the seed says to do at each level.
LEVEL_ACTIONS: dict[RiskLevel, str] = {
    RiskLevel.LOW: "safe to publish",
    RiskLevel.MEDIUM: "add delays, monitor",
    RiskLevel.HIGH: "rotate account, extend delay",
    RiskLevel.CRITICAL: "skip publication, manual review",
}


def account_base_risk(account: Account, rules: PlatformRules, *, content_type: str) -> float:
    """Every part of `slot_risk` that does not depend on how often the account posts."""
    suspensions = min(1.0, account.suspensions / 3)
    failures = account.recent_failures / max(1, account.recent_posts, account.recent_failures)
    ill_health = 1.0 - min(1.0, max(0.0, account.health))
    platform = min(1.0, max(0.0, rules.risk))
    content = 0.0 if content_type in rules.content_types else 1.0
    return (
        W_SUSPENSIONS * suspensions
        + W_FAILURES * failures
        + W_HEALTH * ill_health
        + W_PLATFORM * platform
        + W_CONTENT * content
    )


def velocity_risk(posts_in_window: int, rules: PlatformRules) -> float:
    """The velocity term: how close the account's posts in 24 h come to the daily cap."""
    return W_VELOCITY * min(1.0, max(0, posts_in_window) / max(1, rules.max_posts_per_day))


def slot_risk(
    account: Account,
    rules: PlatformRules,
    *,
    content_type: str,
    posts_in_window: int,
) -> float:
    """The risk score in [0, 1] of `account` posting `content_type` on `rules`' platform,
    with `posts_in_window` posts by this account in the 24 h ending at this one (itself
    included). Rounded to 3 decimals so the same inputs give the same printed score."""
    base = account_base_risk(account, rules, content_type=content_type)
    return risk_from_base(base, posts_in_window, rules)


def risk_from_base(base: float, posts_in_window: int, rules: PlatformRules) -> float:
    """`slot_risk` from the account's `account_base_risk` (planners compute that once)."""
    return round(min(1.0, max(0.0, base + velocity_risk(posts_in_window, rules))), 3)


def risk_reason(score: float, max_risk: float) -> str:
    """The `unscheduled` reason for a slot the risk gate keeps out."""
    level = RiskLevel.from_score(score)
    if level is RiskLevel.CRITICAL:
        return f"risk {score:.2f} is CRITICAL: {LEVEL_ACTIONS[level]}"
    return (
        f"risk {score:.2f} ({level.value}) is at or above the safety limit {max_risk:.2f}: "
        "left for review"
    )
