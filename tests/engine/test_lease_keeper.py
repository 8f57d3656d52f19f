"""A publish longer than the claim lease (a 1 GB upload) is never taken over by a replica."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from engine.clock import ManualClock
from engine.dispatcher import Dispatcher, DispatcherConfig
from engine.models import SlotStatus
from engine.ports import PublishReceipt, PublishRequest
from tests.engine.execution_support import (
    T0,
    RecordingNotifier,
    make_accounts,
    seed_run,
    slots_of,
)

LEASE = timedelta(minutes=2)


class SlowUpload:
    """Publishes only when released, like an upload that takes longer than any lease.

    It claims to de-duplicate (so a re-claimed slot would be re-queued and sent again): every
    call is a post, so two calls are a double post."""

    supports_idempotency = True

    def __init__(self, calls: list[str] | None = None) -> None:
        self.calls: list[str] = [] if calls is None else calls
        self.started = asyncio.Event()
        self.release = asyncio.Event()

    async def publish(self, request: PublishRequest) -> PublishReceipt:
        self.calls.append(request.slot_id)
        self.started.set()
        await self.release.wait()
        return PublishReceipt(f"post-{len(self.calls)}", None)


def dispatcher(repository: Any, publisher: SlowUpload, clock: ManualClock, worker: str) -> Any:
    config = DispatcherConfig(
        worker_id=worker, lease=LEASE, lease_renew_every=timedelta(milliseconds=10)
    )
    return Dispatcher(repository, publisher, clock, RecordingNotifier(), config=config)


async def lease_of(repository: Any, distribution_id: str) -> Any:
    return (await slots_of(repository, distribution_id))[0].lease_expires_at


class TestLongUpload:
    async def test_a_second_dispatcher_does_not_reclaim_a_slot_still_uploading(
        self, repository: Any
    ) -> None:
        """An upload lasting three leases keeps its claim (renewed as it goes): a replica
        ticking all along re-claims nothing, and the slot is posted exactly once."""
        clock = ManualClock(T0)
        distribution, _ = await seed_run(repository, make_accounts(1, ["youtube"]))
        upload = SlowUpload()
        quick = SlowUpload(upload.calls)  # the replica's uploads finish at once
        quick.release.set()
        first = dispatcher(repository, upload, clock, "w-first")
        second = dispatcher(repository, quick, clock, "w-second")
        running = asyncio.create_task(first.tick())
        await asyncio.wait_for(upload.started.wait(), 5)
        for _ in range(12):  # 6 minutes in 30 s steps: time passes, the upload goes on
            clock.advance(timedelta(seconds=30))
            for _ in range(500):  # the keeper's next beat (every 10 ms of wall time)
                if await lease_of(repository, distribution.id) == clock.now() + LEASE:
                    break
                await asyncio.sleep(0.01)
            report = await asyncio.wait_for(second.tick(), 5)
            assert (report.claimed, report.requeued, report.outcome_unknown) == (0, 0, 0)
        upload.release.set()
        await asyncio.wait_for(running, 5)
        [slot] = await slots_of(repository, distribution.id)
        assert slot.status == SlotStatus.PUBLISHED and slot.attempts == 1
        assert upload.calls == [slot.id]

    async def test_a_dead_workers_lease_still_expires(self, repository: Any) -> None:
        """Renewal lasts only while the worker publishes: a claim nobody keeps expires and
        is taken over as before."""
        clock = ManualClock(T0)
        await seed_run(repository, make_accounts(1, ["youtube"]))
        await repository.claim_due_slots(now=T0, limit=1, worker_id="dead", lease=LEASE)
        upload = SlowUpload()
        upload.release.set()
        clock.advance(LEASE + timedelta(seconds=1))
        report = await dispatcher(repository, upload, clock, "w-alive").tick()
        assert report.requeued == 1
