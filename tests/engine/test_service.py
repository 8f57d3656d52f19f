"""DistributionService on the memory repository: lifecycle, roles, safety modes, audit."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from engine.accounts_csv import read_accounts_csv
from engine.clock import ManualClock
from engine.dispatcher import Dispatcher, DispatcherConfig
from engine.errors import (
    AmbiguousName,
    ConcurrentModification,
    DistributionNotFound,
    IllegalTransition,
    InvalidInput,
    NetworkError,
    NotAllowed,
    UnknownPublishError,
)
from engine.models import (
    AccountState,
    Actor,
    DistributionStatus,
    Role,
    SafetyMode,
    SlotStatus,
)
from engine.request import parse_request
from engine.service import DistributionService, ServiceConfig
from tests.engine.execution_support import (
    T0,
    RecordingNotifier,
    ScriptedPublisher,
    make_accounts,
    memory_repository,
    run_until,
    seed_run,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
OPERATOR = Actor("U_OPS", Role.OPERATOR, "Olga")
APPROVER = Actor("U_BOSS", Role.APPROVER, "Bea")
VIEWER = Actor("U_VIEW", Role.VIEWER, "Vic")


def _request(name: str = "winter-launch"):  # type: ignore[no-untyped-def]
    data = json.loads((EXAMPLES / "request.json").read_text())
    data.update(name=name, start=T0.isoformat(), trend_weighted=False)
    return parse_request(data)


class _World:
    def __init__(self, config: ServiceConfig | None = None) -> None:
        self.repository = memory_repository()
        self.clock = ManualClock(T0 - timedelta(hours=1))
        self.notifier = RecordingNotifier()
        self.service = DistributionService(
            self.repository, self.clock, self.notifier, config=config
        )

    async def load_accounts(self) -> None:
        accounts, errors = read_accounts_csv((EXAMPLES / "accounts.csv").read_text())
        assert not errors
        async with self.repository.unit_of_work() as uow:
            await uow.upsert_accounts(accounts)

    async def planned(self, name: str = "winter-launch", **kwargs: object):  # type: ignore[no-untyped-def]
        await self.load_accounts()
        d = await self.service.create(OPERATOR, _request(name), **kwargs)  # type: ignore[arg-type]
        await self.service.plan(OPERATOR, d.id)
        return d

    def dispatcher(self, publisher: ScriptedPublisher | None = None) -> Dispatcher:
        return Dispatcher(
            self.repository,
            publisher or ScriptedPublisher(),
            self.clock,
            self.notifier,
            config=DispatcherConfig(worker_id="w-svc"),
        )


class TestDistributionService:
    async def test_create_plan_simulate_approve(self) -> None:
        """The main path stores slots, a simulation, and starts on approval with audit events."""
        world = _World()
        await world.load_accounts()
        d = await world.service.create(OPERATOR, _request(), origin={"channel": "C1"})
        assert d.status == DistributionStatus.DRAFT and d.origin == {"channel": "C1"}
        view = await world.service.plan(OPERATOR, "winter-launch")
        assert view.distribution.status == DistributionStatus.AWAITING_APPROVAL
        assert view.slots and {s.status for s in view.slots} == {SlotStatus.PLANNED}
        assert all(s.idempotency_key == f"herald:{s.id}" for s in view.slots)
        report = await world.service.simulate(OPERATOR, d.id)
        assert report["total_slots"] == len(view.slots)
        assert (await world.service.resolve(d.id)).simulation == report
        approved = await world.service.approve(APPROVER, d.id, note="go")
        assert approved.status == DistributionStatus.EXECUTING
        assert approved.approved_by == APPROVER.id
        status = await world.service.status(d.id)
        assert status.counts[SlotStatus.QUEUED] == len(view.slots)
        assert world.notifier.kinds() == [
            "distribution.created",
            "distribution.planned",
            "distribution.simulated",
            "distribution.approved",
            "distribution.started",
        ]
        history = await world.service.history(key=d.id)
        assert [e.kind for e in history][:2] == ["distribution.started", "distribution.approved"]

    async def test_roles_are_checked_and_nothing_changes(self) -> None:
        """A viewer cannot create; an operator cannot approve; the state stays as it was."""
        world = _World()
        with pytest.raises(NotAllowed, match="viewer"):
            await world.service.create(VIEWER, _request())
        d = await world.planned()
        with pytest.raises(NotAllowed, match="needs approver"):
            await world.service.approve(OPERATOR, d.id)
        after = await world.service.resolve(d.id)
        assert after.status == DistributionStatus.AWAITING_APPROVAL
        assert "distribution.approved" not in world.notifier.kinds()

    async def test_self_approval_is_refused_unless_configured(self) -> None:
        """The author cannot approve their own plan unless allow_self_approval is set."""
        world = _World()
        author = Actor("U_AUTHOR", Role.APPROVER)
        await world.load_accounts()
        d = await world.service.create(author, _request())
        await world.service.plan(author, d.id)
        with pytest.raises(NotAllowed, match="cannot approve it too"):
            await world.service.approve(author, d.id)
        allowed = _World(ServiceConfig(allow_self_approval=True))
        await allowed.load_accounts()
        d2 = await allowed.service.create(author, _request())
        await allowed.service.plan(author, d2.id)
        assert (await allowed.service.approve(author, d2.id)).status == "EXECUTING"

    async def test_illegal_transition_changes_nothing(self) -> None:
        """Approving a DRAFT raises IllegalTransition and leaves version and log untouched."""
        world = _World()
        d = await world.service.create(OPERATOR, _request())
        with pytest.raises(IllegalTransition, match="cannot approve"):
            await world.service.approve(APPROVER, d.id)
        again = await world.service.resolve(d.id)
        assert again.version == d.version and again.status == DistributionStatus.DRAFT
        assert len(await world.service.history(key=d.id)) == 1

    async def test_stale_version_is_refused(self) -> None:
        """Approving with a version someone else already changed raises ConcurrentModification."""
        world = _World()
        d = await world.planned()
        current = await world.service.resolve(d.id)
        with pytest.raises(ConcurrentModification, match="changed since"):
            await world.service.approve(APPROVER, d.id, expected_version=current.version - 1)
        ok = await world.service.approve(APPROVER, d.id, expected_version=current.version)
        assert ok.status == DistributionStatus.EXECUTING

    async def test_reject_and_halt_need_a_reason(self) -> None:
        """Reject and halt without a reason are refused; with one they are recorded."""
        world = _World()
        d = await world.planned()
        with pytest.raises(InvalidInput, match="reason"):
            await world.service.reject(APPROVER, d.id, reason=" ")
        rejected = await world.service.reject(APPROVER, d.id, reason="off-brand")
        assert rejected.status == DistributionStatus.REJECTED
        assert rejected.decision_note == "off-brand"
        with pytest.raises(InvalidInput, match="reason"):
            await world.service.halt(APPROVER, d.id, reason="")

    async def test_pause_resume_and_cancel_act_on_unclaimed_slots(self) -> None:
        """Pause stops publishing at once, resume restarts it, cancel cancels what is left."""
        world = _World()
        d = await world.planned()
        await world.service.approve(APPROVER, d.id)
        publisher = ScriptedPublisher()
        dispatcher = world.dispatcher(publisher)
        world.clock.set(T0 + timedelta(hours=1))
        await dispatcher.tick()
        published = len(publisher.calls)
        assert published > 0
        await world.service.pause(OPERATOR, d.id, reason="checking")
        world.clock.advance(timedelta(hours=2))
        await dispatcher.tick()
        assert len(publisher.calls) == published
        await world.service.resume(OPERATOR, d.id)
        await dispatcher.tick()
        assert len(publisher.calls) > published
        cancelled = await world.service.cancel(OPERATOR, d.id, reason="enough")
        status = await world.service.status(d.id)
        assert cancelled.status == DistributionStatus.CANCELLED
        assert status.counts[SlotStatus.CANCELLED] > 0
        assert status.counts[SlotStatus.QUEUED] == 0

    async def test_halted_run_is_continued_only_by_an_approver(self) -> None:
        """Halt is an emergency stop; an operator cannot resume it, an approver can."""
        world = _World()
        d = await world.planned()
        await world.service.approve(APPROVER, d.id)
        halted = await world.service.halt(APPROVER, d.id, reason="brand crisis")
        assert halted.status == DistributionStatus.HALTED
        with pytest.raises(NotAllowed):
            await world.service.resume(OPERATOR, d.id)
        assert (await world.service.resume(APPROVER, d.id)).status == "EXECUTING"

    async def test_semi_autonomous_cannot_start_without_approval(self) -> None:
        """In SEMI_AUTONOMOUS, start before approval is NotAllowed."""
        world = _World()
        d = await world.planned()
        with pytest.raises(NotAllowed, match="needs an approval"):
            await world.service.start(OPERATOR, d.id)

    async def test_full_autonomous_must_be_enabled(self) -> None:
        """FULL_AUTONOMOUS is refused unless enabled; enabled, a plan starts without approval."""
        world = _World()
        with pytest.raises(NotAllowed, match="HERALD_ENABLE_FULL_AUTONOMOUS"):
            await world.service.create(OPERATOR, _request(), safety_mode=SafetyMode.FULL_AUTONOMOUS)
        enabled = _World(ServiceConfig(enable_full_autonomous=True))
        d = await enabled.planned(safety_mode=SafetyMode.FULL_AUTONOMOUS)
        started = await enabled.service.start(OPERATOR, d.id)
        assert started.status == DistributionStatus.EXECUTING
        slots = await enabled.service.progress(d.id)
        assert all(s.risk_score < 0.3 for s in slots)

    async def test_retry_failed_requeues_and_reopens_a_completed_run(self) -> None:
        """Failed slots are queued again and a COMPLETED run goes back to EXECUTING."""
        world = _World()
        d = await world.planned()
        await world.service.approve(APPROVER, d.id)
        first = (await world.service.progress(d.id))[0]
        publisher = ScriptedPublisher({first.id: [UnknownPublishError("bad media")]})
        dispatcher = world.dispatcher(publisher)
        # Ticks at least as often as slots are due (late ones would be re-spaced past the end).
        await run_until(dispatcher, world.clock, T0 + timedelta(hours=7), timedelta(minutes=1))
        status = await world.service.status(d.id)
        assert status.distribution.status == DistributionStatus.COMPLETED
        assert status.failed == 1
        assert await world.service.retry_failed(OPERATOR, d.id) == 1
        assert (await world.service.resolve(d.id)).status == DistributionStatus.EXECUTING
        await run_until(
            dispatcher, world.clock, world.clock.now() + timedelta(minutes=5), timedelta(minutes=1)
        )
        status = await world.service.status(d.id)
        assert status.failed == 0 and status.distribution.status == DistributionStatus.COMPLETED

    async def test_skip_slot_and_retry_slot(self) -> None:
        """A queued slot can be skipped; a skipped slot cannot be retried."""
        world = _World()
        d = await world.planned()
        await world.service.approve(APPROVER, d.id)
        slot = (await world.service.progress(d.id))[0]
        skipped = await world.service.skip_slot(OPERATOR, slot.id)
        assert skipped.status == SlotStatus.SKIPPED
        with pytest.raises(IllegalTransition, match="cannot retry"):
            await world.service.retry_slot(OPERATOR, slot.id)
        assert "slot.skipped" in world.notifier.kinds()

    async def test_names_resolve_or_are_reported_ambiguous(self) -> None:
        """A unique name resolves; a shared fragment is AmbiguousName; nothing is NotFound."""
        world = _World()
        a = await world.service.create(OPERATOR, _request("spring-a"))
        await world.service.create(OPERATOR, _request("spring-b"))
        assert (await world.service.resolve("spring-a")).id == a.id
        with pytest.raises(AmbiguousName):
            await world.service.resolve("spring")
        with pytest.raises(DistributionNotFound):
            await world.service.resolve("autumn")

    async def test_status_counts_late_slots(self) -> None:
        """Slots overdue by more than a minute while EXECUTING are counted late."""
        world = _World()
        d = await world.planned()
        await world.service.approve(APPROVER, d.id)
        world.clock.set(T0 + timedelta(hours=7))
        status = await world.service.status(d.id)
        assert status.late == status.counts[SlotStatus.QUEUED] > 0
        assert status.next_due_at is not None and status.next_due_at >= T0

    async def test_status_is_aggregate_and_counts_only_overdue_slots(self, monkeypatch) -> None:  # type: ignore[no-untyped-def]
        """Mid-run, late = waiting slots overdue by more than late_after, without listing slots."""
        from storage.memory_repository import _MemoryUnitOfWork

        world = _World()
        d = await world.planned()
        await world.service.approve(APPROVER, d.id)
        slots = await world.service.progress(d.id)
        middle = slots[len(slots) // 2].due_at
        world.clock.set(middle)
        cutoff = middle - world.service.config.late_after
        expected = sum(1 for s in slots if s.due_at < cutoff)

        def no_listing(*args: object, **kwargs: object) -> None:
            raise AssertionError("status() must not list slots")

        monkeypatch.setattr(_MemoryUnitOfWork, "list_slots", no_listing)
        status = await world.service.status(d.id)
        assert 0 < status.late == expected < len(slots)
        assert status.next_due_at == slots[0].due_at
        await world.service.pause(OPERATOR, d.id)
        assert (await world.service.status(d.id)).late == 0  # only an EXECUTING run is late

    async def test_import_accounts_reports_bad_rows(self) -> None:
        """Good rows are upserted and each bad row is reported by line number."""
        world = _World()
        text = (EXAMPLES / "accounts.csv").read_text().splitlines()
        broken = "\n".join([text[0], text[1], "acc-x,myspace,@x,UTC,en,1,1,ACTIVE,,,0,0,0"])
        report = await world.service.import_accounts(OPERATOR, broken)
        assert report.imported == 1
        assert len(report.errors) == 1 and "line 3" in report.errors[0]
        assert len(await world.service.accounts()) == 1

    async def test_analytics_sums_slots_per_platform(self) -> None:
        """Analytics counts distributions and slots per status and per platform."""
        world = _World()
        d = await world.planned()
        total = len(await world.service.progress(d.id))
        data = await world.service.analytics()
        assert data["distributions"] == {"AWAITING_APPROVAL": 1}
        assert sum(sum(p.values()) for p in data["platforms"].values()) == total

    async def test_plan_without_trends_when_the_source_fails(self) -> None:
        """A trend source that is down does not block planning: the plan says so."""

        class DownTrends:
            async def trends(self, platforms: list[str]) -> list[object]:
                raise NetworkError("trends service unreachable: ClientConnectorError")

        world = _World()
        world.service = DistributionService(
            world.repository, world.clock, world.notifier, trends=DownTrends()
        )
        await world.load_accounts()
        request = _request().model_copy(update={"trend_weighted": True})
        d = await world.service.create(OPERATOR, request)
        view = await world.service.plan(OPERATOR, d.id)
        assert view.slots
        assert view.warnings[0].startswith("trends unavailable, planned without them")

    async def test_retry_failed_moves_slots_of_suspended_accounts(self) -> None:
        """A FAILED slot whose account is suspended is re-planned on another eligible account."""
        world = _World()
        accounts = make_accounts(2, ["tiktok"])
        distribution, slots = await seed_run(world.repository, accounts[:1])
        async with world.repository.unit_of_work() as uow:
            await uow.upsert_accounts(
                [replace(accounts[0], state=AccountState.SUSPENDED), accounts[1]]
            )
            await uow.save_slot(replace(slots[0], status=SlotStatus.FAILED, error="suspended"))
        assert await world.service.retry_failed(OPERATOR, distribution.id) == 1
        stored = {s.id: s for s in await world.service.progress(distribution.id)}
        assert stored[slots[0].id].status == SlotStatus.SKIPPED
        moved = next(s for s in stored.values() if s.redistributed_from == slots[0].id)
        assert moved.account_id == accounts[1].id and moved.status == SlotStatus.QUEUED


class TestPlanWithAdvisor:
    async def test_fused_advice_is_stored_with_provenance_and_shapes_the_peaks(self) -> None:
        """Two models agree on an extra TikTok peak: stored with provenance, and used."""
        from engine.advisor import Advisor
        from engine.llm_gateway import LLMGateway, RetryPolicy
        from tests.engine.fake_llm import ScriptedClient

        def answer(extra: int) -> dict[str, object]:
            return {
                "platform_order": ["tiktok", "instagram", "twitter", "youtube", "linkedin"],
                "order_confidence": 0.9,
                "platforms": [
                    {
                        "platform": "tiktok",
                        "peak_hours": [10, 14, 18, 20, extra],
                        "confidence": 0.9,
                        "risk_notes": [],
                    },
                    {
                        "platform": "instagram",
                        "peak_hours": [9, 12, 17, 21],
                        "confidence": 0.8,
                        "risk_notes": [],
                    },
                ],
            }

        world = _World()
        gateway = LLMGateway(
            [ScriptedClient("gpt", [answer(16)]), ScriptedClient("claude", [answer(16)])],
            world.clock,
            retry=RetryPolicy(attempts=1),
            deadline_s=2,
        )
        world.service = DistributionService(
            world.repository, world.clock, world.notifier, advisor=Advisor(gateway)
        )
        await world.load_accounts()
        d = await world.service.create(OPERATOR, _request())
        view = await world.service.plan(OPERATOR, d.id)
        advice = view.distribution.advice
        assert advice is not None and advice["source"] == "fusion"
        assert 16 in advice["peak_hours"]["tiktok"]
        assert any("tiktok peak +16:00" in line and "gpt" in line for line in advice["lines"])
        stored = await world.service.resolve(d.id)
        assert stored.advice == advice

    async def test_without_models_the_builtin_advice_is_recorded(self) -> None:
        """No model configured: the built-in advisor's advice is stored and says so."""
        from engine.advisor import Advisor

        world = _World()
        world.service = DistributionService(
            world.repository, world.clock, world.notifier, advisor=Advisor(None)
        )
        await world.load_accounts()
        d = await world.service.create(OPERATOR, _request())
        view = await world.service.plan(OPERATOR, d.id)
        assert view.slots
        assert view.distribution.advice is not None
        assert view.distribution.advice["source"] == "builtin"


class TestVelocity:
    async def test_profile_comes_from_the_last_week_of_posts(self) -> None:
        """Published and failed slots of the past week set the platform's optimal velocity."""
        from dataclasses import replace as copy_with

        world = _World()
        _, slots = await seed_run(world.repository, make_accounts(per_platform=4))
        done = []
        for i, slot in enumerate(s for s in slots if s.platform == "tiktok"):
            status = SlotStatus.FAILED if i == 0 else SlotStatus.PUBLISHED
            done.append(copy_with(slot, status=status, executed_at=slot.due_at))
        async with world.repository.unit_of_work() as uow:
            for slot in done:
                await uow.save_slot(slot)
        world.clock.set(T0 + timedelta(hours=2))
        profile = await world.service.velocity("tiktok")
        assert profile.observed_per_day == 4.0
        assert profile.failure_rate == 0.25
        assert profile.optimal_velocity == 4.0 * (1 - 0.25)
        assert "slowing down" in profile.reason
        quiet = await world.service.velocity("twitter")
        assert quiet.reason.startswith("no recent history")
        with pytest.raises(InvalidInput, match="unknown platform"):
            await world.service.velocity("myspace")


class TestLateStart:
    async def test_an_overdue_plan_is_refused_and_changes_nothing(self) -> None:
        """Approving after the first post's time has long passed is refused: no burst."""
        world = _World()
        d = await world.planned()
        first = min(s.due_at for s in (await world.service.progress(d.id)))
        world.clock.set(first + timedelta(minutes=30))
        with pytest.raises(NotAllowed, match="Plan it again"):
            await world.service.approve(APPROVER, d.id)
        stored = await world.service.resolve(d.id)
        assert stored.status == DistributionStatus.AWAITING_APPROVAL
        assert {s.status for s in await world.service.progress(d.id)} == {SlotStatus.PLANNED}

    async def test_planning_again_plans_from_now_and_can_be_approved(self) -> None:
        """A plan made after its start runs from the next minute, says so, and starts."""
        world = _World()
        d = await world.planned()
        world.clock.set(T0 + timedelta(hours=1, seconds=20))
        view = await world.service.plan(OPERATOR, d.id)
        assert view.warnings[0].startswith("start 2026-")
        assert min(s.due_at for s in view.slots) >= T0 + timedelta(hours=1, minutes=1)
        approved = await world.service.approve(APPROVER, d.id)
        assert approved.status == DistributionStatus.EXECUTING
