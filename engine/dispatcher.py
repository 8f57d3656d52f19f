"""The dispatch step: claim due slots, publish them at most once, record each outcome.

`Dispatcher.tick()` is everything one firing does; a runner (`engine.adapters.
apscheduler_runner`) calls it on an interval and at the next due slot. The database is the
source of truth: slots are claimed with a lease by `Repository.claim_due_slots`, published
concurrently (bounded), and each outcome is written in its own transaction with its audit
events; fallbacks (`engine.fallback`) decide retries and redistributions. A slot whose
lease expired while CLAIMED (its worker died mid-publish) goes back to the queue only when
the publisher de-duplicates by idempotency key; otherwise it becomes OUTCOME_UNKNOWN.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from engine.anomalies import Outcome
from engine.errors import (
    AccountNotFound,
    AccountSuspended,
    ConcurrentModification,
    DistributionNotFound,
    IllegalTransition,
    OutcomeUnknown,
    PublishError,
    SlotNotFound,
    StorageError,
    UnknownPublishError,
)
from engine.fallback import (
    FallbackAction,
    FallbackDecision,
    RetryPolicy,
    account_available,
    choose_replacement,
    decide,
    redistributed_slot,
)
from engine.lifecycle import OPEN_SLOT_STATUSES, advance_distribution, advance_slot
from engine.models import (
    SYSTEM,
    Account,
    AccountState,
    Distribution,
    DistributionStatus,
    Event,
    SafetyMode,
    Slot,
    SlotStatus,
    new_id,
)
from engine.monitoring import RunMonitor
from engine.platforms import DEFAULT_PLATFORMS, PlatformTable
from engine.ports import (
    Clock,
    Notifier,
    Publisher,
    PublishReceipt,
    PublishRequest,
    Repository,
    UnitOfWork,
)

log = logging.getLogger(__name__)


def default_worker_id() -> str:
    """A worker id unique per process start: host-independent pid plus a random tail."""
    return f"w{os.getpid()}-{secrets.token_hex(3)}"


@dataclass(frozen=True, slots=True)
class DispatcherConfig:
    """How much one tick does. `lease` must exceed the publisher's timeout."""

    worker_id: str = field(default_factory=default_worker_id)
    batch_size: int = 200
    concurrency: int = 50
    lease: timedelta = timedelta(minutes=2)
    max_drain_seconds: float = 5.0
    idle_check_seconds: float = 5.0
    record_attempts: int = 3


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
    completed: list[str] = field(default_factory=list)
    paused: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Context:
    distributions: dict[str, Distribution]
    accounts: dict[str, Account]


@dataclass(slots=True)
class _Result:
    receipt: PublishReceipt | None = None
    error: PublishError | None = None
    postpone_until: datetime | None = None


class Dispatcher:
    """Claims, publishes and records due slots (see module docstring)."""

    def __init__(
        self,
        repository: Repository,
        publisher: Publisher,
        clock: Clock,
        notifier: Notifier,
        *,
        platforms: PlatformTable = DEFAULT_PLATFORMS,
        policy: RetryPolicy | None = None,
        config: DispatcherConfig | None = None,
        monitor: RunMonitor | None = None,
        review_publisher: Publisher | None = None,
    ) -> None:
        self._repository = repository
        self._publisher = publisher
        # MANUAL distributions publish through this one (a simulated publisher) when set.
        self._review_publisher = review_publisher
        self._clock = clock
        self._notifier = notifier
        self._platforms = platforms
        self.policy = policy or RetryPolicy()
        self.config = config or DispatcherConfig()
        self._monitor = monitor
        self._lock = asyncio.Lock()
        self._last_idle_check = float("-inf")
        self.last_tick_at: datetime | None = None
        self.ticks = 0

    @property
    def worker_id(self) -> str:
        return self.config.worker_id

    async def tick(self) -> TickReport:
        """Reclaim expired leases, claim and publish due slots, complete finished runs,
        and act on anomalies. Never raises for storage trouble: it logs and tries next tick."""
        report = TickReport()
        async with self._lock:
            try:
                await self._tick(report)
            except StorageError as exc:
                log.warning("dispatch tick failed (%s); retrying next tick", exc)
            self.ticks += 1
            self.last_tick_at = self._clock.now()
        return report

    async def _tick(self, report: TickReport) -> None:
        await self._reclaim_expired(report)
        touched: set[str] = set()
        started = time.monotonic()
        while True:
            slots = await self._repository.claim_due_slots(
                now=self._clock.now(),
                limit=self.config.batch_size,
                worker_id=self.config.worker_id,
                lease=self.config.lease,
            )
            if not slots:
                break
            report.claimed += len(slots)
            touched.update(s.distribution_id for s in slots)
            await self._process(slots, report)
            # Drain a backlog in one tick, but give the loop back now and then.
            if len(slots) < self.config.batch_size:
                break
            if time.monotonic() - started > self.config.max_drain_seconds:
                break
        if self._monitor is not None:
            for distribution_id in sorted(touched):
                if await self._monitor.enforce(distribution_id):
                    report.paused.append(distribution_id)
        now_mono = time.monotonic()
        if not touched and now_mono - self._last_idle_check >= self.config.idle_check_seconds:
            # Runs whose last outcome was written by a process that then died, or whose
            # last slots were skipped by hand, are completed here.
            self._last_idle_check = now_mono
            async with self._repository.unit_of_work() as uow:
                executing = await uow.list_distributions([DistributionStatus.EXECUTING], limit=100)
            touched.update(d.id for d in executing)
        for distribution_id in sorted(touched):
            if await complete_if_done(
                self._repository, self._notifier, self._clock, distribution_id
            ):
                report.completed.append(distribution_id)

    # --- leases

    async def _reclaim_expired(self, report: TickReport) -> None:
        now = self._clock.now()
        expired = await self._repository.expired_claims(now=now, limit=500)
        if not expired:
            return
        idempotent = self._publisher.supports_idempotency and (
            self._review_publisher is None or self._review_publisher.supports_idempotency
        )
        events: list[Event] = []
        async with self._repository.unit_of_work() as uow:
            for stale in expired:
                slot = await uow.get_slot(stale.id)
                if slot.status != SlotStatus.CLAIMED or (
                    slot.lease_expires_at is not None and slot.lease_expires_at > now
                ):
                    continue  # someone else reclaimed or finished it
                before = {"status": str(slot.status), "claimed_by": slot.claimed_by}
                if idempotent:
                    slot.status = advance_slot(slot.status, "release")
                    kind = "slot.retry_scheduled"
                    reason = (
                        f"worker {slot.claimed_by} stopped mid-publish; re-queued (the "
                        "publisher de-duplicates by idempotency key)"
                    )
                    report.requeued += 1
                else:
                    slot.status = advance_slot(slot.status, "outcome_unknown")
                    slot.failure_kind = "outcome_unknown"
                    kind = "slot.outcome_unknown"
                    reason = (
                        f"worker {slot.claimed_by} stopped mid-publish and the publisher cannot "
                        "de-duplicate: a human must check whether it was posted"
                    )
                    report.outcome_unknown += 1
                slot.error = reason
                slot.claimed_by = None
                slot.lease_expires_at = None
                await uow.save_slot(slot)
                event = _slot_event(now, kind, slot, before=before, data={"reason": reason})
                await uow.append_event(event)
                events.append(event)
        await self._notify(events)

    # --- one batch

    async def _process(self, slots: list[Slot], report: TickReport) -> None:
        context = await self._context(slots)
        limit = asyncio.Semaphore(self.config.concurrency)

        async def one(slot: Slot) -> None:
            async with limit:
                await self._handle(slot, context, report)

        await asyncio.gather(*(one(slot) for slot in slots))

    async def _context(self, slots: list[Slot]) -> _Context:
        distributions: dict[str, Distribution] = {}
        accounts: dict[str, Account] = {}
        async with self._repository.unit_of_work() as uow:
            for distribution_id in {s.distribution_id for s in slots}:
                distributions[distribution_id] = await uow.get_distribution(distribution_id)
            for account_id in {s.account_id for s in slots}:
                with contextlib.suppress(AccountNotFound):
                    accounts[account_id] = await uow.get_account(account_id)
        return _Context(distributions, accounts)

    async def _handle(self, slot: Slot, context: _Context, report: TickReport) -> None:
        distribution = context.distributions[slot.distribution_id]
        account = context.accounts.get(slot.account_id)
        now = self._clock.now()
        if account is None:
            result = _Result(
                error=UnknownPublishError(f"account {slot.account_id} no longer exists")
            )
        elif account.state == AccountState.SUSPENDED:
            result = _Result(error=AccountSuspended(f"{account.handle} is marked suspended"))
        elif account.state == AccountState.RATE_LIMITED and not account_available(account, now):
            result = _Result(postpone_until=account.rate_limited_until)
        elif account.state in (AccountState.PAUSED, AccountState.NEEDS_AUTH):
            result = _Result(
                error=UnknownPublishError(f"{account.handle} is {account.state}, not publishing")
            )
        else:
            result = await self._publish(slot, distribution, account)
        await self._record_with_retries(slot, distribution, result, report)

    async def _publish(self, slot: Slot, distribution: Distribution, account: Account) -> _Result:
        publisher = self._publisher
        if distribution.safety_mode == SafetyMode.MANUAL and self._review_publisher is not None:
            publisher = self._review_publisher
        request = PublishRequest(
            slot_id=slot.id,
            distribution_id=slot.distribution_id,
            account=account,
            platform=slot.platform,
            language=slot.language,
            caption=slot.caption,
            hashtags=slot.hashtags,
            content=distribution.request.content,
            content_type=slot.content_type,
            idempotency_key=slot.idempotency_key or f"herald:{slot.id}",
        )
        try:
            return _Result(receipt=await publisher.publish(request))
        except PublishError as exc:
            return _Result(error=exc)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # A publisher bug after the request may have left: never guess it failed.
            log.exception("publisher raised unexpectedly for slot %s", slot.id)
            return _Result(error=OutcomeUnknown(f"publisher error: {type(exc).__name__}: {exc}"))

    async def _record_with_retries(
        self, slot: Slot, distribution: Distribution, result: _Result, report: TickReport
    ) -> None:
        for attempt in range(self.config.record_attempts):
            try:
                events, kind = await self._record(slot, distribution, result, report)
                break
            except (StorageError, ConcurrentModification) as exc:
                if attempt + 1 == self.config.record_attempts or not exc.temporary:
                    # The lease will expire and the slot is reclaimed safely (see docstring).
                    log.error("could not record outcome of slot %s: %s", slot.id, exc)
                    return
                await asyncio.sleep(0.05 * (attempt + 1))
        await self._notify(events)
        if kind is not None and self._monitor is not None:
            self._monitor.observe(
                slot.distribution_id, Outcome(self._clock.now(), slot.account_id, kind)
            )

    async def _record(
        self, claimed: Slot, distribution: Distribution, result: _Result, report: TickReport
    ) -> tuple[list[Event], str | None]:
        now = self._clock.now()
        events: list[Event] = []
        kind: str | None = None
        async with self._repository.unit_of_work() as uow:
            try:
                slot = await uow.get_slot(claimed.id)
            except SlotNotFound:
                report.stale += 1
                return [], None
            if (
                slot.status != SlotStatus.CLAIMED
                or slot.claimed_by != self.config.worker_id
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
                events.append(
                    _slot_event(
                        now,
                        "slot.published",
                        slot,
                        before=before,
                        data={
                            "post_id": slot.post_id,
                            "url": slot.post_url,
                            "lateness_s": round((now - slot.due_at).total_seconds(), 3),
                        },
                    )
                )
            elif result.postpone_until is not None:
                # The account is known to be rate-limited: wait without spending an attempt.
                slot.status = advance_slot(slot.status, "schedule_retry")
                slot.attempts = max(0, slot.attempts - 1)
                slot.due_at = result.postpone_until
                slot.error = f"account rate-limited until {result.postpone_until.isoformat()}"
                slot.failure_kind = "rate_limit"
                report.postponed += 1
                events.append(
                    _slot_event(
                        now,
                        "slot.retry_scheduled",
                        slot,
                        before=before,
                        data={"retry_at": slot.due_at.isoformat(), "reason": slot.error},
                    )
                )
            else:
                assert result.error is not None
                decision = decide(slot, result.error, now, self.policy)
                kind = decision.kind
                events += await self._apply_account_change(uow, decision, now)
                events += await self._apply_decision(
                    uow, slot, distribution, decision, before, now, report
                )
            await uow.save_slot(slot)
            for event in events:
                await uow.append_event(event)
        return events, kind

    async def _apply_account_change(
        self, uow: UnitOfWork, decision: FallbackDecision, now: datetime
    ) -> list[Event]:
        change = decision.account_change
        if change is None:
            return []
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
        kind = (
            "account.suspended"
            if change.state == AccountState.SUSPENDED
            else "account.rate_limited"
        )
        data: dict[str, object] = {"reason": decision.reason, "platform": account.platform}
        if change.until:
            data["until"] = change.until.isoformat()
        return [
            Event(
                new_id("e"),
                now,
                kind,
                SYSTEM.id,
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
            return [_slot_event(now, "slot.retry_scheduled", slot, before=before, data=data)]
        if decision.action == FallbackAction.OUTCOME_UNKNOWN:
            slot.status = advance_slot(slot.status, "outcome_unknown")
            report.outcome_unknown += 1
            return [_slot_event(now, "slot.outcome_unknown", slot, before=before, data=data)]
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
                return [_slot_event(now, "slot.redistributed", slot, before=before, data=data)]
            slot.error = f"{decision.reason}; no other eligible account to move it to"
            data["reason"] = slot.error
        slot.status = advance_slot(slot.status, "fail")
        report.failed += 1
        return [_slot_event(now, "slot.failed", slot, before=before, data=data)]

    async def _redistribute(
        self, uow: UnitOfWork, slot: Slot, distribution: Distribution, now: datetime
    ) -> Slot | None:
        accounts = await uow.list_accounts()
        siblings = await uow.list_slots(slot.distribution_id)
        target = choose_replacement(
            slot,
            accounts,
            siblings,
            platforms=distribution.request.platforms,
            table=self._platforms,
            now=now,
            source_type=distribution.request.content.type,
        )
        if target is None:
            return None
        moved = redistributed_slot(
            slot,
            target,
            table=self._platforms,
            now=now,
            source_type=distribution.request.content.type,
        )
        moved = replace(moved, seq=max((s.seq for s in siblings), default=0) + 1)
        await uow.add_slots([moved])
        return moved

    async def _notify(self, events: Iterable[Event]) -> None:
        for event in events:
            await self._notifier.notify(event)


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
                new_id("e"),
                now,
                "distribution.completed",
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


def _slot_event(
    now: datetime,
    kind: str,
    slot: Slot,
    *,
    before: dict[str, object] | None = None,
    data: dict[str, object] | None = None,
) -> Event:
    payload: dict[str, object] = {"platform": slot.platform, "attempts": slot.attempts}
    payload.update(data or {})
    return Event(
        new_id("e"),
        now,
        kind,
        SYSTEM.id,
        slot.distribution_id,
        slot.id,
        slot.account_id,
        before=before,
        after={"status": str(slot.status)},
        data=payload,
    )
