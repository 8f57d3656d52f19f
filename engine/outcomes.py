"""Writing publish outcomes: the slot's new state, its audit events, account changes,
retries and redistributions, all inside the caller's unit of work.

`OutcomeWriter.write` turns one `PublishOutcome` into database changes using the fallback
rules (`engine.fallback`); `complete_if_done` finishes a run with no open slots. The
dispatcher (`engine.dispatcher`) decides when; this module decides what is written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from engine.errors import (
    AccountNotFound,
    ConcurrentModification,
    DistributionNotFound,
    IllegalTransition,
    PublishError,
)
from engine.event_kinds import EventKind
from engine.fallback import (
    FallbackAction,
    FallbackDecision,
    RedistributionPolicy,
    decide,
    move_to_another_account,
)
from engine.lifecycle import OPEN_SLOT_STATUSES, advance_distribution, advance_slot
from engine.models import (
    SYSTEM,
    AccountState,
    Actor,
    Distribution,
    DistributionStatus,
    Event,
    Slot,
    SlotStatus,
    new_event_id,
)
from engine.platforms import PlatformTable
from engine.ports import Clock, Notifier, PublishReceipt, Repository, UnitOfWork


@dataclass(slots=True)
class TickReport:
    """What one tick did, by outcome (slot ids are not kept: counts suffice)."""

    claimed: int = 0
    published: int = 0
    retried: int = 0
    postponed: int = 0
    redistributed: int = 0
    failed: int = 0
    outcome_unknown: int = 0
    requeued: int = 0
    stale: int = 0
    # late slots re-timed or held by the catch-up spacing (engine.catch_up)
    respaced: int = 0
    completed: list[str] = field(default_factory=list)
    paused: list[str] = field(default_factory=list)

    def add(self, other: TickReport) -> None:
        """Add another report's counts to this one."""
        for name in ("claimed", "published", "retried", "postponed", "redistributed", "failed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.outcome_unknown += other.outcome_unknown
        self.requeued += other.requeued
        self.stale += other.stale
        self.respaced += other.respaced


# failure_kind of a waiting slot that may already be on the platform: when it comes due, the
# dispatcher looks for the post (Reconciler) before anything else, and sends at most once more.
RECONCILE = "reconcile"


@dataclass(slots=True)
class PublishOutcome:
    """What publishing one slot gave, and when (`at` is when the publisher answered).
    `reconcile_at` (with an OutcomeUnknown error): look for the post then, do not ask a human."""

    at: datetime
    receipt: PublishReceipt | None = None
    error: PublishError | None = None
    postpone_until: datetime | None = None
    reconcile_at: datetime | None = None
    postpone_reason: str | None = None


class OutcomeWriter:
    """Writes outcomes for one worker (only slots it still holds) under a retry policy."""

    def __init__(
        self,
        worker_id: str,
        policy: RedistributionPolicy,
        platforms: PlatformTable,
        forget_account: Callable[[str], object] = lambda account_id: None,
    ) -> None:
        self._worker_id = worker_id
        self._policy = policy
        self._platforms = platforms
        self._forget_account = forget_account

    async def write(
        self,
        uow: UnitOfWork,
        claimed: Slot,
        slot: Slot | None,
        distribution: Distribution,
        result: PublishOutcome,
        report: TickReport,
    ) -> tuple[list[Event], str | None]:
        """Write one outcome of `claimed` (`slot` is its current row, None if gone)."""
        now = result.at
        events: list[Event] = []
        kind: str | None = None
        if (
            slot is None
            or slot.status != SlotStatus.CLAIMED
            or slot.claimed_by != self._worker_id
            or slot.attempts != claimed.attempts
        ):
            # Our lease expired and the slot moved on; its new owner records it.
            report.stale += 1
            return [], None
        before = {"status": str(slot.status), "attempts": slot.attempts}
        slot.claimed_by = None
        slot.lease_expires_at = None
        if result.receipt is not None:
            slot.status = advance_slot(slot.status, "publish")
            slot.executed_at = now
            slot.post_id = result.receipt.post_id
            slot.post_url = result.receipt.url
            slot.error = None
            slot.failure_kind = None
            kind = "published"
            report.published += 1
            data: dict[str, object] = {
                "post_id": slot.post_id,
                "url": slot.post_url,
                "lateness_s": round((now - slot.due_at).total_seconds(), 3),
            }
            if result.receipt.reconciled:
                # Found on the platform after an answer that never came: not posted again.
                data["reason"] = "found on the platform; it was posted by an earlier attempt"
            event_kind = (
                EventKind.SLOT_RECONCILED if result.receipt.reconciled else EventKind.SLOT_PUBLISHED
            )
            events.append(slot_event(now, event_kind, slot, before=before, data=data))
        elif result.reconcile_at is not None:
            # It may be out: check the platform after its visibility delay, before anything.
            slot.status = advance_slot(slot.status, "schedule_retry")
            slot.due_at = result.reconcile_at
            slot.error = (
                f"{result.error}; may have been posted: Herald checks the platform at "
                f"{result.reconcile_at.isoformat()} before sending again"
            )
            slot.failure_kind = RECONCILE
            report.retried += 1
            events.append(
                slot_event(
                    now,
                    EventKind.SLOT_RETRY_SCHEDULED,
                    slot,
                    before=before,
                    data={
                        "retry_at": slot.due_at.isoformat(),
                        "reason": slot.error,
                        "kind": RECONCILE,
                    },
                )
            )
        elif result.postpone_until is not None:
            # The account is known to be rate-limited: wait without spending an attempt.
            slot.status = advance_slot(slot.status, "schedule_retry")
            slot.attempts = max(0, slot.attempts - 1)
            slot.due_at = result.postpone_until
            slot.error = (
                result.postpone_reason
                or f"account rate-limited until {result.postpone_until.isoformat()}"
            )
            slot.failure_kind = "rate_limit"
            report.postponed += 1
            events.append(
                slot_event(
                    now,
                    EventKind.SLOT_RETRY_SCHEDULED,
                    slot,
                    before=before,
                    data={"retry_at": slot.due_at.isoformat(), "reason": slot.error},
                )
            )
        else:
            assert result.error is not None
            decision = decide(slot, result.error, now, self._policy)
            kind = decision.kind
            events += await self._apply_account_change(uow, decision, now, slot.distribution_id)
            events += await self._apply_decision(
                uow, slot, distribution, decision, before, now, report
            )
        await uow.save_slot(slot)
        for event in events:
            await uow.append_event(event)
        return events, kind

    async def _apply_account_change(
        self,
        uow: UnitOfWork,
        decision: FallbackDecision,
        now: datetime,
        distribution_id: str | None = None,
    ) -> list[Event]:
        change = decision.account_change
        if change is None:
            return []
        self._forget_account(change.account_id)  # a cached copy is stale now
        try:
            account = await uow.get_account(change.account_id)
        except AccountNotFound:
            return []
        if account.state == change.state and account.rate_limited_until == change.until:
            return []
        before = {"state": str(account.state)}
        updated = replace(
            account,
            state=change.state,
            rate_limited_until=change.until if change.until else account.rate_limited_until,
            suspensions=account.suspensions + (change.state == AccountState.SUSPENDED),
            recent_failures=account.recent_failures + 1,
        )
        await uow.save_account(updated)
        kind = {
            AccountState.SUSPENDED: EventKind.ACCOUNT_SUSPENDED,
            AccountState.NEEDS_AUTH: EventKind.ACCOUNT_NEEDS_AUTH,
        }.get(change.state, EventKind.ACCOUNT_RATE_LIMITED)
        data: dict[str, object] = {
            "reason": decision.reason,
            "platform": account.platform,
            "handle": account.handle,
        }
        if change.until:
            data["until"] = change.until.isoformat()
        return [
            Event(
                new_event_id(),
                now,
                kind,
                SYSTEM.id,
                # The distribution whose post met it: its alerts are grouped per run.
                distribution_id=distribution_id,
                account_id=account.id,
                before=before,
                after={"state": str(updated.state)},
                data=data,
            )
        ]

    async def _apply_decision(
        self,
        uow: UnitOfWork,
        slot: Slot,
        distribution: Distribution,
        decision: FallbackDecision,
        before: dict[str, object],
        now: datetime,
        report: TickReport,
    ) -> list[Event]:
        slot.error = decision.reason
        slot.failure_kind = decision.kind
        data: dict[str, object] = {"reason": decision.reason, "kind": decision.kind}
        if decision.action == FallbackAction.RETRY:
            assert decision.retry_at is not None
            slot.status = advance_slot(slot.status, "schedule_retry")
            slot.due_at = decision.retry_at
            data["retry_at"] = decision.retry_at.isoformat()
            report.retried += 1
            return [slot_event(now, EventKind.SLOT_RETRY_SCHEDULED, slot, before=before, data=data)]
        if decision.action == FallbackAction.OUTCOME_UNKNOWN:
            slot.status = advance_slot(slot.status, "outcome_unknown")
            report.outcome_unknown += 1
            return [slot_event(now, EventKind.SLOT_OUTCOME_UNKNOWN, slot, before=before, data=data)]
        if decision.action == FallbackAction.REDISTRIBUTE:
            moved = await self._redistribute(uow, slot, distribution, now)
            if moved is not None:
                slot.status = advance_slot(slot.status, "redistribute")
                slot.error = f"{decision.reason}; moved to {moved.account_id} on {moved.platform}"
                data.update(
                    to_slot=moved.id, to_account=moved.account_id, to_platform=moved.platform
                )
                data["reason"] = slot.error
                report.redistributed += 1
                return [
                    slot_event(now, EventKind.SLOT_REDISTRIBUTED, slot, before=before, data=data)
                ]
            slot.error = f"{decision.reason}; no other eligible account to move it to"
            data["reason"] = slot.error
        slot.status = advance_slot(slot.status, "fail")
        report.failed += 1
        return [slot_event(now, EventKind.SLOT_FAILED, slot, before=before, data=data)]

    async def _redistribute(
        self, uow: UnitOfWork, slot: Slot, distribution: Distribution, now: datetime
    ) -> Slot | None:
        accounts = await uow.list_accounts()
        siblings = await uow.list_slots(slot.distribution_id)
        return await move_to_another_account(
            uow, slot, distribution, accounts, siblings, table=self._platforms, now=now
        )


async def complete_if_done(
    repository: Repository, notifier: Notifier, clock: Clock, distribution_id: str
) -> bool:
    """Move an EXECUTING distribution with no open slots to COMPLETED; True if it did."""
    now = clock.now()
    try:
        async with repository.unit_of_work() as uow:
            distribution = await uow.get_distribution(distribution_id)
            if distribution.status != DistributionStatus.EXECUTING:
                return False
            counts = await uow.slot_counts(distribution_id)
            if any(counts.get(status, 0) for status in OPEN_SLOT_STATUSES):
                return False
            before = distribution.status
            distribution.status = advance_distribution(before, "complete")
            distribution.updated_at = now
            await uow.save_distribution(distribution)
            event = Event(
                new_event_id(),
                now,
                EventKind.DISTRIBUTION_COMPLETED,
                SYSTEM.id,
                distribution_id,
                before={"status": str(before)},
                after={"status": str(distribution.status)},
                data={
                    "counts": {str(k): v for k, v in counts.items() if v},
                    "name": distribution.name,
                },
            )
            await uow.append_event(event)
    except (ConcurrentModification, IllegalTransition, DistributionNotFound):
        return False
    await notifier.notify(event)
    return True


def slot_event(
    now: datetime,
    kind: str,
    slot: Slot,
    *,
    before: Mapping[str, Any] | None = None,
    data: Mapping[str, Any] | None = None,
    actor: Actor = SYSTEM,
) -> Event:
    """An audit event about one slot: by the dispatcher unless `actor` says otherwise."""
    payload: dict[str, object] = {"platform": slot.platform, "attempts": slot.attempts}
    payload.update(data or {})
    if actor.via:
        payload["via"] = actor.via
    return Event(
        new_event_id(),
        now,
        kind,
        actor.id,
        slot.distribution_id,
        slot.id,
        slot.account_id,
        before=dict(before) if before is not None else None,
        after={"status": str(slot.status)},
        data=payload,
    )
