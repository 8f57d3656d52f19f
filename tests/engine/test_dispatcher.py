"""The dispatch step on the memory repository with a manual clock: outcomes and fallbacks."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import timedelta

from engine.clock import ManualClock
from engine.dispatcher import Dispatcher, DispatcherConfig
from engine.errors import (
    AccountSuspended,
    NetworkError,
    OutcomeUnknown,
    RateLimited,
    UnknownPublishError,
)
from engine.fallback import RedistributionPolicy
from engine.models import AccountState, DistributionStatus, SafetyMode, SlotStatus
from engine.simulated_publisher import FailureRates, SimulatedPublisher
from tests.engine.execution_support import (
    T0,
    RecordingNotifier,
    ScriptedPublisher,
    distribution_of,
    make_accounts,
    memory_repository,
    run_until,
    seed_run,
    slots_of,
)

MINUTE = timedelta(minutes=1)


def _dispatcher(repository, publisher, clock, notifier, **kwargs) -> Dispatcher:  # type: ignore[no-untyped-def]
    config = kwargs.pop("config", DispatcherConfig(worker_id="w-test", lease=timedelta(minutes=5)))
    return Dispatcher(repository, publisher, clock, notifier, config=config, **kwargs)


class TestDispatcher:
    async def test_six_hour_run_publishes_every_slot_once_on_time(self) -> None:
        """A 6 h run of 36 slots publishes each once, never early, and completes the run."""
        repository = memory_repository()
        clock = ManualClock(T0 - MINUTE)
        notifier = RecordingNotifier()
        publisher = ScriptedPublisher()
        accounts = make_accounts(per_platform=12)
        distribution, slots = await seed_run(repository, accounts)
        dispatcher = _dispatcher(repository, publisher, clock, notifier)

        await run_until(dispatcher, clock, T0 + timedelta(hours=6, minutes=30), MINUTE)

        stored = await slots_of(repository, distribution.id)
        assert {s.status for s in stored} == {SlotStatus.PUBLISHED}
        assert Counter(c.slot_id for c in publisher.calls) == Counter(s.id for s in slots)
        assert all(s.executed_at >= s.scheduled_at for s in stored)
        assert max(s.executed_at - s.scheduled_at for s in stored) <= MINUTE
        assert (await distribution_of(repository, distribution.id)).status == "COMPLETED"
        assert notifier.kinds().count("slot.published") == 36
        assert notifier.kinds()[-1] == "distribution.completed"

    async def test_nothing_is_claimed_before_it_is_due(self) -> None:
        """A tick before the first due time publishes nothing."""
        repository = memory_repository()
        clock = ManualClock(T0 - MINUTE)
        publisher = ScriptedPublisher()
        await seed_run(repository, make_accounts(1))
        report = await _dispatcher(repository, publisher, clock, RecordingNotifier()).tick()
        assert report.claimed == 0 and publisher.calls == []

    async def test_rate_limit_retries_after_two_hours_and_marks_the_account(self) -> None:
        """A 429 without Retry-After retries 2 h later and marks the account RATE_LIMITED."""
        repository = memory_repository()
        clock = ManualClock(T0)
        notifier = RecordingNotifier()
        accounts = make_accounts(1, ["twitter"])
        distribution, slots = await seed_run(repository, accounts)
        publisher = ScriptedPublisher({slots[0].id: [RateLimited("429")]})
        dispatcher = _dispatcher(repository, publisher, clock, notifier)

        await dispatcher.tick()
        slot = (await slots_of(repository, distribution.id))[0]
        async with repository.unit_of_work() as uow:
            account = await uow.get_account(accounts[0].id)
        assert slot.status == SlotStatus.RETRY_SCHEDULED
        assert slot.due_at == T0 + timedelta(hours=2)
        assert account.state == AccountState.RATE_LIMITED
        assert account.rate_limited_until == T0 + timedelta(hours=2)
        assert {"slot.retry_scheduled", "account.rate_limited"} <= set(notifier.kinds())

        clock.advance(timedelta(hours=2))
        await dispatcher.tick()
        slot = (await slots_of(repository, distribution.id))[0]
        assert slot.status == SlotStatus.PUBLISHED and slot.attempts == 2

    async def test_retry_after_header_wins_over_the_default_delay(self) -> None:
        """A rate limit with Retry-After 10 min retries 10 min later."""
        repository = memory_repository()
        clock = ManualClock(T0)
        distribution, slots = await seed_run(repository, make_accounts(1, ["twitter"]))
        publisher = ScriptedPublisher({slots[0].id: [RateLimited("429", retry_after=10 * MINUTE)]})
        await _dispatcher(repository, publisher, clock, RecordingNotifier()).tick()
        assert (await slots_of(repository, distribution.id))[0].due_at == T0 + 10 * MINUTE

    async def test_other_slots_of_a_rate_limited_account_wait_without_publishing(self) -> None:
        """Once an account is rate-limited, its other due slots are postponed, not attempted."""
        repository = memory_repository()
        clock = ManualClock(T0)
        accounts = make_accounts(1, ["twitter"])
        distribution, slots = await seed_run(
            repository, accounts, slots_per_account=2, spacing=MINUTE
        )
        publisher = ScriptedPublisher({slots[0].id: [RateLimited("429")]})
        dispatcher = _dispatcher(repository, publisher, clock, RecordingNotifier())
        await dispatcher.tick()
        clock.advance(MINUTE)
        report = await dispatcher.tick()
        second = next(s for s in await slots_of(repository, distribution.id) if s.id == slots[1].id)
        assert report.postponed == 1
        assert [c.slot_id for c in publisher.calls] == [slots[0].id]
        assert second.status == SlotStatus.RETRY_SCHEDULED and second.attempts == 0
        assert second.due_at == T0 + timedelta(hours=2)

    async def test_suspension_redistributes_to_another_account_same_platform_first(self) -> None:
        """A suspended account is marked and its slot moves to a healthy account."""
        repository = memory_repository()
        clock = ManualClock(T0)
        notifier = RecordingNotifier()
        accounts = make_accounts(2, ["tiktok", "instagram"])
        # only the first tiktok account gets a slot; tiktok-01 is free to take it over
        distribution, slots = await seed_run(repository, accounts[:1])
        async with repository.unit_of_work() as uow:
            await uow.upsert_accounts(accounts)
        publisher = ScriptedPublisher({slots[0].id: [AccountSuspended("banned")]})
        dispatcher = _dispatcher(repository, publisher, clock, notifier)

        await dispatcher.tick()
        await dispatcher.tick()

        stored = {s.id: s for s in await slots_of(repository, distribution.id)}
        original = stored[slots[0].id]
        moved = next(s for s in stored.values() if s.redistributed_from == original.id)
        assert original.status == SlotStatus.SKIPPED
        assert moved.account_id == "tiktok-01" and moved.status == SlotStatus.PUBLISHED
        assert moved.idempotency_key != original.idempotency_key
        async with repository.unit_of_work() as uow:
            assert (await uow.get_account("tiktok-00")).state == AccountState.SUSPENDED
        assert "slot.redistributed" in notifier.kinds() and "account.suspended" in notifier.kinds()

    async def test_suspension_with_no_eligible_account_fails_with_reason(self) -> None:
        """With nobody to take over, the slot is FAILED and says why."""
        repository = memory_repository()
        clock = ManualClock(T0)
        distribution, slots = await seed_run(repository, make_accounts(1, ["youtube"]))
        publisher = ScriptedPublisher({slots[0].id: [AccountSuspended("banned")]})
        await _dispatcher(repository, publisher, clock, RecordingNotifier()).tick()
        slot = (await slots_of(repository, distribution.id))[0]
        assert slot.status == SlotStatus.FAILED
        assert "no other eligible account" in (slot.error or "")

    async def test_network_error_retries_after_thirty_minutes(self) -> None:
        """A network error retries 30 min later."""
        repository = memory_repository()
        clock = ManualClock(T0)
        distribution, slots = await seed_run(repository, make_accounts(1, ["twitter"]))
        publisher = ScriptedPublisher({slots[0].id: [NetworkError("reset")]})
        await _dispatcher(repository, publisher, clock, RecordingNotifier()).tick()
        slot = (await slots_of(repository, distribution.id))[0]
        assert slot.status == SlotStatus.RETRY_SCHEDULED
        assert slot.due_at == T0 + timedelta(minutes=30)
        assert slot.failure_kind == "network"

    async def test_attempts_are_bounded(self) -> None:
        """A slot that keeps failing with network errors FAILS after max_attempts."""
        repository = memory_repository()
        clock = ManualClock(T0)
        distribution, slots = await seed_run(repository, make_accounts(1, ["twitter"]))
        publisher = ScriptedPublisher({slots[0].id: [NetworkError("reset")] * 5})
        dispatcher = _dispatcher(
            repository,
            publisher,
            clock,
            RecordingNotifier(),
            policy=RedistributionPolicy(max_attempts=3),
        )
        await run_until(dispatcher, clock, T0 + timedelta(hours=3), timedelta(minutes=15))
        slot = (await slots_of(repository, distribution.id))[0]
        assert slot.status == SlotStatus.FAILED and slot.attempts == 3
        assert len(publisher.calls) == 3
        assert "gave up after 3 attempts" in (slot.error or "")

    async def test_unknown_error_fails_at_once(self) -> None:
        """An unknown publish error is FAILED without a retry."""
        repository = memory_repository()
        clock = ManualClock(T0)
        distribution, slots = await seed_run(repository, make_accounts(1, ["twitter"]))
        publisher = ScriptedPublisher({slots[0].id: [UnknownPublishError("nope")]})
        await _dispatcher(repository, publisher, clock, RecordingNotifier()).tick()
        assert (await slots_of(repository, distribution.id))[0].status == SlotStatus.FAILED

    async def test_outcome_unknown_is_never_retried(self) -> None:
        """A timeout after sending ends OUTCOME_UNKNOWN and is not published again."""
        repository = memory_repository()
        clock = ManualClock(T0)
        notifier = RecordingNotifier()
        distribution, slots = await seed_run(repository, make_accounts(1, ["twitter"]))
        publisher = ScriptedPublisher({slots[0].id: [OutcomeUnknown("timeout")]})
        dispatcher = _dispatcher(repository, publisher, clock, notifier)
        await run_until(dispatcher, clock, T0 + timedelta(hours=4), timedelta(minutes=30))
        assert (await slots_of(repository, distribution.id))[0].status == "OUTCOME_UNKNOWN"
        assert len(publisher.calls) == 1
        assert "slot.outcome_unknown" in notifier.kinds()

    async def test_paused_distribution_is_not_claimed(self) -> None:
        """Slots of a PAUSED distribution stay QUEUED however late."""
        repository = memory_repository()
        clock = ManualClock(T0 + timedelta(hours=1))
        publisher = ScriptedPublisher()
        distribution, _ = await seed_run(
            repository, make_accounts(1), status=DistributionStatus.PAUSED
        )
        await _dispatcher(repository, publisher, clock, RecordingNotifier()).tick()
        assert publisher.calls == []
        assert {s.status for s in await slots_of(repository, distribution.id)} == {"QUEUED"}

    async def test_expired_lease_is_requeued_when_the_publisher_deduplicates(self) -> None:
        """A slot left CLAIMED by a dead worker goes back to the queue and is published once."""
        repository = memory_repository()
        clock = ManualClock(T0)
        distribution, _ = await seed_run(repository, make_accounts(1, ["twitter"]))
        await repository.claim_due_slots(
            now=T0, limit=10, worker_id="dead", lease=timedelta(minutes=2)
        )
        publisher = SimulatedPublisher(seed=1)
        dispatcher = _dispatcher(repository, publisher, clock, RecordingNotifier())
        assert (await dispatcher.tick()).claimed == 0  # lease still valid
        clock.advance(timedelta(minutes=3))
        report = await dispatcher.tick()
        assert report.requeued == 1
        await dispatcher.tick()
        assert (await slots_of(repository, distribution.id))[0].status == SlotStatus.PUBLISHED

    async def test_expired_lease_is_outcome_unknown_without_idempotency(self) -> None:
        """Without idempotency keys a dead worker's claim becomes OUTCOME_UNKNOWN, not a retry."""
        repository = memory_repository()
        clock = ManualClock(T0)
        distribution, _ = await seed_run(repository, make_accounts(1, ["twitter"]))
        await repository.claim_due_slots(
            now=T0, limit=10, worker_id="dead", lease=timedelta(minutes=2)
        )
        publisher = ScriptedPublisher()
        publisher.supports_idempotency = False
        clock.advance(timedelta(minutes=3))
        dispatcher = _dispatcher(repository, publisher, clock, RecordingNotifier())
        report = await dispatcher.tick()
        await dispatcher.tick()
        assert report.outcome_unknown == 1 and publisher.calls == []
        slot = (await slots_of(repository, distribution.id))[0]
        assert slot.status == SlotStatus.OUTCOME_UNKNOWN

        """Under a simulated failure mix every slot ends terminal and nothing posts twice."""
        repository = memory_repository()
        clock = ManualClock(T0)
        accounts = make_accounts(20)
        distribution, _ = await seed_run(repository, accounts, spacing=timedelta(minutes=1))
        rates = FailureRates(rate_limit=0.1, suspension=0.05, network=0.1, unknown=0.05)
        publisher = SimulatedPublisher(seed=7, rates=rates, clock=clock)
        dispatcher = _dispatcher(repository, publisher, clock, RecordingNotifier())
        # Ticks as often as slots are due: late ones are re-spaced, never sent in a burst.
        await run_until(dispatcher, clock, T0 + timedelta(hours=12), timedelta(minutes=1))
        stored = await slots_of(repository, distribution.id)
        assert all(s.status in ("PUBLISHED", "FAILED", "SKIPPED") for s in stored)
        assert publisher.posts == sum(s.status == "PUBLISHED" for s in stored)
        assert (await distribution_of(repository, distribution.id)).status == "COMPLETED"

    async def test_requeued_slot_asks_the_publisher_before_any_fallback(self) -> None:
        """A slot whose dead worker did post is recorded PUBLISHED even if its account was
        suspended meanwhile: the publisher's idempotency answers, not the pre-checks."""
        repository = memory_repository()
        clock = ManualClock(T0)
        accounts = make_accounts(1, ["twitter"])
        distribution, slots = await seed_run(repository, accounts)
        publisher = SimulatedPublisher(seed=1)
        dispatcher = _dispatcher(repository, publisher, clock, RecordingNotifier())
        (claimed,) = await repository.claim_due_slots(
            now=T0, limit=10, worker_id="dead", lease=timedelta(minutes=2)
        )
        # the dead worker's post went out before it died
        context = await dispatcher._context([claimed])
        await dispatcher._publish(claimed, distribution, context.accounts[claimed.account_id])
        async with repository.unit_of_work() as uow:
            account = await uow.get_account(accounts[0].id)
            await uow.save_account(replace(account, state=AccountState.SUSPENDED))
        clock.advance(timedelta(minutes=3))
        await dispatcher.tick()
        await dispatcher.tick()
        slot = (await slots_of(repository, distribution.id))[0]
        assert slot.status == SlotStatus.PUBLISHED and publisher.posts == 1
        assert slot.id == slots[0].id

    async def test_manual_mode_publishes_through_the_review_publisher(self) -> None:
        """A MANUAL distribution's slots go to the review (simulated) publisher only."""
        repository = memory_repository()
        clock = ManualClock(T0)
        distribution, _ = await seed_run(repository, make_accounts(1), mode=SafetyMode.MANUAL)
        real = ScriptedPublisher()
        review = SimulatedPublisher()
        dispatcher = _dispatcher(
            repository, real, clock, RecordingNotifier(), review_publisher=review
        )
        await run_until(dispatcher, clock, T0 + timedelta(hours=1), timedelta(minutes=10))
        assert real.calls == [] and review.posts == 3
        assert {s.status for s in await slots_of(repository, distribution.id)} == {"PUBLISHED"}
