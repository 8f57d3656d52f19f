"""RunMonitor: anomalies during a run pause the distribution and raise a risk alert."""

from __future__ import annotations

from datetime import timedelta

from engine.anomalies import AnomalyThresholds, Outcome
from engine.clock import ManualClock
from engine.dispatcher import Dispatcher, DispatcherConfig
from engine.models import DistributionStatus
from engine.monitoring import MonitorConfig, RunMonitor
from engine.simulated_publisher import FailureRates, SimulatedPublisher
from tests.engine.execution_support import (
    T0,
    RecordingNotifier,
    distribution_of,
    make_accounts,
    memory_repository,
    seed_run,
)


class TestRunMonitor:
    async def test_rate_limit_burst_pauses_and_alerts(self) -> None:
        """Every account rate-limited at once pauses the run and emits risk.alert."""
        repository = memory_repository()
        clock = ManualClock(T0)
        notifier = RecordingNotifier()
        distribution, _ = await seed_run(repository, make_accounts(3), spacing=timedelta(seconds=1))
        monitor = RunMonitor(repository, clock, notifier)
        dispatcher = Dispatcher(
            repository,
            SimulatedPublisher(rates=FailureRates(rate_limit=1)),
            clock,
            notifier,
            config=DispatcherConfig(worker_id="w"),
            monitor=monitor,
        )
        clock.advance(timedelta(minutes=1))
        report = await dispatcher.tick()
        assert report.paused == [distribution.id]
        assert (await distribution_of(repository, distribution.id)).status == "PAUSED"
        alert = next(e for e in notifier.events if e.kind == "risk.alert")
        assert alert.data["paused"] is True and alert.data["level"] == "HIGH"
        assert alert.data["anomalies"][0]["kind"] == "rate_limits"

    async def test_alert_only_when_auto_pause_is_off(self) -> None:
        """With auto_pause off the alert is raised but the run keeps EXECUTING."""
        repository = memory_repository()
        clock = ManualClock(T0)
        notifier = RecordingNotifier()
        distribution, _ = await seed_run(repository, make_accounts(1))
        monitor = RunMonitor(
            repository,
            clock,
            notifier,
            MonitorConfig(AnomalyThresholds(suspensions=1), auto_pause=False),
        )
        monitor.observe(distribution.id, Outcome(T0, "tiktok-00", "suspended"))
        found = await monitor.enforce(distribution.id)
        assert [a.kind for a in found] == ["suspensions"]
        assert (await distribution_of(repository, distribution.id)).status == (
            DistributionStatus.EXECUTING
        )
        assert notifier.kinds() == ["risk.alert"]

    async def test_window_is_cleared_after_an_alert(self) -> None:
        """Once acted on, the same outcomes do not alert again."""
        repository = memory_repository()
        clock = ManualClock(T0)
        notifier = RecordingNotifier()
        distribution, _ = await seed_run(repository, make_accounts(1))
        monitor = RunMonitor(repository, clock, notifier)
        for i in range(3):
            monitor.observe(distribution.id, Outcome(T0, f"a{i}", "rate_limit"))
        assert await monitor.enforce(distribution.id)
        assert await monitor.enforce(distribution.id) == []
