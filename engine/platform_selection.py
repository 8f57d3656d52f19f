"""Optimal platform selection (seed 001 #13): which platforms, in which order, for a content.

Score = content-type fit x reach x (1 - platform risk) x sqrt(posts allowed per day) x
account availability. Also the per-platform account summary the advisor reasons over.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from engine.errors import InvalidInput
from engine.models import Account, AccountState
from engine.platforms import DEFAULT_PLATFORMS, PlatformTable
from engine.repurpose import target_type


@dataclass(frozen=True, slots=True)
class PlatformAccounts:
    """The accounts of one platform, summed up (no handles: only what advice needs)."""

    platform: str
    total: int = 0
    active: int = 0
    rate_limited: int = 0
    suspended: int = 0
    mean_health: float = 1.0
    recent_failures: int = 0
    languages: tuple[str, ...] = ()
    timezones: tuple[str, ...] = ()


@dataclass(frozen=True)
class AccountsSummary:
    """Per-platform account counts and health, as handed to the advisor and the models."""

    platforms: dict[str, PlatformAccounts] = field(default_factory=dict)

    @classmethod
    def of(cls, accounts: Iterable[Account]) -> AccountsSummary:
        """Summarise `accounts` by platform."""
        groups: dict[str, list[Account]] = {}
        for account in accounts:
            groups.setdefault(account.platform.lower(), []).append(account)
        out = {}
        for name, group in sorted(groups.items()):
            out[name] = PlatformAccounts(
                platform=name,
                total=len(group),
                active=sum(a.state is AccountState.ACTIVE for a in group),
                rate_limited=sum(a.state is AccountState.RATE_LIMITED for a in group),
                suspended=sum(
                    a.state is AccountState.SUSPENDED or a.suspensions > 0 for a in group
                ),
                mean_health=round(sum(a.health for a in group) / len(group), 3),
                recent_failures=sum(a.recent_failures for a in group),
                languages=tuple(sorted({a.language for a in group})),
                timezones=tuple(sorted({a.timezone for a in group}))[:10],
            )
        return cls(out)

    def get(self, platform: str) -> PlatformAccounts | None:
        return self.platforms.get(platform.lower())


@dataclass(frozen=True, slots=True)
class PlatformScore:
    """One platform's suitability for a content, and why."""

    platform: str
    score: float
    content_type: str | None
    reasons: tuple[str, ...]


def rank_platforms(
    content_type: str,
    available: Sequence[str],
    *,
    platforms: PlatformTable = DEFAULT_PLATFORMS,
    accounts: AccountsSummary | None = None,
) -> list[PlatformScore]:
    """Every platform of `available`, best first; unusable ones last with score 0.

    Raises InvalidInput for a platform the table does not know.
    """
    if not available:
        raise InvalidInput("no platforms to choose from")
    scores = []
    for name in dict.fromkeys(p.lower() for p in available):
        rules = platforms[name]
        mapped = target_type(content_type, rules)
        if mapped is None:
            scores.append(PlatformScore(name, 0.0, None, (f"takes no {content_type}",)))
            continue
        kind, fit = mapped
        availability = 1.0
        reasons = [f"{content_type} -> {kind} (fit {fit:.1f})"]
        summary = accounts.get(name) if accounts is not None else None
        if accounts is not None:
            if summary is None or summary.active == 0:
                scores.append(PlatformScore(name, 0.0, kind, ("no active account",)))
                continue
            availability = summary.mean_health * summary.active / max(1, summary.total)
            reasons.append(f"{summary.active}/{summary.total} accounts active")
        score = (
            fit
            * rules.reach_factor
            * (1 - rules.risk)
            * math.sqrt(rules.max_posts_per_day)
            * availability
        )
        reasons.append(f"reach {rules.reach_factor:g}, risk {rules.risk:g}")
        scores.append(PlatformScore(name, round(score, 5), kind, tuple(reasons)))
    return sorted(scores, key=lambda s: -s.score)


def select_platforms(
    content_type: str,
    available: Sequence[str],
    *,
    platforms: PlatformTable = DEFAULT_PLATFORMS,
    accounts: AccountsSummary | None = None,
) -> list[str]:
    """The usable platforms of `available` in their optimal order (seed 001 #13)."""
    ranked = rank_platforms(content_type, available, platforms=platforms, accounts=accounts)
    return [s.platform for s in ranked if s.score > 0]
