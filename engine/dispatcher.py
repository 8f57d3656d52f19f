"""The dispatch step: claim due slots, publish them at most once, record each outcome.

`Dispatcher.tick()` is everything one firing does; a runner (`engine.adapters.
apscheduler_runner`) calls it on an interval and at the next due slot. The database is the
source of truth: slots are claimed with a lease by `Repository.claim_due_slots`, published
concurrently (bounded), and their outcomes written in chunked transactions with their audit
events (`engine.outcomes`; a failing chunk is retried slot by slot); fallbacks
(`engine.fallback`) decide retries and redistributions. Leases of slots in flight
are renewed (`engine.lease_keeper`), so only a dead worker's lease expires. A slot whose
lease expired while CLAIMED (its worker died mid-publish) goes back to the queue only when
the publisher de-duplicates by idempotency key, or can look up its own posts (a Reconciler);
otherwise it becomes OUTCOME_UNKNOWN.

Reconcile before retry: a slot that may already be posted (a timeout, reset or 5xx after
sending, a worker killed mid-publish) is first looked up on the platform, after the
platform's visibility delay. Found: PUBLISHED (`slot.reconciled`). Not found: sent once more.
Cannot tell, or in doubt again after that one resend: OUTCOME_UNKNOWN, a human decides.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from engine.anomalies import Outcome
from engine.catch_up import CatchUp
from engine.errors import (
    AccountSuspended,
    AuthExpired,
    ConcurrentModification,
    OutcomeUnknown,
    PublishError,
    SlotNotFound,
    StorageError,
    UnknownPublishError,
)
from engine.event_kinds import EventKind
from engine.fallback import RedistributionPolicy, account_available
from engine.lease_keeper import LeaseKeeper
from engine.lifecycle import advance_slot
from engine.models import (
    Account,
    AccountState,
    Distribution,
    DistributionStatus,
    Event,
    SafetyMode,
    Slot,
    SlotStatus,
)
from engine.monitoring import RunMonitor
from engine.outcomes import (
    RECONCILE,
    OutcomeWriter,
    PublishOutcome,
    TickReport,
    complete_if_done,
    slot_event,
)
from engine.platforms import DEFAULT_PLATFORMS, PlatformTable
from engine.ports import (
    Clock,
    Notifier,
    Publisher,
    PublishRequest,
    Reconciler,
    Repository,
    UnitOfWork,
)
from engine.post_limits import held_by_limits
from engine.publisher_routing import (
    publisher_name,
    reconciler_for,
    route_publisher,
    visibility_delay,
)

log = logging.getLogger(__name__)

# failure_kind of a queued slot that may already be posted: re-queued after its worker's
# lease expired mid-publish, or an OUTCOME_UNKNOWN slot a human chose to retry.
IN_DOUBT = "in_doubt"


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
    # Claims in flight are renewed this often (None: a third of the lease), so a publish
    # longer than the lease (a large video) is never taken over by another replica.
    lease_renew_every: timedelta | None = None
    max_drain_seconds: float = 5.0
    idle_check_seconds: float = 5.0
    completion_check_seconds: float = 2.0
    account_cache_seconds: float = 1.0
    record_attempts: int = 3
    # Outcomes are written this many slots per transaction; a chunk that fails is
    # retried slot by slot, so one bad record never blocks the others.
    record_chunk: int = 100


@dataclass(slots=True)
class _Context:
    distributions: dict[str, Distribution]
    accounts: dict[str, Account]


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
        policy: RedistributionPolicy | None = None,
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
        self.policy = policy or RedistributionPolicy()
        self.config = config or DispatcherConfig()
        self._monitor = monitor
        self._lock = asyncio.Lock()
        self._last_idle_check = float("-inf")
        self._completion_checked: dict[str, float] = {}
        # Request, content and safety mode never change after creation: cached while the
        # run goes on, released when it ends (see `_forget`).
        self._distributions: dict[str, Distribution] = {}
        # Account state is cached briefly (wall seconds) and dropped when we change it.
        self._accounts: dict[str, tuple[float, Account]] = {}
        self._writer = OutcomeWriter(
            self.config.worker_id,
            self.policy,
            platforms,
            forget_account=lambda account_id: self._accounts.pop(account_id, None),
        )
        # Late slots are re-spaced before publishing, never sent in a burst (engine.catch_up).
        # A scaled clock (the demo) cannot keep gaps finer than a tick's wall-time jitter
        # (~0.5 s measured under load, i.e. 6 demo minutes at 720x): re-spacing posts by such
        # gaps fed back on itself (each late re-time made the next post late) and the demo
        # published 4 of 138 posts in 5 minutes. Gaps below that, in its time, are left as
        # planned; at real speed the resolution stays 1 s.
        speed = float(getattr(clock, "speed", 1.0) or 1.0)
        resolution = timedelta(seconds=max(1.0, 0.5 * speed))
        self._catch_up = CatchUp(
            repository,
            platforms,
            self.config.worker_id,
            resolution=resolution,
            speed=lambda: float(getattr(clock, "speed", 1.0) or 1.0),
        )
        self._leases = LeaseKeeper(
            repository,
            clock,
            self.config.worker_id,
            self.config.lease,
            every=self.config.lease_renew_every,
        )
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
        started = self._clock.monotonic()
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
            if self._clock.monotonic() - started > self.config.max_drain_seconds:
                break
        if self._monitor is not None:
            for distribution_id in sorted(touched):
                if await self._monitor.enforce(distribution_id):
                    report.paused.append(distribution_id)
        now_mono = self._clock.monotonic()
        if not touched and now_mono - self._last_idle_check >= self.config.idle_check_seconds:
            # Runs whose last outcome was written by a process that then died, or whose
            # last slots were skipped by hand, are completed here.
            self._last_idle_check = now_mono
            async with self._repository.unit_of_work() as uow:
                executing = await uow.list_distributions([DistributionStatus.EXECUTING], limit=100)
            touched.update(d.id for d in executing)
            if len(executing) < 100:
                # Nothing is due: runs that are no longer executing (cancelled, halted,
                # paused) need nothing cached until they are claimed again.
                for distribution_id in set(self._distributions) - {d.id for d in executing}:
                    self._forget(distribution_id)
        await self._complete_finished(touched, report)

    async def _complete_finished(self, touched: set[str], report: TickReport) -> None:
        # Counting a big run's slots on every tick would cost more than the tick itself:
        # check when nothing is claimable any more, else at most every few seconds.
        if not touched:
            return
        nothing_due = await self._repository.next_due_at() is None
        now_mono = self._clock.monotonic()
        for distribution_id in sorted(touched):
            last = self._completion_checked.get(distribution_id, float("-inf"))
            if not nothing_due and now_mono - last < self.config.completion_check_seconds:
                continue
            self._completion_checked[distribution_id] = now_mono
            if await complete_if_done(
                self._repository, self._notifier, self._clock, distribution_id
            ):
                report.completed.append(distribution_id)
                self._forget(distribution_id)

    def _forget(self, distribution_id: str) -> None:
        """Release what is kept about a distribution that has ended."""
        self._distributions.pop(distribution_id, None)
        self._completion_checked.pop(distribution_id, None)

    def tracked(self) -> int:
        """How many distributions have state kept here (it falls as they end)."""
        return len(self._distributions.keys() | self._completion_checked.keys())

    # --- leases

    async def _reclaim_expired(self, report: TickReport) -> None:
        now = self._clock.now()
        expired = await self._repository.expired_claims(now=now, limit=500)
        if not expired:
            return
        review_ok = self._review_publisher is None or self._review_publisher.supports_idempotency
        events: list[Event] = []
        async with self._repository.unit_of_work() as uow:
            current = await self._still_claimed(uow, expired)
            accounts = {
                a.id: a for a in await uow.get_accounts(sorted({s.account_id for s in expired}))
            }
            for stale in expired:
                slot = current.get(stale.id)
                if (
                    slot is None
                    or slot.status != SlotStatus.CLAIMED
                    or (slot.lease_expires_at is not None and slot.lease_expires_at > now)
                ):
                    continue  # someone else reclaimed or finished it
                before: dict[str, object] = {
                    "status": str(slot.status),
                    "claimed_by": slot.claimed_by,
                }
                account = accounts.get(slot.account_id)
                # Each account's own publisher decides (a router mixes kinds).
                routed = route_publisher(self._publisher, account) if account else self._publisher
                idempotent = routed.supports_idempotency and review_ok
                if account is not None and reconciler_for(self._publisher, account) is not None:
                    slot.status = advance_slot(slot.status, "release")
                    slot.failure_kind = RECONCILE
                    kind = "slot.retry_scheduled"
                    reason = (
                        f"worker {slot.claimed_by} stopped mid-publish; Herald looks for the "
                        "post on the platform before sending it again"
                    )
                    report.requeued += 1
                elif idempotent:
                    slot.status = advance_slot(slot.status, "release")
                    slot.failure_kind = IN_DOUBT
                    kind = EventKind.SLOT_RETRY_SCHEDULED
                    reason = (
                        f"worker {slot.claimed_by} stopped mid-publish; re-queued (the "
                        "publisher de-duplicates by idempotency key)"
                    )
                    report.requeued += 1
                else:
                    slot.status = advance_slot(slot.status, "outcome_unknown")
                    slot.failure_kind = "outcome_unknown"
                    kind = EventKind.SLOT_OUTCOME_UNKNOWN
                    reason = (
                        f"worker {slot.claimed_by} stopped mid-publish and the publisher cannot "
                        "de-duplicate: a human must check whether it was posted"
                    )
                    report.outcome_unknown += 1
                slot.error = reason
                slot.claimed_by = None
                slot.lease_expires_at = None
                await uow.save_slot(slot)
                event = slot_event(now, kind, slot, before=before, data={"reason": reason})
                await uow.append_event(event)
                events.append(event)
        await self._notify(events)

    # --- one batch

    async def _process(self, slots: list[Slot], report: TickReport) -> None:
        # The batch's leases are renewed until its outcomes are recorded (engine.lease_keeper).
        async with self._leases.held([s.id for s in slots]):
            await self._process_held(slots, report)

    async def _process_held(self, slots: list[Slot], report: TickReport) -> None:
        context = await self._context(slots)
        # Late slots are re-spaced first (engine.catch_up): only those due now go on.
        slots, events = await self._catch_up.space(slots, context.distributions, self._clock.now())
        report.respaced += sum(int(e.data.get("slots", 0)) for e in events)
        await self._notify(events)
        # In-doubt slots are not held by limits: they may need no send at all.
        held = await held_by_limits(
            self._repository,
            [
                (s, context.accounts[s.account_id])
                for s in slots
                if s.account_id in context.accounts and s.failure_kind not in (RECONCILE, IN_DOUBT)
            ],
            table=self._platforms,
            publisher_of=lambda account: publisher_name(self._publisher, account),
            now=self._clock.now(),
        )
        limit = asyncio.Semaphore(self.config.concurrency)

        async def one(slot: Slot) -> PublishOutcome:
            hold = held.get(slot.id)
            if hold is not None:  # a known API limit: wait for its window, do not send
                now = self._clock.now()
                return PublishOutcome(now, postpone_until=hold.until, postpone_reason=hold.reason)
            async with limit:
                return await self._handle(slot, context)

        results = await asyncio.gather(*(one(slot) for slot in slots))
        pairs = list(zip(slots, results, strict=True))
        size = max(1, self.config.record_chunk)
        for start in range(0, len(pairs), size):
            await self._record_chunk(pairs[start : start + size], context, report)

    async def _context(self, slots: list[Slot]) -> _Context:
        now_mono = self._clock.monotonic()
        ttl = self.config.account_cache_seconds
        missing = {s.distribution_id for s in slots} - self._distributions.keys()
        stale = {
            s.account_id
            for s in slots
            if now_mono - self._accounts.get(s.account_id, (float("-inf"), None))[0] > ttl
        }
        if missing or stale:
            async with self._repository.unit_of_work() as uow:
                for distribution_id in missing:
                    self._distributions[distribution_id] = await uow.get_distribution(
                        distribution_id
                    )
                loaded = await uow.get_accounts(sorted(stale))
            for account in loaded:
                self._accounts[account.id] = (now_mono, account)
            for account_id in stale - {a.id for a in loaded}:
                self._accounts.pop(account_id, None)
        accounts = {
            s.account_id: self._accounts[s.account_id][1]
            for s in slots
            if s.account_id in self._accounts
        }
        distributions = {d: self._distributions[d] for d in {s.distribution_id for s in slots}}
        return _Context(distributions, accounts)

    async def _handle(self, slot: Slot, context: _Context) -> PublishOutcome:
        distribution = context.distributions[slot.distribution_id]
        account = context.accounts.get(slot.account_id)
        now = self._clock.now()
        # A slot re-queued after its worker died may already be posted: only the publisher
        # (de-duplicating by key) can tell, so it skips the account pre-checks below.
        in_doubt = slot.failure_kind == IN_DOUBT
        if account is None:
            message = f"account {slot.account_id} no longer exists"
            return PublishOutcome(now, error=UnknownPublishError(message))
        if in_doubt or slot.failure_kind == RECONCILE:
            if self._reconciler(distribution, account) is not None:
                return await self._reconcile(slot, distribution, account)
            return await self._publish(slot, distribution, account)
        if account.state == AccountState.SUSPENDED:
            return PublishOutcome(
                now, error=AccountSuspended(f"{account.handle} is marked suspended")
            )
        if account.state == AccountState.RATE_LIMITED and not account_available(account, now):
            return PublishOutcome(now, postpone_until=account.rate_limited_until)
        if account.state == AccountState.NEEDS_AUTH:
            # Like a suspension: the slot follows the suspended-account fallback.
            return PublishOutcome(
                now, error=AuthExpired(f"{account.handle} needs reconnecting (NEEDS_AUTH)")
            )
        if account.state == AccountState.PAUSED:
            message = f"{account.handle} is {account.state}, not publishing"
            return PublishOutcome(now, error=UnknownPublishError(message))
        return await self._publish(slot, distribution, account)

    async def _reconcile(
        self, slot: Slot, distribution: Distribution, account: Account
    ) -> PublishOutcome:
        """Look for the post an earlier attempt may have made; send once more if none."""
        reconciler = self._reconciler(distribution, account)
        assert reconciler is not None
        # Every attempt of the slot was sent after it was first scheduled.
        sent_at = slot.scheduled_at
        request = self._request(slot, distribution, account, sent_before_at=sent_at)
        try:
            found = await reconciler.find_post(request, sent_at)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            message = (
                f"may have been posted, and Herald could not check the platform "
                f"({type(exc).__name__}: {exc}): mark it posted, retry or skip"
            )
            return PublishOutcome(self._clock.now(), error=OutcomeUnknown(message))
        if found is not None:
            return PublishOutcome(self._clock.now(), receipt=found)
        return await self._publish(slot, distribution, account, resend=True)

    def _reconciler(self, distribution: Distribution, account: Account) -> Reconciler | None:
        if distribution.safety_mode == SafetyMode.MANUAL and self._review_publisher is not None:
            return None  # review-only runs post nowhere real
        return reconciler_for(self._publisher, account)

    def _request(
        self,
        slot: Slot,
        distribution: Distribution,
        account: Account,
        *,
        sent_before_at: datetime | None = None,
    ) -> PublishRequest:
        return PublishRequest(
            slot_id=slot.id,
            distribution_id=slot.distribution_id,
            account=account,
            platform=slot.platform,
            language=slot.language,
            caption=slot.caption,
            hashtags=slot.hashtags,
            content=distribution.request.item(slot.content_id),
            content_type=slot.content_type,
            idempotency_key=slot.idempotency_key or f"herald:{slot.id}",
            sent_before_at=sent_before_at,
        )

    async def _publish(
        self, slot: Slot, distribution: Distribution, account: Account, *, resend: bool = False
    ) -> PublishOutcome:
        publisher = self._publisher
        if distribution.safety_mode == SafetyMode.MANUAL and self._review_publisher is not None:
            publisher = self._review_publisher
        request = self._request(
            slot, distribution, account, sent_before_at=slot.scheduled_at if resend else None
        )
        try:
            receipt = await publisher.publish(request)
            return PublishOutcome(self._clock.now(), receipt=receipt)
        except OutcomeUnknown as exc:
            now = self._clock.now()
            reconciler = None if resend else reconciler_for(publisher, account)
            if reconciler is None:
                return PublishOutcome(now, error=exc)
            return PublishOutcome(now, error=exc, reconcile_at=now + visibility_delay(reconciler))
        except PublishError as exc:
            return PublishOutcome(self._clock.now(), error=exc)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # A publisher bug after the request may have left: never guess it failed.
            log.exception("publisher raised unexpectedly for slot %s", slot.id)
            message = f"publisher error: {type(exc).__name__}: {exc}"
            return PublishOutcome(self._clock.now(), error=OutcomeUnknown(message))

    async def _record_chunk(
        self, items: list[tuple[Slot, PublishOutcome]], context: _Context, report: TickReport
    ) -> None:
        recorded: list[tuple[Slot, PublishOutcome, list[Event], str | None]] = []
        local = TickReport()
        for attempt in range(self.config.record_attempts):
            recorded, local = [], TickReport()
            try:
                async with self._repository.unit_of_work() as uow:
                    current = await self._still_claimed(uow, [slot for slot, _ in items])
                    for slot, result in items:
                        distribution = context.distributions[slot.distribution_id]
                        events, kind = await self._writer.write(
                            uow, slot, current.get(slot.id), distribution, result, local
                        )
                        recorded.append((slot, result, events, kind))
                break
            except (StorageError, ConcurrentModification) as exc:
                if len(items) > 1:
                    for item in items:  # isolate the bad record
                        await self._record_chunk([item], context, report)
                    return
                if attempt + 1 == self.config.record_attempts or not exc.temporary:
                    # The lease will expire and the slot is reclaimed safely (see docstring).
                    log.error("could not record outcome of slot %s: %s", items[0][0].id, exc)
                    return
                await asyncio.sleep(0.05 * (attempt + 1))
        report.add(local)
        for slot, result, events, kind in recorded:
            await self._notify(events)
            if kind is not None and self._monitor is not None:
                self._monitor.observe(
                    slot.distribution_id, Outcome(result.at, slot.account_id, kind)
                )

    async def _still_claimed(self, uow: UnitOfWork, slots: list[Slot]) -> dict[str, Slot]:
        """The current rows of `slots` that are still CLAIMED, read in one query per
        distribution when the chunk is large (else one lookup per slot)."""
        found: dict[str, Slot] = {}
        wanted = {s.id for s in slots}
        if len(slots) <= 3:
            for slot in slots:
                with contextlib.suppress(SlotNotFound):
                    found[slot.id] = await uow.get_slot(slot.id)
            return found
        for distribution_id in {s.distribution_id for s in slots}:
            for row in await uow.list_slots(distribution_id, [SlotStatus.CLAIMED]):
                if row.id in wanted:
                    found[row.id] = row
        return found

    async def _notify(self, events: Iterable[Event]) -> None:
        for event in events:
            await self._notifier.notify(event)
