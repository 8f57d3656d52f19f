"""Safety modes as policy objects (seed 001 "Safety Modes").

| mode            | approval | max risk | allowed actions                   |
|-----------------|----------|----------|-----------------------------------|
| SEMI_AUTONOMOUS | yes      | 0.6      | SCHEDULE, QUEUE, SIMULATE         |
| MANUAL          | always   | 1.0      | REVIEW_ONLY                       |
| FULL_AUTONOMOUS | no       | 0.3      | SCHEDULE, QUEUE, PUBLISH, SIMULATE|

A slot whose risk is at or above `max_risk` is not scheduled; CRITICAL (>= 0.8) never is.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from engine.models import SafetyMode

CRITICAL_RISK = 0.8


class Action(StrEnum):
    SCHEDULE = "SCHEDULE"
    QUEUE = "QUEUE"
    PUBLISH = "PUBLISH"
    SIMULATE = "SIMULATE"
    REVIEW_ONLY = "REVIEW_ONLY"


@dataclass(frozen=True, slots=True)
class SafetyPolicy:
    """What a safety mode lets Herald do without a human."""

    mode: SafetyMode
    max_risk: float
    requires_approval: bool
    allowed_actions: frozenset[Action]

    @classmethod
    def for_mode(cls, mode: SafetyMode) -> SafetyPolicy:
        """The seed's policy for `mode`."""
        return _POLICIES[SafetyMode(mode)]

    def allows(self, action: Action | str) -> bool:
        """True when `action` is allowed in this mode."""
        try:
            return Action(action) in self.allowed_actions
        except ValueError:
            return False

    @property
    def schedule_limit(self) -> float:
        """The risk at or above which the planner leaves a slot out (never above CRITICAL)."""
        return min(self.max_risk, CRITICAL_RISK)


_POLICIES: dict[SafetyMode, SafetyPolicy] = {
    SafetyMode.SEMI_AUTONOMOUS: SafetyPolicy(
        SafetyMode.SEMI_AUTONOMOUS,
        0.6,
        True,
        frozenset({Action.SCHEDULE, Action.QUEUE, Action.SIMULATE}),
    ),
    SafetyMode.MANUAL: SafetyPolicy(SafetyMode.MANUAL, 1.0, True, frozenset({Action.REVIEW_ONLY})),
    SafetyMode.FULL_AUTONOMOUS: SafetyPolicy(
        SafetyMode.FULL_AUTONOMOUS,
        0.3,
        False,
        frozenset({Action.SCHEDULE, Action.QUEUE, Action.PUBLISH, Action.SIMULATE}),
    ),
}
