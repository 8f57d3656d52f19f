"""Safety modes as policies: seed 001's max risk, approval and allowed actions."""

from __future__ import annotations

from engine.models import SafetyMode
from engine.safety import Action, SafetyPolicy


class TestSafetyPolicy:
    def test_semi_autonomous(self) -> None:
        """SEMI_AUTONOMOUS: approval, max risk 0.6, schedule/queue/simulate but never publish."""
        policy = SafetyPolicy.for_mode(SafetyMode.SEMI_AUTONOMOUS)
        assert policy.max_risk == 0.6 and policy.requires_approval
        assert policy.allows(Action.SCHEDULE) and policy.allows("SIMULATE")
        assert not policy.allows(Action.PUBLISH)

    def test_manual(self) -> None:
        """MANUAL: review only, and CRITICAL still caps what the planner schedules."""
        policy = SafetyPolicy.for_mode(SafetyMode.MANUAL)
        assert policy.allowed_actions == frozenset({Action.REVIEW_ONLY})
        assert policy.max_risk == 1.0 and policy.schedule_limit == 0.8

    def test_full_autonomous(self) -> None:
        """FULL_AUTONOMOUS: no approval, max risk 0.3, may publish."""
        policy = SafetyPolicy.for_mode(SafetyMode.FULL_AUTONOMOUS)
        assert not policy.requires_approval and policy.max_risk == 0.3
        assert policy.allows(Action.PUBLISH)

    def test_unknown_action(self) -> None:
        """An unknown action is not allowed (rather than an error)."""
        assert not SafetyPolicy.for_mode(SafetyMode.SEMI_AUTONOMOUS).allows("DELETE")
