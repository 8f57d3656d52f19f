"""The distribution and slot state machines, as data: for each action, which state goes where.

Every status change in Herald goes through `advance_distribution` or `advance_slot`; an
action the table does not allow from the current state raises `IllegalTransition` and the
caller changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TypeVar

from engine.errors import IllegalTransition
from engine.models import DistributionStatus as D
from engine.models import SlotStatus as S

_T = TypeVar("_T", D, S)
_ACTIVE = (D.APPROVED, D.EXECUTING, D.PAUSED)

# action -> {from state: to state}. Read as: "plan" moves DRAFT to AWAITING_APPROVAL, ...
DISTRIBUTION_TRANSITIONS: Mapping[str, Mapping[D, D]] = MappingProxyType(
    {
        # (re-)planning is allowed until someone approves
        "plan": {
            D.DRAFT: D.AWAITING_APPROVAL,
            D.PLANNED: D.AWAITING_APPROVAL,
            D.AWAITING_APPROVAL: D.AWAITING_APPROVAL,
            D.REJECTED: D.AWAITING_APPROVAL,
        },
        "simulate": {
            s: s for s in (D.PLANNED, D.AWAITING_APPROVAL, D.APPROVED, D.EXECUTING, D.PAUSED)
        },
        "approve": {D.AWAITING_APPROVAL: D.APPROVED},
        "reject": {D.AWAITING_APPROVAL: D.REJECTED},
        "start": {D.APPROVED: D.EXECUTING},
        # FULL_AUTONOMOUS only: the service checks the mode before using this action
        "autostart": {D.AWAITING_APPROVAL: D.EXECUTING},
        "pause": {D.EXECUTING: D.PAUSED},
        # resuming a HALTED distribution is an approver's "continue"
        "resume": {D.PAUSED: D.EXECUTING, D.HALTED: D.EXECUTING},
        "cancel": dict.fromkeys(
            (D.DRAFT, D.PLANNED, D.AWAITING_APPROVAL, D.APPROVED, D.EXECUTING, D.PAUSED),
            D.CANCELLED,
        ),
        "halt": dict.fromkeys((D.AWAITING_APPROVAL, *_ACTIVE), D.HALTED),
        "complete": {D.EXECUTING: D.COMPLETED},
        # retrying failed slots reopens a finished run; a paused one stays paused
        "retry": {
            D.COMPLETED: D.EXECUTING,
            D.EXECUTING: D.EXECUTING,
            D.PAUSED: D.PAUSED,
            D.HALTED: D.HALTED,
        },
    }
)

SLOT_TRANSITIONS: Mapping[str, Mapping[S, S]] = MappingProxyType(
    {
        "queue": {S.PLANNED: S.QUEUED},
        "claim": {S.QUEUED: S.CLAIMED, S.RETRY_SCHEDULED: S.CLAIMED},
        "publish": {S.CLAIMED: S.PUBLISHED},
        "fail": {S.CLAIMED: S.FAILED},
        "schedule_retry": {S.CLAIMED: S.RETRY_SCHEDULED},
        "outcome_unknown": {S.CLAIMED: S.OUTCOME_UNKNOWN},
        # the original slot of a redistribution ends SKIPPED; its replacement is a new slot
        "redistribute": {S.CLAIMED: S.SKIPPED, S.FAILED: S.SKIPPED},
        # a lease expired and the publisher de-duplicates by idempotency key
        "release": {S.CLAIMED: S.QUEUED},
        # a late slot that no longer fits its window waits for a human (engine.catch_up)
        "hold": {S.CLAIMED: S.PLANNED},
        "skip": dict.fromkeys(
            (S.PLANNED, S.QUEUED, S.RETRY_SCHEDULED, S.FAILED, S.OUTCOME_UNKNOWN), S.SKIPPED
        ),
        "cancel": dict.fromkeys((S.PLANNED, S.QUEUED, S.RETRY_SCHEDULED), S.CANCELLED),
        # a human decided: try again (same idempotency key) or it did go out
        "retry": {S.FAILED: S.QUEUED, S.OUTCOME_UNKNOWN: S.QUEUED},
        "confirm_published": {S.OUTCOME_UNKNOWN: S.PUBLISHED},
    }
)

# Slots the dispatcher may still claim or is working on.
OPEN_SLOT_STATUSES: frozenset[S] = frozenset({S.PLANNED, S.QUEUED, S.RETRY_SCHEDULED, S.CLAIMED})
FINISHED_DISTRIBUTION_STATUSES: frozenset[D] = frozenset(
    {D.COMPLETED, D.CANCELLED, D.REJECTED, D.HALTED}
)


def advance_distribution(status: D, action: str, *, what: str = "the distribution") -> D:
    """The status `action` leads to from `status`; raises IllegalTransition otherwise."""
    return _advance(DISTRIBUTION_TRANSITIONS, status, action, what)


def advance_slot(status: S, action: str, *, what: str = "the slot") -> S:
    """The slot status `action` leads to from `status`; raises IllegalTransition otherwise."""
    return _advance(SLOT_TRANSITIONS, status, action, what)


def slot_sources(action: str) -> tuple[S, ...]:
    """The slot statuses `action` applies to (for bulk moves such as cancel)."""
    return tuple(SLOT_TRANSITIONS[action])


def can_distribution(status: D, action: str) -> bool:
    """Whether `action` is allowed from `status` (for enabling buttons)."""
    return status in DISTRIBUTION_TRANSITIONS.get(action, {})


def _advance(table: Mapping[str, Mapping[_T, _T]], status: _T, action: str, what: str) -> _T:
    moves = table.get(action)
    if moves is None:
        raise ValueError(f"unknown action {action!r}")
    try:
        return moves[status]
    except KeyError:
        raise IllegalTransition(what, action, str(status)) from None
