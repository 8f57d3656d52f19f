"""APSchedulerRunner: a real AsyncIOScheduler ticking the dispatcher on a scaled clock."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta

from engine.adapters.apscheduler_runner import APSchedulerRunner
from engine.clock import ScaledClock
from engine.dispatcher import Dispatcher, DispatcherConfig
from engine.models import SlotStatus
from engine.ports import PublishReceipt, PublishRequest
from engine.simulated_publisher import SimulatedPublisher
from tests.engine.execution_support import (
    RecordingNotifier,
    make_accounts,
    memory_repository,
    seed_run,
    slots_of,
)


async def _wait_for(predicate, timeout: float = 5.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate():
            return True
        await asyncio.sleep(0.02)
    return False


class GatedPublisher:
    """Publishes only once `gate` is set; `entered` says a publish is in flight."""

    supports_idempotency = True

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.entered = asyncio.Event()

    async def publish(self, request: PublishRequest) -> PublishReceipt:
        self.entered.set()
        await self.gate.wait()
        return PublishReceipt(f"post-{request.slot_id}")


def _setup(speed: float, interval: float, publisher=None, **options):  # type: ignore[no-untyped-def]
    repository = memory_repository()
    clock = ScaledClock(datetime.now(UTC), speed)
    dispatcher = Dispatcher(
        repository,
        publisher or SimulatedPublisher(),
        clock,
        RecordingNotifier(),
        config=DispatcherConfig(worker_id="w-runner"),
    )
    runner = APSchedulerRunner(dispatcher, repository, clock, interval_seconds=interval, **options)
    return repository, clock, runner


class TestAPSchedulerRunner:
    async def test_runs_a_compressed_six_hour_window(self) -> None:
        """36 slots over 6 h at 36000x publish in about a second, each on time, two jobs only."""
        repository, clock, runner = _setup(36000, 0.1)
        distribution, _ = await seed_run(repository, make_accounts(12), start=clock.now())
        # About wake-ups, not gaps: at 36000x a 17 ms stall is 10 plan minutes, so the plan
        # asks for none (catch-up spacing is tested in tests/engine/test_catch_up.py).
        async with repository.unit_of_work() as uow:
            d = await uow.get_distribution(distribution.id)
            d.request = d.request.model_copy(
                update={"min_gap_minutes": 0.0, "duplicate_gap_minutes": 0.0}
            )
            await uow.save_distribution(d)
        await runner.start()
        try:
            assert len(runner._scheduler.get_jobs()) <= 2  # type: ignore[union-attr]

            async def done() -> bool:
                slots = await slots_of(repository, distribution.id)
                return all(s.status == SlotStatus.PUBLISHED for s in slots)

            assert await _wait_for(done)
            assert runner.healthy()[0]
        finally:
            await runner.stop()
        slots = await slots_of(repository, distribution.id)
        late = max((s.executed_at - s.due_at).total_seconds() for s in slots)  # type: ignore[operator]
        assert late / clock.speed < 0.15  # wall seconds: wake-ups, not just the 0.1 s tick
        assert len(await slots_of(repository, distribution.id)) == 36

    async def test_wakeup_fires_before_a_slow_interval(self) -> None:
        """With a 30 s interval, a slot due in 0.3 s is still published within a second."""
        repository, clock, runner = _setup(1.0, 30.0)
        distribution, _ = await seed_run(
            repository, make_accounts(1, ["twitter"]), start=clock.now() + timedelta(seconds=0.3)
        )
        await runner.start()
        try:

            async def published() -> bool:
                return (await slots_of(repository, distribution.id))[0].status == "PUBLISHED"

            assert await _wait_for(published, timeout=2.0)
        finally:
            await runner.stop()

    async def test_stop_stops_ticking(self) -> None:
        """After stop() no more ticks happen and health says stopped."""
        _, _, runner = _setup(1.0, 0.05)
        await runner.start()
        await asyncio.sleep(0.2)
        await runner.stop()
        ticks = runner.ticks
        await asyncio.sleep(0.2)
        assert ticks > 0 and runner.ticks == ticks
        assert runner.healthy() == (False, "dispatcher runner is stopped")

    async def test_stop_lets_a_tick_in_flight_finish(self, caplog) -> None:  # type: ignore[no-untyped-def]
        """stop() during a publish waits for it: nothing logged as an error, nothing CLAIMED."""
        publisher = GatedPublisher()
        repository, clock, runner = _setup(1.0, 0.05, publisher)
        distribution, _ = await seed_run(
            repository, make_accounts(1, ["twitter"]), start=clock.now()
        )
        caplog.set_level(logging.INFO)
        await runner.start()
        await asyncio.wait_for(publisher.entered.wait(), 5)
        stopping = asyncio.create_task(runner.stop())
        await asyncio.sleep(0.2)
        assert not stopping.done()  # still waiting for the publish
        publisher.gate.set()
        await asyncio.wait_for(stopping, 5)
        await asyncio.sleep(0.05)  # APScheduler's done-callbacks run
        assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
        assert "CancelledError" not in caplog.text
        statuses = [s.status for s in await slots_of(repository, distribution.id)]
        assert statuses == [SlotStatus.PUBLISHED]

    async def test_stop_cancels_a_stuck_tick_quietly(self, caplog) -> None:  # type: ignore[no-untyped-def]
        """A tick still running after stop_timeout is cancelled with a warning, no traceback."""
        publisher = GatedPublisher()  # never opened: the publish hangs
        repository, clock, runner = _setup(1.0, 0.05, publisher, stop_timeout_seconds=0.2)
        await seed_run(repository, make_accounts(1, ["twitter"]), start=clock.now())
        caplog.set_level(logging.INFO)
        await runner.start()
        await asyncio.wait_for(publisher.entered.wait(), 5)
        started = time.monotonic()
        await asyncio.wait_for(runner.stop(), 5)
        await asyncio.sleep(0.05)
        assert time.monotonic() - started < 2
        assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
        assert "CancelledError" not in caplog.text
        assert "cancelled" in caplog.text
        assert not runner.running
