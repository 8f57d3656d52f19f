"""Reconcile before retry: in-doubt slots are looked up on the platform before any resend."""

from __future__ import annotations

from datetime import datetime, timedelta

from engine.clock import ManualClock
from engine.dispatcher import Dispatcher, DispatcherConfig
from engine.errors import NetworkError, OutcomeUnknown
from engine.models import SlotStatus
from engine.ports import PublishReceipt, PublishRequest
from engine.publisher_routing import PublisherRouter
from tests.engine.execution_support import (
    T0,
    RecordingNotifier,
    ScriptedPublisher,
    make_accounts,
    memory_repository,
    seed_run,
    slots_of,
)

DELAY = timedelta(seconds=30)


class ScriptedReconciler(ScriptedPublisher):
    """A ScriptedPublisher that also answers `find_post` from a script (like a platform)."""

    def __init__(self, script=None, found=None) -> None:  # type: ignore[no-untyped-def]
        super().__init__(script)
        self.supports_idempotency = False
        self.visibility_delay = DELAY
        self.found: list[PublishReceipt | Exception | None] = list(found or [])
        self.lookups: list[tuple[PublishRequest, datetime]] = []

    async def find_post(self, request: PublishRequest, sent_at: datetime) -> PublishReceipt | None:
        self.lookups.append((request, sent_at))
        answer = self.found.pop(0) if self.found else None
        if isinstance(answer, Exception):
            raise answer
        return answer


async def _run(publisher, *, clock: ManualClock | None = None):  # type: ignore[no-untyped-def]
    repository = memory_repository()
    clock = clock or ManualClock(T0)
    notifier = RecordingNotifier()
    distribution, slots = await seed_run(repository, make_accounts(1, ["twitter"]))
    dispatcher = Dispatcher(
        repository,
        publisher,
        clock,
        notifier,
        config=DispatcherConfig(worker_id="w-rec", lease=timedelta(minutes=2)),
    )
    return repository, clock, notifier, distribution, slots[0].id, dispatcher


class TestReconcileBeforeRetry:
    async def test_timeout_after_send_found_is_published_without_resending(self) -> None:
        """OutcomeUnknown, then a lookup after the visibility delay finds it: PUBLISHED."""
        found = PublishReceipt("p-9", "https://x.com/a/status/p-9", reconciled=True)
        publisher = ScriptedReconciler({"d-launch.0": [OutcomeUnknown("timeout")]}, [found])
        repository, clock, notifier, d, _slot_id, dispatcher = await _run(publisher)
        await dispatcher.tick()
        (slot,) = await slots_of(repository, d.id)
        assert slot.status == SlotStatus.RETRY_SCHEDULED and slot.failure_kind == "reconcile"
        assert slot.due_at == T0 + DELAY
        clock.advance(DELAY)
        await dispatcher.tick()
        (slot,) = await slots_of(repository, d.id)
        assert (slot.status, slot.post_id) == (SlotStatus.PUBLISHED, "p-9")
        assert len(publisher.calls) == 1 and publisher.lookups[0][1] == T0
        assert "slot.reconciled" in notifier.kinds()

    async def test_not_found_is_sent_once_more(self) -> None:
        """Not found after the delay: sent once more, telling the publisher it is in doubt."""
        publisher = ScriptedReconciler({"d-launch.0": [OutcomeUnknown("reset")]}, [None])
        repository, clock, notifier, d, _slot_id, dispatcher = await _run(publisher)
        await dispatcher.tick()
        clock.advance(DELAY)
        await dispatcher.tick()
        (slot,) = await slots_of(repository, d.id)
        assert slot.status == SlotStatus.PUBLISHED and slot.post_id == "post-d-launch.0"
        assert len(publisher.calls) == 2 and publisher.calls[1].sent_before_at == T0
        assert "slot.reconciled" not in notifier.kinds()

    async def test_in_doubt_again_after_the_resend_asks_a_human(self) -> None:
        """A resend that is in doubt too is OUTCOME_UNKNOWN: never a third send."""
        script = {"d-launch.0": [OutcomeUnknown("5xx"), OutcomeUnknown("5xx again")]}
        publisher = ScriptedReconciler(script, [None])
        repository, clock, _notifier, d, _slot_id, dispatcher = await _run(publisher)
        await dispatcher.tick()
        clock.advance(DELAY)
        await dispatcher.tick()
        clock.advance(timedelta(hours=3))
        await dispatcher.tick()
        (slot,) = await slots_of(repository, d.id)
        assert slot.status == SlotStatus.OUTCOME_UNKNOWN and len(publisher.calls) == 2

    async def test_cannot_tell_is_outcome_unknown(self) -> None:
        """A lookup that fails leaves the decision to a human (OUTCOME_UNKNOWN), no resend."""
        script = {"d-launch.0": [OutcomeUnknown("timeout")]}
        publisher = ScriptedReconciler(script, [NetworkError("read failed")])
        repository, clock, _notifier, d, _slot_id, dispatcher = await _run(publisher)
        await dispatcher.tick()
        clock.advance(DELAY)
        await dispatcher.tick()
        (slot,) = await slots_of(repository, d.id)
        assert slot.status == SlotStatus.OUTCOME_UNKNOWN and len(publisher.calls) == 1
        assert "could not check the platform" in (slot.error or "")

    async def test_worker_killed_mid_publish_is_reconciled(self) -> None:
        """A dead worker's expired claim is looked up, found and PUBLISHED, not re-sent."""
        found = PublishReceipt("p-1", None, reconciled=True)
        publisher = ScriptedReconciler(found=[found])
        repository, clock, _notifier, d, _slot_id, dispatcher = await _run(publisher)
        await repository.claim_due_slots(
            now=T0, limit=10, worker_id="dead", lease=timedelta(minutes=2)
        )
        clock.advance(timedelta(minutes=3))
        report = await dispatcher.tick()
        assert report.requeued == 1
        await dispatcher.tick()
        (slot,) = await slots_of(repository, d.id)
        assert (slot.status, slot.post_id) == (SlotStatus.PUBLISHED, "p-1")
        assert publisher.calls == []

    async def test_router_reconciles_only_accounts_whose_publisher_can(self) -> None:
        """Through the router, an account on the default publisher keeps the old behaviour."""
        platform = ScriptedReconciler({"d-launch.0": [OutcomeUnknown("timeout")]})
        default = ScriptedPublisher({"d-launch.0": [OutcomeUnknown("timeout")]})
        default.supports_idempotency = False
        router = PublisherRouter(default, {"x": platform})
        repository, _clock, _notifier, d, _slot_id, dispatcher = await _run(router)
        await dispatcher.tick()
        (slot,) = await slots_of(repository, d.id)
        assert slot.status == SlotStatus.OUTCOME_UNKNOWN
        assert len(default.calls) == 1 and platform.calls == []

    async def test_dead_worker_on_an_idempotent_default_is_requeued_behind_a_router(
        self,
    ) -> None:
        """A router mixing publishers judges each account by its own publisher."""
        default = ScriptedPublisher()  # de-duplicates by idempotency key
        router = PublisherRouter(default, {"x": ScriptedReconciler()})
        repository, clock, _notifier, d, _slot_id, dispatcher = await _run(router)
        await repository.claim_due_slots(
            now=T0, limit=10, worker_id="dead", lease=timedelta(minutes=2)
        )
        clock.advance(timedelta(minutes=3))
        assert (await dispatcher.tick()).requeued == 1
        await dispatcher.tick()
        (slot,) = await slots_of(repository, d.id)
        assert slot.status == SlotStatus.PUBLISHED and len(default.calls) == 1


class TestMarkPosted:
    async def test_mark_posted_publishes_an_outcome_unknown_slot(self) -> None:
        """A human's Mark posted moves OUTCOME_UNKNOWN to PUBLISHED with an audit event."""
        from engine.models import Actor, Role
        from engine.service import DistributionService

        publisher = ScriptedPublisher({"d-launch.0": [OutcomeUnknown("timeout")]})
        publisher.supports_idempotency = False
        repository, clock, notifier, _d, slot_id, dispatcher = await _run(publisher)
        await dispatcher.tick()
        service = DistributionService(repository, clock, notifier)
        slot = await service.mark_posted(Actor("U_OPS", Role.OPERATOR), slot_id, post_id="p-7")
        assert (slot.status, slot.post_id) == (SlotStatus.PUBLISHED, "p-7")
        assert "slot.marked_posted" in notifier.kinds()
        assert "distribution.completed" in notifier.kinds()
