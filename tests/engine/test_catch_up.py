"""Catch-up spacing: after an outage, a pause or a restart, late slots keep every gap."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from itertools import pairwise

import pytest

from engine.catch_up import HELD_PAST_WINDOW
from engine.clock import ManualClock
from engine.dispatcher import Dispatcher, DispatcherConfig
from engine.errors import InvalidInput
from engine.models import (
    Actor,
    Distribution,
    DistributionStatus,
    Role,
    SafetyMode,
    Slot,
    SlotStatus,
)
from engine.planner import plan_distribution
from engine.platforms import DEFAULT_PLATFORMS
from engine.ports import Repository
from engine.service import DistributionService
from engine.service_support import slot_from_plan
from tests.engine.execution_support import (
    T0,
    RecordingNotifier,
    ScriptedPublisher,
    make_accounts,
    make_request,
    memory_repository,
    slots_of,
)

STEP = timedelta(seconds=30)
OPERATOR = Actor("U_OPS", Role.OPERATOR, "ops")


async def _default_plan(repository: Repository) -> tuple[Distribution, list[Slot]]:
    """A default 6 h window plan of 24 accounts, approved and running (slots QUEUED)."""
    accounts = make_accounts(per_platform=8)
    request = make_request()
    result = plan_distribution(request, accounts)
    distribution = Distribution(
        id="d-launch",
        name="launch",
        request=request,
        status=DistributionStatus.EXECUTING,
        safety_mode=SafetyMode.SEMI_AUTONOMOUS,
        created_by="U_OPS",
        created_at=T0 - timedelta(hours=1),
        updated_at=T0 - timedelta(hours=1),
    )
    by_id = {a.id: a for a in accounts}
    slots = [
        replace(slot_from_plan(distribution.id, i, p, by_id), status=SlotStatus.QUEUED)
        for i, p in enumerate(result.slots)
    ]
    async with repository.unit_of_work() as uow:
        await uow.upsert_accounts(accounts)
        await uow.add_distribution(distribution)
        await uow.replace_slots(distribution.id, slots)
    return distribution, slots


def _dispatcher(
    repository: Repository, clock: ManualClock, notifier: RecordingNotifier
) -> Dispatcher:
    config = DispatcherConfig(worker_id="w-test", lease=timedelta(minutes=5))
    return Dispatcher(repository, ScriptedPublisher(), clock, notifier, config=config)


async def _tick_until(dispatcher: Dispatcher, clock: ManualClock, until: datetime) -> None:
    while clock.now() < until:
        await dispatcher.tick()
        clock.advance(STEP)


def _gap_violations(distribution: Distribution, slots: list[Slot]) -> list[str]:
    """Every rule of the plan the PUBLISHED times break (min gap, duplicates, accounts)."""
    request = distribution.request
    done = sorted(
        (s for s in slots if s.status == SlotStatus.PUBLISHED), key=lambda s: s.executed_at or T0
    )
    out = []
    for a, b in pairwise(done):
        assert a.executed_at is not None and b.executed_at is not None
        if b.executed_at - a.executed_at < request.min_gap:
            out.append(f"{a.id}->{b.id}: {b.executed_at - a.executed_at} < min gap")
    for i, a in enumerate(done):
        for b in done[i + 1 :]:
            assert a.executed_at is not None and b.executed_at is not None
            apart = b.executed_at - a.executed_at
            if (a.caption, a.hashtags) == (b.caption, b.hashtags) and apart < request.duplicate_gap:
                out.append(f"{a.id}->{b.id}: identical text {apart} apart")
            gap = DEFAULT_PLATFORMS[a.platform].min_gap
            if a.account_id == b.account_id and apart < gap:
                out.append(f"{a.id}->{b.id}: same account {apart} apart")
    return out


class TestCatchUp:
    async def test_one_hour_outage_keeps_every_gap(self) -> None:
        """After a 1 h outage of a default plan, the late posts go out spaced, not in a burst."""
        repository = memory_repository()
        clock = ManualClock(T0)
        notifier = RecordingNotifier()
        distribution, planned = await _default_plan(repository)
        dispatcher = _dispatcher(repository, clock, notifier)
        await _tick_until(dispatcher, clock, T0 + timedelta(hours=1))
        clock.advance(timedelta(hours=1))  # the process was down
        late = [s for s in planned if T0 + timedelta(hours=1) < s.due_at <= clock.now()]
        assert len(late) >= 3
        await _tick_until(dispatcher, clock, T0 + timedelta(hours=8))

        stored = await slots_of(repository, distribution.id)
        assert {s.status for s in stored} == {SlotStatus.PUBLISHED}
        assert _gap_violations(distribution, stored) == []
        assert "distribution.respaced" in notifier.kinds()

    async def test_restart_after_an_outage_keeps_every_gap(self) -> None:
        """A new dispatcher (a restart) after an outage reads what was posted and spaces."""
        repository = memory_repository()
        clock = ManualClock(T0)
        distribution, _ = await _default_plan(repository)
        await _tick_until(
            _dispatcher(repository, clock, RecordingNotifier()), clock, T0 + timedelta(hours=1)
        )
        clock.advance(timedelta(minutes=75))
        restarted = _dispatcher(repository, clock, RecordingNotifier())
        await _tick_until(restarted, clock, T0 + timedelta(hours=8))

        stored = await slots_of(repository, distribution.id)
        assert {s.status for s in stored} == {SlotStatus.PUBLISHED}
        assert _gap_violations(distribution, stored) == []

    async def test_pause_then_resume_keeps_every_gap(self) -> None:
        """Resuming after an hour's pause spaces the slots that came due meanwhile."""
        repository = memory_repository()
        clock = ManualClock(T0 - timedelta(hours=1))
        notifier = RecordingNotifier()
        service = DistributionService(repository, clock, notifier)
        distribution, _ = await _default_plan(repository)
        clock.set(T0)
        dispatcher = _dispatcher(repository, clock, notifier)
        await _tick_until(dispatcher, clock, T0 + timedelta(hours=1))
        await service.pause(OPERATOR, distribution.id)
        await _tick_until(dispatcher, clock, T0 + timedelta(hours=2))
        await service.resume(OPERATOR, distribution.id)
        await _tick_until(dispatcher, clock, T0 + timedelta(hours=8))

        stored = await slots_of(repository, distribution.id)
        assert {s.status for s in stored} == {SlotStatus.PUBLISHED}
        assert _gap_violations(distribution, stored) == []

    async def test_slots_past_the_window_are_held_for_a_decision(self) -> None:
        """When the window can no longer hold the late slots, they wait and the card asks."""
        repository = memory_repository()
        clock = ManualClock(T0)
        notifier = RecordingNotifier()
        distribution, _ = await _default_plan(repository)
        dispatcher = _dispatcher(repository, clock, notifier)
        await _tick_until(dispatcher, clock, T0 + timedelta(hours=1))
        clock.set(T0 + timedelta(hours=5, minutes=55))
        await _tick_until(dispatcher, clock, T0 + timedelta(hours=7))

        stored = await slots_of(repository, distribution.id)
        held = [s for s in stored if s.failure_kind == HELD_PAST_WINDOW]
        assert held and {s.status for s in held} == {SlotStatus.PLANNED}
        assert all("after the window ends" in (s.error or "") for s in held)
        assert _gap_violations(distribution, stored) == []
        asked = [e for e in notifier.events if e.kind == "distribution.catch_up_held"]
        assert asked and asked[0].data["choices"] == ["replan", "publish", "skip"]
        assert all(s.attempts == 0 for s in held)

    @pytest.mark.parametrize("choice", ["replan", "publish", "skip"])
    async def test_each_choice_for_held_slots(self, choice: str) -> None:
        """Re-plan and publish send the held slots out spaced; skip gives them up."""
        repository = memory_repository()
        clock = ManualClock(T0)
        notifier = RecordingNotifier()
        service = DistributionService(repository, clock, notifier)
        distribution, _ = await _default_plan(repository)
        dispatcher = _dispatcher(repository, clock, notifier)
        await _tick_until(dispatcher, clock, T0 + timedelta(hours=1))
        clock.set(T0 + timedelta(hours=5, minutes=55))
        await _tick_until(dispatcher, clock, T0 + timedelta(hours=6, minutes=30))
        held = [s for s in await slots_of(repository, distribution.id) if s.status == "PLANNED"]

        assert await service.decide_held(OPERATOR, distribution.id, choice) == len(held)
        await _tick_until(dispatcher, clock, T0 + timedelta(hours=14))

        stored = await slots_of(repository, distribution.id)
        final = {s.id: s.status for s in stored if s.id in {h.id for h in held}}
        want = SlotStatus.SKIPPED if choice == "skip" else SlotStatus.PUBLISHED
        assert set(final.values()) == {want}
        assert _gap_violations(distribution, stored) == []
        assert "distribution.catch_up_decided" in notifier.kinds()

    async def test_an_unknown_choice_is_refused(self) -> None:
        """A choice other than replan, publish or skip names the field and changes nothing."""
        repository = memory_repository()
        service = DistributionService(repository, ManualClock(T0), RecordingNotifier())
        distribution, _ = await _default_plan(repository)
        with pytest.raises(InvalidInput, match="choice"):
            await service.decide_held(OPERATOR, distribution.id, "later")
