"""`DistributionService`: the one engine API the Slack bot, the CLI and the demo call.

Each state-changing method takes the acting `Actor`, checks the actor's role and the
distribution's safety mode (`NotAllowed`), moves state only through `engine.lifecycle`
(`IllegalTransition`, nothing changed), runs in ONE unit of work that also appends the
audit `Event`, and hands the event to the notifier after the commit.

Safety modes: SEMI_AUTONOMOUS needs an approval before anything is published. MANUAL
needs one too, and its runs publish through the review (simulated) publisher that the
composition root gives the dispatcher, unless configured to publish for real.
FULL_AUTONOMOUS must be enabled in config; its plans may start without an approval.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from engine.accounts_csv import read_accounts_csv
from engine.dispatcher import complete_if_done
from engine.errors import (
    AmbiguousName,
    ConcurrentModification,
    DistributionNotFound,
    InvalidInput,
    NotAllowed,
)
from engine.fallback import account_available, choose_replacement, redistributed_slot
from engine.lifecycle import advance_distribution, advance_slot, slot_sources
from engine.models import (
    Account,
    Actor,
    Distribution,
    DistributionStatus,
    Event,
    PlannedSlot,
    Role,
    SafetyMode,
    Slot,
    SlotStatus,
    Unscheduled,
    new_id,
)
from engine.planner import plan_distribution
from engine.platforms import DEFAULT_PLATFORMS, PlatformTable
from engine.ports import Clock, Notifier, Repository, TrendSource, UnitOfWork
from engine.request import DistributionRequest
from engine.safety import SafetyPolicy
from engine.simulation import simulate

_RANK = {Role.VIEWER: 0, Role.OPERATOR: 1, Role.APPROVER: 2}


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    """Policy the service enforces, from Settings (see bot/bootstrap.py)."""

    default_safety_mode: SafetyMode = SafetyMode.SEMI_AUTONOMOUS
    enable_full_autonomous: bool = False
    allow_self_approval: bool = False
    late_after: timedelta = timedelta(minutes=1)
    retry_stagger: timedelta = timedelta(seconds=30)


@dataclass(frozen=True)
class PlanView:
    """A stored plan: the distribution, its slots in time order, what was left out and why."""

    distribution: Distribution
    slots: list[Slot]
    unscheduled: list[Unscheduled]
    warnings: list[str]


@dataclass(frozen=True)
class StatusView:
    """Where a run stands. `late` counts unclaimed slots overdue by more than a minute."""

    distribution: Distribution
    counts: dict[SlotStatus, int]
    next_due_at: datetime | None
    published: int
    failed: int
    late: int

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def done(self) -> int:
        open_ = (
            SlotStatus.PLANNED,
            SlotStatus.QUEUED,
            SlotStatus.RETRY_SCHEDULED,
            SlotStatus.CLAIMED,
        )
        return self.total - sum(self.counts.get(s, 0) for s in open_)


@dataclass(frozen=True)
class ImportReport:
    """How many accounts were written, and every bad row (by line) that was not."""

    imported: int
    errors: list[str] = field(default_factory=list)


class DistributionService:
    """The engine's use cases (see module docstring and /docs/dispatch.md)."""

    def __init__(
        self,
        repository: Repository,
        clock: Clock,
        notifier: Notifier,
        *,
        platforms: PlatformTable = DEFAULT_PLATFORMS,
        config: ServiceConfig | None = None,
        trends: TrendSource | None = None,
    ) -> None:
        self._repository = repository
        self._clock = clock
        self._notifier = notifier
        self._platforms = platforms
        self.config = config or ServiceConfig()
        self._trends = trends

    # ------------------------------------------------------------------ create / plan

    async def create(
        self,
        actor: Actor,
        request: DistributionRequest,
        *,
        origin: dict[str, str] | None = None,
        safety_mode: SafetyMode | None = None,
    ) -> Distribution:
        """Store a new DRAFT distribution for `request`."""
        _require(actor, Role.OPERATOR, "create a distribution")
        mode = safety_mode or self.config.default_safety_mode
        self._check_mode(mode)
        for platform in request.platforms:
            self._platforms[platform]  # raises InvalidInput naming the unknown platform
        now = self._clock.now()
        distribution = Distribution(
            id=new_id("d"),
            name=request.name,
            request=request,
            status=DistributionStatus.DRAFT,
            safety_mode=mode,
            created_by=actor.id,
            created_at=now,
            updated_at=now,
            origin=dict(origin or {}),
        )
        event = _event(
            now,
            "distribution.created",
            actor,
            distribution,
            after={"status": str(distribution.status)},
            data={"name": distribution.name, "platforms": request.platforms, "mode": str(mode)},
        )
        async with self._repository.unit_of_work() as uow:
            await uow.add_distribution(distribution)
            await uow.append_event(event)
            distribution = await uow.get_distribution(distribution.id)
        await self._notifier.notify(event)
        return distribution

    async def plan(self, actor: Actor, key: str) -> PlanView:
        """Run the planner over the stored accounts and store the slots (AWAITING_APPROVAL)."""
        _require(actor, Role.OPERATOR, "plan a distribution")
        now = self._clock.now()
        async with self._repository.unit_of_work() as uow:
            d = await _resolve(uow, key)
            target = advance_distribution(d.status, "plan", what=_what(d))
            accounts = await uow.list_accounts()
            trends: Sequence[Any] = ()
            if self._trends is not None and d.request.trend_weighted:
                trends = await self._trends.trends(d.request.platforms)
            rotation = max(0, len(await uow.list_distributions(limit=1000)) - 1)
            result = plan_distribution(
                d.request,
                accounts,
                platforms=self._platforms,
                trends=trends,
                rotation=rotation,
                max_risk=SafetyPolicy.for_mode(d.safety_mode).max_risk,
            )
            by_id = {a.id: a for a in accounts}
            slots = [_slot_from_plan(d.id, i, p, by_id) for i, p in enumerate(result.slots)]
            await uow.replace_slots(d.id, slots)
            before = d.status
            d.status, d.updated_at = target, now
            d.warnings, d.simulation = list(result.warnings), None
            d = await uow.save_distribution(d)
            event = _event(
                now,
                "distribution.planned",
                actor,
                d,
                before={"status": str(before)},
                after={"status": str(d.status)},
                data={
                    "slots": len(slots),
                    "unscheduled": len(result.unscheduled),
                    "unscheduled_reasons": [
                        {"account_id": u.account_id, "reason": u.reason}
                        for u in result.unscheduled[:200]
                    ],
                    "warnings": d.warnings,
                },
            )
            await uow.append_event(event)
        await self._notifier.notify(event)
        return PlanView(d, slots, list(result.unscheduled), list(result.warnings))

    async def simulate(self, actor: Actor, key: str) -> dict[str, Any]:
        """The simulation report of the stored plan, also stored on the distribution."""
        _require(actor, Role.OPERATOR, "simulate a distribution")
        now = self._clock.now()
        async with self._repository.unit_of_work() as uow:
            d = await _resolve(uow, key)
            advance_distribution(d.status, "simulate", what=_what(d))
            slots = await uow.list_slots(d.id)
            accounts = await uow.list_accounts()
            planned_events = await uow.list_events(
                distribution_id=d.id, kind_prefix="distribution.planned", limit=1
            )
            unscheduled = int(planned_events[0].data.get("unscheduled", 0)) if planned_events else 0
            report = simulate(
                [_planned_from_slot(s) for s in slots if s.status != SlotStatus.CANCELLED],
                accounts,
                request=d.request,
                mode=d.safety_mode,
                platforms=self._platforms,
                unscheduled=unscheduled,
            ).to_dict()
            d.simulation, d.updated_at = report, now
            d = await uow.save_distribution(d)
            event = _event(now, "distribution.simulated", actor, d, data={"report": report})
            await uow.append_event(event)
        await self._notifier.notify(event)
        return report

    # ------------------------------------------------------------------ decisions

    async def approve(
        self,
        actor: Actor,
        key: str,
        *,
        expected_version: int | None = None,
        note: str | None = None,
    ) -> Distribution:
        """Approve the plan and start it in the same transaction (PLANNED slots -> QUEUED)."""
        _require(actor, Role.APPROVER, "approve a distribution")
        now = self._clock.now()
        async with self._repository.unit_of_work() as uow:
            d = await _resolve(uow, key)
            _check_version(d, expected_version)
            self._check_mode(d.safety_mode)
            if d.created_by == actor.id and not self.config.allow_self_approval:
                raise NotAllowed(
                    f"{actor.display or actor.id} created {d.name!r} and cannot approve it too "
                    "(set HERALD_ALLOW_SELF_APPROVAL=true to allow it)"
                )
            approved = advance_distribution(d.status, "approve", what=_what(d))
            executing = advance_distribution(approved, "start", what=_what(d))
            before = d.status
            queued = await uow.set_slot_status(d.id, [SlotStatus.PLANNED], SlotStatus.QUEUED)
            d.status, d.updated_at = executing, now
            d.approved_by, d.approved_at, d.decision_note = actor.id, now, note
            d = await uow.save_distribution(d)
            events = [
                _event(
                    now,
                    "distribution.approved",
                    actor,
                    d,
                    before={"status": str(before)},
                    after={"status": str(approved)},
                    data={"note": note, "name": d.name},
                ),
                _event(
                    now,
                    "distribution.started",
                    actor,
                    d,
                    before={"status": str(approved)},
                    after={"status": str(executing)},
                    data={"queued": queued, "name": d.name},
                ),
            ]
            for event in events:
                await uow.append_event(event)
        await self._notify(events)
        return d

    async def reject(
        self, actor: Actor, key: str, *, reason: str, expected_version: int | None = None
    ) -> Distribution:
        """Reject the plan with a reason (required); it can be re-planned later."""
        _require(actor, Role.APPROVER, "reject a distribution")
        if not reason or not reason.strip():
            raise InvalidInput("a rejection needs a reason")
        return await self._move(
            actor,
            key,
            "reject",
            "distribution.rejected",
            expected_version=expected_version,
            note=reason.strip(),
        )

    async def start(self, actor: Actor, key: str) -> Distribution:
        """Start an APPROVED distribution; in FULL_AUTONOMOUS, a planned one without approval."""
        _require(actor, Role.OPERATOR, "start a distribution")
        now = self._clock.now()
        async with self._repository.unit_of_work() as uow:
            d = await _resolve(uow, key)
            self._check_mode(d.safety_mode)
            action = "start"
            if d.status == DistributionStatus.AWAITING_APPROVAL:
                if d.safety_mode != SafetyMode.FULL_AUTONOMOUS:
                    raise NotAllowed(
                        f"{d.name!r} needs an approval first ({d.safety_mode} mode publishes "
                        "nothing without one)"
                    )
                action = "autostart"
            before = d.status
            d.status = advance_distribution(d.status, action, what=_what(d))
            queued = await uow.set_slot_status(d.id, [SlotStatus.PLANNED], SlotStatus.QUEUED)
            d.updated_at = now
            if action == "autostart":
                d.approved_by, d.approved_at = f"auto:{actor.id}", now
            d = await uow.save_distribution(d)
            event = _event(
                now,
                "distribution.started",
                actor,
                d,
                before={"status": str(before)},
                after={"status": str(d.status)},
                data={"queued": queued, "name": d.name, "auto": action == "autostart"},
            )
            await uow.append_event(event)
        await self._notifier.notify(event)
        return d

    async def pause(self, actor: Actor, key: str, *, reason: str | None = None) -> Distribution:
        """Stop claiming this distribution's slots at once (slots in flight finish)."""
        _require(actor, Role.OPERATOR, "pause a distribution")
        return await self._move(actor, key, "pause", "distribution.paused", note=reason)

    async def resume(self, actor: Actor, key: str) -> Distribution:
        """Resume a PAUSED run; resuming a HALTED one needs an approver."""
        _require(actor, Role.OPERATOR, "resume a distribution")
        return await self._move(actor, key, "resume", "distribution.resumed")

    async def cancel(self, actor: Actor, key: str, *, reason: str | None = None) -> Distribution:
        """Cancel: every slot not yet claimed becomes CANCELLED in the same transaction."""
        _require(actor, Role.OPERATOR, "cancel a distribution")
        return await self._move(
            actor, key, "cancel", "distribution.cancelled", note=reason, cancel_slots=True
        )

    async def halt(self, actor: Actor, key: str, *, reason: str) -> Distribution:
        """Emergency stop with a reason; only an approver may resume (continue) it."""
        _require(actor, Role.APPROVER, "halt a distribution")
        if not reason or not reason.strip():
            raise InvalidInput("an emergency stop needs a reason")
        return await self._move(actor, key, "halt", "distribution.halted", note=reason.strip())

    async def _move(
        self,
        actor: Actor,
        key: str,
        action: str,
        kind: str,
        *,
        expected_version: int | None = None,
        note: str | None = None,
        cancel_slots: bool = False,
    ) -> Distribution:
        now = self._clock.now()
        async with self._repository.unit_of_work() as uow:
            d = await _resolve(uow, key)
            _check_version(d, expected_version)
            if action == "resume" and d.status == DistributionStatus.HALTED:
                _require(actor, Role.APPROVER, "continue a halted distribution")
            before = d.status
            d.status = advance_distribution(d.status, action, what=_what(d))
            data: dict[str, Any] = {"name": d.name}
            if note:
                data["reason"] = note
            if action in ("reject", "halt"):
                d.decision_note = note
            if cancel_slots:
                data["cancelled_slots"] = await uow.set_slot_status(
                    d.id, slot_sources("cancel"), SlotStatus.CANCELLED
                )
            d.updated_at = now
            d = await uow.save_distribution(d)
            event = _event(
                now,
                kind,
                actor,
                d,
                before={"status": str(before)},
                after={"status": str(d.status)},
                data=data,
            )
            await uow.append_event(event)
        await self._notifier.notify(event)
        return d

    # ------------------------------------------------------------------ slots

    async def retry_failed(self, actor: Actor, key: str) -> int:
        """Re-plan FAILED slots under the same rules: requeue those whose account can post,
        move the others to another eligible account. Returns how many were re-planned."""
        _require(actor, Role.OPERATOR, "retry failed slots")
        now = self._clock.now()
        async with self._repository.unit_of_work() as uow:
            d = await _resolve(uow, key)
            failed = await uow.list_slots(d.id, [SlotStatus.FAILED])
            if not failed:
                return 0
            target = advance_distribution(d.status, "retry", what=_what(d))
            accounts = await uow.list_accounts()
            by_id = {a.id: a for a in accounts}
            siblings = await uow.list_slots(d.id)
            seq = max((s.seq for s in siblings), default=0)
            moved = 0
            for slot in failed:
                due = now + self.config.retry_stagger * moved
                account = by_id.get(slot.account_id)
                if account is not None and account_available(account, now):
                    slot.status = advance_slot(slot.status, "retry")
                    slot.due_at, slot.attempts = due, 0
                    slot.error = slot.failure_kind = None
                    await uow.save_slot(slot)
                    moved += 1
                    continue
                others = [a for a in accounts if a.id != slot.account_id]
                replacement = choose_replacement(
                    slot,
                    others,
                    siblings,
                    platforms=d.request.platforms,
                    table=self._platforms,
                    now=now,
                    source_type=d.request.content.type,
                )
                if replacement is None:
                    continue
                seq += 1
                new = replace(
                    redistributed_slot(
                        slot,
                        replacement,
                        table=self._platforms,
                        now=due,
                        source_type=d.request.content.type,
                    ),
                    seq=seq,
                )
                await uow.add_slots([new])
                siblings.append(new)
                slot.status = advance_slot(slot.status, "redistribute")
                slot.error = f"{slot.error}; re-planned on {new.account_id} ({new.platform})"
                await uow.save_slot(slot)
                moved += 1
            before = d.status
            if moved:
                d.status, d.updated_at = target, now
                d = await uow.save_distribution(d)
            event = _event(
                now,
                "distribution.retried",
                actor,
                d,
                before={"status": str(before)},
                after={"status": str(d.status)},
                data={"failed": len(failed), "retried": moved, "name": d.name},
            )
            await uow.append_event(event)
        await self._notifier.notify(event)
        return moved

    async def retry_slot(self, actor: Actor, slot_id: str) -> Slot:
        """Queue one FAILED or OUTCOME_UNKNOWN slot again, due now, with the same
        idempotency key (a de-duplicating publisher will not post it twice)."""
        _require(actor, Role.OPERATOR, "retry a slot")
        now = self._clock.now()
        async with self._repository.unit_of_work() as uow:
            slot = await uow.get_slot(slot_id)
            d = await uow.get_distribution(slot.distribution_id)
            target = advance_distribution(d.status, "retry", what=_what(d))
            before = {"status": str(slot.status), "error": slot.error}
            slot.status = advance_slot(slot.status, "retry", what=f"slot {slot.id}")
            slot.due_at, slot.attempts = now, 0
            slot.error = slot.failure_kind = None
            await uow.save_slot(slot)
            if target != d.status:
                d.status, d.updated_at = target, now
                await uow.save_distribution(d)
            event = _slot_event(now, "slot.retry_scheduled", actor, slot, before, {"manual": True})
            await uow.append_event(event)
        await self._notifier.notify(event)
        return slot

    async def skip_slot(self, actor: Actor, slot_id: str) -> Slot:
        """Give up on one slot that is not claimed or finished (SKIPPED)."""
        _require(actor, Role.OPERATOR, "skip a slot")
        now = self._clock.now()
        async with self._repository.unit_of_work() as uow:
            slot = await uow.get_slot(slot_id)
            before = {"status": str(slot.status), "error": slot.error}
            slot.status = advance_slot(slot.status, "skip", what=f"slot {slot.id}")
            slot.claimed_by = slot.lease_expires_at = None
            await uow.save_slot(slot)
            event = _slot_event(now, "slot.skipped", actor, slot, before, {"manual": True})
            await uow.append_event(event)
        await self._notifier.notify(event)
        await complete_if_done(self._repository, self._notifier, self._clock, slot.distribution_id)
        return slot

    # ------------------------------------------------------------------ reads

    async def status(self, key: str) -> StatusView:
        """Counts per slot status, the next due time, published/failed and late slots."""
        now = self._clock.now()
        async with self._repository.unit_of_work() as uow:
            d = await _resolve(uow, key)
            counts = await uow.slot_counts(d.id)
            waiting = await uow.list_slots(d.id, [SlotStatus.QUEUED, SlotStatus.RETRY_SCHEDULED])
        late = 0
        if d.status == DistributionStatus.EXECUTING:
            late = sum(1 for s in waiting if s.due_at < now - self.config.late_after)
        next_due = min((s.due_at for s in waiting), default=None)
        return StatusView(
            d,
            {s: counts.get(s, 0) for s in SlotStatus},
            next_due,
            counts.get(SlotStatus.PUBLISHED, 0),
            counts.get(SlotStatus.FAILED, 0),
            late,
        )

    async def progress(self, key: str) -> builtins.list[Slot]:
        """Every slot of the distribution, by due time."""
        async with self._repository.unit_of_work() as uow:
            d = await _resolve(uow, key)
            return await uow.list_slots(d.id)

    async def history(self, *, key: str | None = None, limit: int = 20) -> builtins.list[Event]:
        """The audit log, newest first, of one distribution or of everything."""
        async with self._repository.unit_of_work() as uow:
            distribution_id = (await _resolve(uow, key)).id if key else None
            return await uow.list_events(distribution_id=distribution_id, limit=limit)

    async def analytics(self) -> dict[str, Any]:
        """Totals over recent distributions: by status, by platform, success rate, accounts."""
        by_status: dict[str, int] = {}
        slots: dict[str, int] = {}
        platforms: dict[str, dict[str, int]] = {}
        async with self._repository.unit_of_work() as uow:
            distributions = await uow.list_distributions(limit=200)
            for d in distributions:
                by_status[str(d.status)] = by_status.get(str(d.status), 0) + 1
                for slot in await uow.list_slots(d.id):
                    slots[str(slot.status)] = slots.get(str(slot.status), 0) + 1
                    per = platforms.setdefault(slot.platform, {})
                    per[str(slot.status)] = per.get(str(slot.status), 0) + 1
            accounts = await uow.list_accounts()
        published = slots.get(SlotStatus.PUBLISHED, 0)
        attempted = (
            published + slots.get(SlotStatus.FAILED, 0) + slots.get(SlotStatus.OUTCOME_UNKNOWN, 0)
        )
        states: dict[str, int] = {}
        for a in accounts:
            states[str(a.state)] = states.get(str(a.state), 0) + 1
        return {
            "distributions": by_status,
            "slots": slots,
            "platforms": platforms,
            "published": published,
            "failed": slots.get(SlotStatus.FAILED, 0),
            "success_rate": round(published / attempted, 4) if attempted else None,
            "accounts": states,
        }

    async def resolve(self, key: str) -> Distribution:
        """The distribution with this id or name; AmbiguousName / DistributionNotFound."""
        async with self._repository.unit_of_work() as uow:
            return await _resolve(uow, key)

    async def list(
        self, statuses: Sequence[DistributionStatus] | None = None, limit: int = 20
    ) -> builtins.list[Distribution]:
        """Distributions, newest first."""
        async with self._repository.unit_of_work() as uow:
            return await uow.list_distributions(statuses, limit)

    async def accounts(self, platform: str | None = None) -> builtins.list[Account]:
        """Stored accounts (of one platform), by id."""
        async with self._repository.unit_of_work() as uow:
            return await uow.list_accounts(platform)

    async def import_accounts(self, actor: Actor, csv_text: str) -> ImportReport:
        """Upsert the valid rows of an accounts CSV; every bad row is reported by line."""
        _require(actor, Role.OPERATOR, "import accounts")
        accounts, errors = read_accounts_csv(csv_text, platforms=self._platforms)
        messages = [str(e) for e in errors]
        now = self._clock.now()
        event = Event(
            new_id("e"),
            now,
            "account.imported",
            actor.id,
            data={"imported": len(accounts), "errors": len(messages)},
        )
        async with self._repository.unit_of_work() as uow:
            written = await uow.upsert_accounts(accounts) if accounts else 0
            await uow.append_event(event)
        await self._notifier.notify(event)
        return ImportReport(written, messages)

    # ------------------------------------------------------------------ helpers

    def _check_mode(self, mode: SafetyMode) -> None:
        if mode == SafetyMode.FULL_AUTONOMOUS and not self.config.enable_full_autonomous:
            raise NotAllowed(
                "FULL_AUTONOMOUS mode is disabled "
                "(set HERALD_ENABLE_FULL_AUTONOMOUS=true to allow it)"
            )

    async def _notify(self, events: Sequence[Event]) -> None:
        for event in events:
            await self._notifier.notify(event)


def _require(actor: Actor, role: Role, doing: str) -> None:
    if _RANK[actor.role] < _RANK[role]:
        raise NotAllowed(
            f"{actor.display or actor.id} is a {actor.role} and cannot {doing} (needs {role})"
        )


def _check_version(d: Distribution, expected: int | None) -> None:
    if expected is not None and d.version != expected:
        raise ConcurrentModification(
            f"{d.name!r} changed since you looked at it (version {d.version}, you saw "
            f"{expected}); look again and retry"
        )


def _what(d: Distribution) -> str:
    return f"distribution {d.name!r}"


async def _resolve(uow: UnitOfWork, key: str) -> Distribution:
    key = key.strip()
    found = await uow.find_distributions(key)
    if not found:
        raise DistributionNotFound(key)
    exact = [d for d in found if d.id == key]
    if exact:
        return exact[0]
    if len(found) > 1:
        raise AmbiguousName(key, [(d.id, d.name) for d in found])
    return found[0]


def _slot_from_plan(
    distribution_id: str, seq: int, planned: PlannedSlot, accounts: dict[str, Account]
) -> Slot:
    account = accounts.get(planned.account_id)
    slot_id = f"{distribution_id}.{seq}"
    return Slot(
        id=slot_id,
        distribution_id=distribution_id,
        seq=seq,
        account_id=planned.account_id,
        platform=planned.platform,
        language=planned.language,
        timezone=account.timezone if account else "UTC",
        scheduled_at=planned.scheduled_at,
        due_at=planned.scheduled_at,
        caption=planned.caption,
        hashtags=tuple(planned.hashtags),
        risk_score=planned.risk_score,
        risk_level=planned.risk_level,
        trend_score=planned.trend_score,
        content_type=planned.content_type,
        variant_id=planned.variant_id,
        status=SlotStatus.PLANNED,
        # Stable per slot: a repeated publish of the same slot cannot post twice.
        idempotency_key=f"herald:{slot_id}",
    )


def _planned_from_slot(slot: Slot) -> PlannedSlot:
    try:
        zone = ZoneInfo(slot.timezone)
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    return PlannedSlot(
        account_id=slot.account_id,
        platform=slot.platform,
        language=slot.language,
        scheduled_at=slot.scheduled_at,
        local_time=slot.scheduled_at.astimezone(zone),
        caption=slot.caption,
        hashtags=slot.hashtags,
        risk_score=slot.risk_score,
        risk_level=slot.risk_level,
        trend_score=slot.trend_score,
        content_type=slot.content_type,
        variant_id=slot.variant_id,
    )


def _event(
    now: datetime,
    kind: str,
    actor: Actor,
    d: Distribution,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
) -> Event:
    return Event(
        new_id("e"), now, kind, actor.id, d.id, before=before, after=after, data=data or {}
    )


def _slot_event(
    now: datetime,
    kind: str,
    actor: Actor,
    slot: Slot,
    before: dict[str, Any],
    data: dict[str, Any],
) -> Event:
    payload = {"platform": slot.platform, "attempts": slot.attempts, **data}
    return Event(
        new_id("e"),
        now,
        kind,
        actor.id,
        slot.distribution_id,
        slot.id,
        slot.account_id,
        before=before,
        after={"status": str(slot.status)},
        data=payload,
    )
