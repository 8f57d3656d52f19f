"""The distribution and slot state machines."""

from __future__ import annotations

import pytest

from engine.errors import IllegalTransition
from engine.lifecycle import (
    DISTRIBUTION_TRANSITIONS,
    SLOT_TRANSITIONS,
    advance_distribution,
    advance_slot,
    can_distribution,
    slot_sources,
)
from engine.models import TERMINAL_SLOT_STATUSES
from engine.models import DistributionStatus as D
from engine.models import SlotStatus as S


class TestDistributionLifecycle:
    def test_happy_path(self) -> None:
        """DRAFT -> AWAITING_APPROVAL -> APPROVED -> EXECUTING -> COMPLETED."""
        status = D.DRAFT
        for action in ("plan", "approve", "start", "complete"):
            status = advance_distribution(status, action)
        assert status == D.COMPLETED

    def test_illegal_move_names_action_and_state(self) -> None:
        """Approving a DRAFT is refused with a message naming the action and the state."""
        with pytest.raises(IllegalTransition, match=r"cannot approve .* it is DRAFT"):
            advance_distribution(D.DRAFT, "approve")

    def test_finished_runs_cannot_be_paused_or_cancelled(self) -> None:
        """COMPLETED, CANCELLED and REJECTED accept neither pause nor cancel."""
        for status in (D.COMPLETED, D.CANCELLED, D.REJECTED):
            assert not can_distribution(status, "pause")
            assert not can_distribution(status, "cancel")

    def test_halted_can_only_be_resumed_or_stay(self) -> None:
        """A HALTED run can be resumed (an approver's continue) but not started or paused."""
        assert advance_distribution(D.HALTED, "resume") == D.EXECUTING
        assert not can_distribution(D.HALTED, "start")
        assert not can_distribution(D.HALTED, "pause")

    def test_unknown_action_is_a_programming_error(self) -> None:
        """An action missing from the table raises ValueError, not IllegalTransition."""
        with pytest.raises(ValueError, match="unknown action"):
            advance_distribution(D.DRAFT, "explode")

    def test_table_targets_are_statuses(self) -> None:
        """Every target in the table is a DistributionStatus."""
        assert all(isinstance(t, D) for m in DISTRIBUTION_TRANSITIONS.values() for t in m.values())


class TestSlotLifecycle:
    def test_terminal_slots_only_leave_by_human_decision(self) -> None:
        """From a terminal status only retry, skip, redistribute and confirm are possible."""
        human = {"retry", "skip", "redistribute", "confirm_published"}
        for action, moves in SLOT_TRANSITIONS.items():
            if set(moves) & TERMINAL_SLOT_STATUSES:
                assert action in human, action

    def test_published_is_final(self) -> None:
        """Nothing moves a PUBLISHED slot (no action takes it as a source)."""
        assert all(S.PUBLISHED not in moves for moves in SLOT_TRANSITIONS.values())

    def test_claimed_cannot_be_cancelled(self) -> None:
        """Cancel applies to unclaimed slots only; an in-flight publish finishes."""
        assert S.CLAIMED not in slot_sources("cancel")
        with pytest.raises(IllegalTransition):
            advance_slot(S.CLAIMED, "cancel")

    def test_outcome_unknown_is_never_claimed(self) -> None:
        """OUTCOME_UNKNOWN slots are not claimable: only a human retry re-queues them."""
        assert S.OUTCOME_UNKNOWN not in slot_sources("claim")
        assert advance_slot(S.OUTCOME_UNKNOWN, "retry") == S.QUEUED
