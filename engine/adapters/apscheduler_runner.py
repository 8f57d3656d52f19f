"""`APSchedulerRunner`: APScheduler 3.x drives `Dispatcher.tick` inside the Herald process.

Two jobs, never one per slot (job stores must not be shared between processes, and a
date job is deleted when submitted): an interval tick, and one wake-up date job re-aimed
after every tick at the next due slot when it is nearer than the next tick. The
database stays the source of truth; the scheduler only decides when to look at it.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from engine.dispatcher import Dispatcher, TickReport
from engine.ports import Clock, Repository

log = logging.getLogger(__name__)

TICK_JOB = "herald-dispatch-tick"
WAKEUP_JOB = "herald-dispatch-wakeup"


class APSchedulerRunner:
    """Runs the dispatcher on an interval (wall seconds) and at the next due slot.

    Job options are deliberate: the interval job has `coalesce=True` (ticks missed while
    the loop was busy collapse into one), `max_instances=2` (the runner's own lock makes
    an overlapping run a no-op; with 1, APScheduler logs a warning per skipped interval
    during a long drain) and a `misfire_grace_time` of one interval (another tick comes).
    The wake-up job has no misfire limit: a due slot is worth a late look. Ticks never
    overlap (one lock).
    """

    def __init__(
        self,
        dispatcher: Dispatcher,
        repository: Repository,
        clock: Clock,
        *,
        interval_seconds: float = 1.0,
        wakeups: bool = True,
        min_wakeup_seconds: float = 0.05,
        stop_timeout_seconds: float | None = None,
    ) -> None:
        if interval_seconds <= 0:
            raise ValueError("interval_seconds must be positive")
        self._dispatcher = dispatcher
        self._repository = repository
        self._clock = clock
        self.interval = interval_seconds
        self._wakeups = wakeups
        # Under a steady stream of due slots, waking for every single slot makes tiny
        # batches whose per-tick cost dominates: a short floor batches them.
        self._min_wakeup = min_wakeup_seconds
        # How long stop() lets a tick in flight finish: its slots' lease by default, after
        # which they would be reclaimed anyway.
        self.stop_timeout = (
            dispatcher.config.lease.total_seconds()
            if stop_timeout_seconds is None
            else stop_timeout_seconds
        )
        self._inflight: asyncio.Task[TickReport] | None = None
        self._jobs: set[asyncio.Task[object]] = set()
        self._scheduler: AsyncIOScheduler | None = None
        self._stopped = True
        self._lock = asyncio.Lock()
        self.last_tick_at: datetime | None = None
        self.last_report: TickReport | None = None
        self.ticks = 0

    @property
    def running(self) -> bool:
        return self._scheduler is not None and self._scheduler.running

    async def start(self) -> None:
        """Start ticking now (must be called from the running event loop)."""
        if self.running:
            return
        scheduler = AsyncIOScheduler(timezone=UTC, event_loop=asyncio.get_running_loop())
        scheduler.add_job(
            self._tick,
            "interval",
            seconds=self.interval,
            id=TICK_JOB,
            next_run_time=datetime.now(UTC),
            coalesce=True,
            # 2, not 1: an overlapping run returns at once (our lock), whereas with 1
            # APScheduler logs a warning for every interval a long drain covers.
            max_instances=2,
            misfire_grace_time=max(1, round(self.interval)),
        )
        self._stopped = False
        scheduler.start()
        self._scheduler = scheduler

    async def stop(self) -> None:
        """Stop scheduling; let a tick in progress finish (up to `stop_timeout` seconds,
        then cancel it quietly: its CLAIMED slots come back when their lease expires)."""
        self._stopped = True
        scheduler = self._scheduler
        if scheduler is not None and scheduler.running:
            scheduler.pause()  # nothing new is submitted while the tick drains
        # Jobs already submitted but not started run now: they see the flag and return.
        await asyncio.sleep(0)
        me = asyncio.current_task()
        jobs = {job for job in self._jobs if job is not me}
        if jobs:
            _, pending = await asyncio.wait(jobs, timeout=self.stop_timeout)
            if pending:
                log.warning(
                    "dispatch tick still running after %.1fs at stop: cancelled", self.stop_timeout
                )
                if self._inflight is not None:
                    self._inflight.cancel()
                await asyncio.wait(pending)
        async with self._lock:
            pass
        # Only now: APScheduler's asyncio executor cancels jobs still pending at shutdown,
        # and logs each as "Error running job" with a CancelledError traceback.
        if scheduler is not None:
            if scheduler.running:
                scheduler.shutdown(wait=False)
            self._scheduler = None

    def healthy(self, max_silence: timedelta | None = None) -> tuple[bool, str]:
        """Whether ticks are happening: running and ticked within a few intervals."""
        if not self.running:
            return False, "dispatcher runner is stopped"
        if self.last_tick_at is None:
            return False, "dispatcher has not ticked yet"
        allowed = max_silence or timedelta(seconds=max(5.0, 5 * self.interval) * self._clock.speed)
        age = self._clock.now() - self.last_tick_at
        return age <= allowed, f"last tick {age.total_seconds():.1f}s ago"

    async def _tick(self) -> TickReport | None:
        if self._stopped or self._lock.locked():
            return None  # stopped, or the running tick drains what is due
        job = asyncio.current_task()
        if job is not None:
            self._jobs.add(job)
        try:
            return await self._run_tick()
        finally:
            if job is not None:
                self._jobs.discard(job)

    async def _run_tick(self) -> TickReport | None:
        async with self._lock:
            # The tick runs in its own task so that stop() can cancel it without
            # cancelling the scheduler's job (which APScheduler would log as an error).
            inflight = asyncio.ensure_future(self._dispatcher.tick())
            self._inflight = inflight
            try:
                report = await inflight
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    inflight.cancel()
                    raise  # this job itself is being cancelled: not ours to swallow
                log.info("dispatch tick cancelled at stop")
                return None
            except Exception:
                # A bug must not kill the scheduler: log it, the next tick tries again.
                log.exception("dispatch tick crashed")
                return None
            finally:
                self._inflight = None
            self.ticks += 1
            self.last_tick_at = self._clock.now()
            self.last_report = report
        # Aimed after the lock is released, so a wake-up due at once is not skipped.
        if self._wakeups:
            await self._aim_wakeup(idle=report.claimed == 0)
        return report

    async def _aim_wakeup(self, *, idle: bool) -> None:
        scheduler = self._scheduler
        if scheduler is None or not scheduler.running or self._stopped:
            return
        try:
            due = await self._repository.next_due_at()
        except Exception as exc:
            log.warning("could not read the next due time: %s", exc)
            return
        if due is None or (idle and due <= self._clock.now()):
            return  # nothing due, or due but not claimable now: no busy loop
        # Clock time to wall time: a scaled clock runs `speed` times faster.
        wall_delay = max(0.0, (due - self._clock.now()).total_seconds()) / self._clock.speed
        wall_delay = max(wall_delay, self._min_wakeup)
        if wall_delay >= self.interval:
            return  # the interval tick comes first
        scheduler.add_job(
            self._tick,
            "date",
            run_date=datetime.now(UTC) + timedelta(seconds=wall_delay),
            id=WAKEUP_JOB,
            replace_existing=True,
            coalesce=True,
            misfire_grace_time=None,
        )
