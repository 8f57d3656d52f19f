"""Anomaly detection on a run's recent outcomes (seed 000 monitoring), as pure functions.

Several accounts rate-limited within a window, a spike in the failure rate, or suspensions
are anomalies; `engine.monitoring` turns them into an auto-pause and a risk alert.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from engine.models import RiskLevel

# Outcome kinds as the dispatcher reports them.
PUBLISHED = "published"
FAILURE_KINDS = frozenset({"rate_limit", "suspended", "network", "unknown", "outcome_unknown"})


@dataclass(frozen=True, slots=True)
class AnomalyThresholds:
    """When a run looks wrong. Counts are within `window` of the newest outcome."""

    window: timedelta = timedelta(minutes=30)
    rate_limited_accounts: int = 3
    failure_rate: float = 0.5
    min_outcomes: int = 10
    suspensions: int = 2

    def __post_init__(self) -> None:
        if not 0 < self.failure_rate <= 1:
            raise ValueError("failure_rate must be in (0, 1]")
        if min(self.rate_limited_accounts, self.min_outcomes, self.suspensions) < 1:
            raise ValueError("anomaly counts must be at least 1")


@dataclass(frozen=True, slots=True)
class Outcome:
    """One publish attempt's result: `kind` is `published` or a failure kind."""

    at: datetime
    account_id: str
    kind: str


@dataclass(frozen=True, slots=True)
class Anomaly:
    """Something that looks wrong, with a user-facing reason and a level."""

    kind: str
    level: RiskLevel
    reason: str
    count: int

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "level": str(self.level),
            "reason": self.reason,
            "count": self.count,
        }


def detect(outcomes: Iterable[Outcome], thresholds: AnomalyThresholds) -> list[Anomaly]:
    """The anomalies in `outcomes` (any order); most severe first; empty when all is well."""
    items = sorted(outcomes, key=lambda o: o.at)
    if not items:
        return []
    since = items[-1].at - thresholds.window
    recent = [o for o in items if o.at >= since]
    minutes = round(thresholds.window.total_seconds() / 60)
    found: list[Anomaly] = []

    suspended = {o.account_id for o in recent if o.kind == "suspended"}
    if len(suspended) >= thresholds.suspensions:
        found.append(
            Anomaly(
                "suspensions",
                RiskLevel.CRITICAL,
                f"{len(suspended)} accounts suspended within {minutes} min",
                len(suspended),
            )
        )
    limited = {o.account_id for o in recent if o.kind == "rate_limit"}
    if len(limited) >= thresholds.rate_limited_accounts:
        found.append(
            Anomaly(
                "rate_limits",
                RiskLevel.HIGH,
                f"{len(limited)} accounts rate-limited within {minutes} min",
                len(limited),
            )
        )
    if len(recent) >= thresholds.min_outcomes:
        failures = sum(1 for o in recent if o.kind in FAILURE_KINDS)
        rate = failures / len(recent)
        if rate >= thresholds.failure_rate:
            found.append(
                Anomaly(
                    "failure_spike",
                    RiskLevel.HIGH,
                    f"{failures} of the last {len(recent)} publishes failed ({rate:.0%})",
                    failures,
                )
            )
    order = list(RiskLevel)
    found.sort(key=lambda a: -order.index(a.level))
    return found


def worst_level(anomalies: Iterable[Anomaly]) -> RiskLevel | None:
    """The most severe level among `anomalies`, or None."""
    order = list(RiskLevel)
    levels = [a.level for a in anomalies]
    return max(levels, key=order.index) if levels else None
