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

from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta
from typing import Any

from engine.accounts_csv import read_accounts_csv
from engine.advisor import Advisor
from engine.catch_up import CATCH_UP_CHOICES, HELD_PAST_WINDOW, PAST_WINDOW_ALLOWED
from engine.content_library import ContentLibrary
from engine.dispatcher import IN_DOUBT
from engine.durations import format_duration
from engine.errors import (
    InvalidInput,
    InvalidRequest,
    NetworkError,
    NotAllowed,
    NotFound,
)
from engine.event_kinds import EventKind
from engine.fallback import account_available, move_to_another_account
from engine.item_report import item_report, unused_warnings
from engine.lifecycle import advance_distribution, advance_slot, slot_sources
from engine.live_limits import LiveLimits, checked_plan
from engine.media import MediaAsset
from engine.media_attach import (
    EDITABLE,
    MediaAttached,
    media_summary,
    merged_media,
    platform_verdicts,
)
from engine.models import (
    Actor,
    Distribution,
    DistributionStatus,
    Event,
    Role,
    SafetyMode,
    Slot,
    SlotStatus,
    new_event_id,
    new_id,
)
from engine.outcomes import complete_if_done, slot_event
from engine.plan_captions import add_translations, apply_caption_variants
from engine.planner import check_request, plan_distribution
from engine.platforms import DEFAULT_PLATFORMS, PlatformTable
from engine.ports import Clock, MediaStore, Notifier, Repository, TrendSource, UnitOfWork
from engine.post_limits import plan_costs
from engine.queries import DistributionReads
from engine.request import Content, DistributionRequest
from engine.safety import SafetyPolicy
from engine.service_support import (
    ImportReport,
    PlanView,
    ServiceConfig,
    StatusView,
    check_version,
    describe,
    distribution_event,
    planned_from_slot,
    require_role,
    resolve_distribution,
    slot_from_plan,
)
from engine.simulation import simulate
from engine.unit_of_change import Change, write


class DistributionService(DistributionReads):
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
        advisor: Advisor | None = None,
        media: MediaStore | None = None,
        live_limits: LiveLimits | None = None,
    ) -> None:
        super().__init__(repository, clock, platforms=platforms, config=config)
        self._advisor = advisor
        self._media = media
        self._live_limits = live_limits
        self._notifier = notifier
        self._trends = trends

    @property
    def advisor(self) -> Advisor | None:
        """The advisor plans are made with (read-only; None when none was given)."""
        return self._advisor

    # ------------------------------------------------------------------ create / plan

    def check_create(
        self,
        actor: Actor,
        request: DistributionRequest,
        *,
        safety_mode: SafetyMode | None = None,
    ) -> SafetyMode:
        """Raise what `create` would (NotAllowed, InvalidInput), changing nothing: adapters
        call it before they show anything in public. Returns the safety mode to use."""
        require_role(actor, Role.OPERATOR, "create a distribution")
        mode = safety_mode or self.config.default_safety_mode
        self._check_mode(mode)
        for platform in request.platforms:
            self._platforms[platform]  # raises InvalidInput naming the unknown platform
        if not request.unresolved:
            check_request(
                request,
                self._platforms,
                duplicate_floor_minutes=self.config.duplicate_gap_floor_minutes,
            )
        return mode

    async def create(
        self,
        actor: Actor,
        request: DistributionRequest,
        *,
        origin: dict[str, str] | None = None,
        safety_mode: SafetyMode | None = None,
    ) -> Distribution:
        """Store a new DRAFT distribution for `request`."""
        mode = self.check_create(actor, request, safety_mode=safety_mode)
        if request.unresolved:
            # Stored with the items themselves: the plan stays explainable after edits.
            request = await ContentLibrary(self._repository, self._clock, self._notifier).resolve(
                request
            )
            check_request(
                request,
                self._platforms,
                duplicate_floor_minutes=self.config.duplicate_gap_floor_minutes,
            )
        # After the library: its items' media are references like an inline item's.
        request = await self._resolve_media(request)
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
        event = distribution_event(
            now,
            EventKind.DISTRIBUTION_CREATED,
            actor,
            distribution,
            after={"status": str(distribution.status)},
            data={"name": distribution.name, "platforms": request.platforms, "mode": str(mode)},
        )
        async with self._write() as change:
            uow = change.uow
            await uow.add_distribution(distribution)
            change.record(event)
            distribution = await uow.get_distribution(distribution.id)
        return distribution

    async def plan(self, actor: Actor, key: str) -> PlanView:
        """Run the planner over the stored accounts and store the slots (AWAITING_APPROVAL).

        Trends and the advisor (LLM fusion or the built-in advisor) are asked outside any
        transaction, since they may take seconds; the write then checks that nobody changed
        the distribution meanwhile (`ConcurrentModification`).
        """
        require_role(actor, Role.OPERATOR, "plan a distribution")
        async with self._repository.unit_of_work() as uow:
            d = await resolve_distribution(uow, key)
            advance_distribution(d.status, "plan", what=describe(d))
            accounts = await uow.list_accounts()
            rotation = max(0, len(await uow.list_distributions(limit=1000)) - 1)
        request, warnings = request_from_now(d.request, self._clock.now())
        trends, trend_warnings = await self._fetch_trends(request)
        warnings += trend_warnings
        advice = None
        platforms = self._platforms
        if self._advisor is not None:
            suggestions = await self._advisor.suggest(
                request, accounts, trends=trends, plan_id=d.id
            )
            advice = suggestions.to_dict()
            advice["lines"] = suggestions.lines(limit=8)
            platforms = self._platforms_with_advice(suggestions.peak_hours)
            if self._advisor.gateway is not None:
                # Plan with model translations for languages each item lacks (the stored
                # request stays as the operator wrote it; the slots carry the captions).
                request, translations = await add_translations(self._advisor, request, plan_id=d.id)
                if translations:
                    advice["translations"] = translations
        result = plan_distribution(
            request,
            accounts,
            platforms=platforms,
            trends=trends,
            rotation=rotation,
            max_risk=SafetyPolicy.for_mode(d.safety_mode).max_risk,
            duplicate_floor_minutes=self.config.duplicate_gap_floor_minutes,
        )
        # Accounts' live limits (issue 10) and each item's media, checked before approval.
        assets = await self._media_assets(request)
        result = await checked_plan(result, accounts, assets, platforms, self._live_limits, request)
        warnings += unused_warnings(item_report(request, result.slots))
        by_id = {a.id: a for a in accounts}
        planned = list(result.slots)
        if self._advisor is not None and self._advisor.gateway is not None and advice is not None:
            planned, variants = await apply_caption_variants(
                self._advisor, request, planned, by_id, plan_id=d.id
            )
            if variants:
                advice["caption_variants"] = variants
        slots = [slot_from_plan(d.id, i, p, by_id) for i, p in enumerate(planned)]
        if self._advisor is not None and self._advisor.gateway is not None:
            skipped = self._advisor.gateway.skipped_for_budget(d.id)
            if skipped:
                counts = ", ".join(f"{n} ×{skipped.count(n)}" for n in dict.fromkeys(skipped))
                warnings.append(
                    f"model budget spent: these steps used the built-in advisor: {counts}"
                )
        # Planning simulates: an approver only ever sees (and approves) a simulated plan.
        report = self._simulation_report(
            slots,
            accounts,
            d,
            len(result.unscheduled),
            media_problems=[i.text() for i in result.media_issues],
            media=assets,
        )
        now = self._clock.now()
        async with self._write() as change:
            uow = change.uow
            current = await uow.get_distribution(d.id)
            check_version(current, d.version)
            target = advance_distribution(current.status, "plan", what=describe(current))
            await uow.replace_slots(d.id, slots)
            before = current.status
            current.status, current.updated_at = target, now
            current.warnings, current.simulation = [*warnings, *result.warnings], report
            current.advice = advice
            d = await uow.save_distribution(current)
            event = distribution_event(
                now,
                EventKind.DISTRIBUTION_PLANNED,
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
                    "media_issues": [i.text() for i in result.media_issues],
                    "advice_source": advice.get("source") if advice else None,
                },
            )
            change.record(event)
        return PlanView(d, slots, list(result.unscheduled), list(d.warnings))

    async def attach_media(
        self, actor: Actor, key: str, refs: Sequence[str], *, replace: bool = False
    ) -> MediaAttached:
        """Add files (media references: `slack:F…`, URLs, ids) to a distribution nobody has
        approved yet, or with `replace` put them instead of its media; one that has a plan
        is planned again, so its media checks are re-run and its card shows the new plan.
        Raises NotAllowed (role, approved already), InvalidRequest (a file Herald cannot
        use), ConcurrentModification."""
        require_role(actor, Role.OPERATOR, "attach media")
        d = await self.resolve(key)
        self._check_editable(d)
        if self._media is None:
            raise InvalidRequest("content.media", "this Herald has no media store")
        if len(d.request.items) > 1:
            raise NotAllowed(
                f"{d.name!r} posts {len(d.request.items)} queue items: a file in its thread "
                "cannot say which one; give each item its media in the content library"
            )
        [item] = d.request.items
        added = await self._media_of(refs, resolve=True)
        existing = await self._media_of(item.media)
        ids = merged_media([] if replace else existing, added)
        now = self._clock.now()
        async with self._write() as change:
            current = await change.uow.get_distribution(d.id)
            check_version(current, d.version)
            self._check_editable(current)
            before = list(item.media)
            current.request = current.request.with_items(
                {item.id: item.model_copy(update={"media": ids})}
            )
            current.updated_at = now
            d = await change.uow.save_distribution(current)
            change.record(
                distribution_event(
                    now,
                    EventKind.DISTRIBUTION_MEDIA_CHANGED,
                    actor,
                    d,
                    before={"media": before},
                    after={"media": ids},
                    data={"added": [a.id for a in added]},
                )
            )
        replanned = d.status is not DistributionStatus.DRAFT
        if replanned:
            d = (await self.plan(actor, d.id)).distribution
        by_id = {a.id: a for a in [*existing, *added]}
        media = [by_id[i] for i in ids]
        verdicts = platform_verdicts(d.request.platforms, item.type, media, self._platforms)
        return MediaAttached(d, added, media, verdicts, replanned)

    def _check_editable(self, d: Distribution) -> None:
        if d.status not in EDITABLE:
            raise NotAllowed(
                f"{d.name!r} is {d.status.value}: its media cannot change after approval "
                "(the approved plan is what runs); create a new distribution for this file"
            )

    async def _media_of(self, refs: Sequence[str], *, resolve: bool = False) -> list[MediaAsset]:
        """Stored media for `refs` (downloaded first when `resolve`). InvalidRequest."""
        assert self._media is not None
        out = []
        for ref in refs:
            try:
                out.append(await (self._media.resolve(ref) if resolve else self._media.get(ref)))
            except (InvalidInput, NotFound, NetworkError) as exc:
                raise InvalidRequest("content.media", str(exc)) from None
        return out

    async def _refuse_a_late_start(self, uow: UnitOfWork, d: Distribution, now: datetime) -> None:
        """Refuse to start a plan whose first post is long overdue: its missed posts would
        all go out at once, breaking the gaps the plan promised. Raises NotAllowed (the
        caller's transaction rolls back, nothing changes)."""
        first = await uow.next_slot_due_at(d.id)
        if first is None or now - first <= LATE_START_TOLERANCE:
            return
        raise NotAllowed(
            f"{d.name!r} was planned to start at {first:%Y-%m-%d %H:%M}Z, "
            f"{format_duration(now - first)} ago; its missed posts would go out in a burst. "
            f"Plan it again (`plan {d.name}`) and approve the new plan."
        )

    async def _resolve_media(self, request: DistributionRequest) -> DistributionRequest:
        """The request with every item's media references (URLs, Slack files) stored and
        named by id; downloads happen here, outside any transaction. Raises InvalidRequest
        (`content.media`, or `queue` naming the item)."""
        if not any(item.media for item in request.items):
            return request
        field = "content.media" if len(request.items) == 1 else "queue"
        if self._media is None:
            raise InvalidRequest(field, "this Herald has no media store")
        stored: dict[str, Content] = {}
        for item in request.items:
            ids = []
            for ref in item.media:
                try:
                    ids.append((await self._media.resolve(ref)).id)
                except (InvalidInput, NotFound, NetworkError) as exc:
                    where = "" if field == "content.media" else f"item {item.id} media: "
                    raise InvalidRequest(field, f"{where}{exc}") from None
            if item.media:
                stored[item.id] = item.model_copy(update={"media": ids})
        return request.with_items(stored)

    async def _media_assets(self, request: DistributionRequest) -> dict[str, list[MediaAsset]]:
        """The stored facts of each item's media (item id -> files), for the plan-time checks."""
        if self._media is None:
            return {}
        out: dict[str, list[MediaAsset]] = {}
        try:
            for item in request.items:
                out[item.id] = [await self._media.get(media_id) for media_id in item.media]
        except NotFound as exc:
            raise InvalidRequest("content.media", str(exc)) from None
        return out

    async def _fetch_trends(self, request: DistributionRequest) -> tuple[Sequence[Any], list[str]]:
        """Trends for a trend-weighted request, and a warning when the source failed."""
        if self._trends is None or not request.trend_weighted:
            return (), []
        try:
            return await self._trends.trends(request.platforms), []
        except (NetworkError, InvalidInput) as exc:
            # Trends only weight the timing: plan without them and say so.
            return (), [f"trends unavailable, planned without them: {exc}"]

    def _platforms_with_advice(self, peak_hours: dict[str, tuple[int, ...]]) -> PlatformTable:
        """The platform table with the advisor's fused weekday peak hours, where it gave any."""
        overrides = {
            platform: {"peak_hours": tuple(sorted(set(hours)))}
            for platform, hours in peak_hours.items()
            if hours and platform in self._platforms
        }
        return self._platforms.with_overrides(overrides) if overrides else self._platforms

    def _simulation_report(
        self,
        slots: Sequence[Slot],
        accounts: Sequence[Any],
        d: Distribution,
        unscheduled: int,
        *,
        media_problems: Sequence[str] = (),
        media: Mapping[str, Sequence[MediaAsset]] | None = None,
    ) -> dict[str, Any]:
        """The simulation of `slots` (pure): what `simulate` stores and planning stores too."""
        report = simulate(
            [planned_from_slot(s) for s in slots if s.status != SlotStatus.CANCELLED],
            accounts,
            request=d.request,
            mode=d.safety_mode,
            platforms=self._platforms,
            unscheduled=unscheduled,
            media_problems=list(media_problems),
        ).to_dict()
        # Which publishers the plan posts through, and what the billed APIs cost (X).
        live = [s for s in slots if s.status != SlotStatus.CANCELLED]
        report.update(plan_costs(live, accounts, self._platforms, self.config.default_publisher))
        # What the media is and what each platform gets (repurposing), for the card.
        planned = [p for p in d.request.platforms if any(s.platform == p for s in live)]
        with_files = {item: files for item, files in (media or {}).items() if files}
        if len(with_files) == 1:
            [(item_id, files)] = with_files.items()
            ctype = d.request.item(item_id).type
            report.update(media_summary(files, planned, ctype, self._platforms))
        elif with_files:
            report["media"] = f"{len(with_files)} queue items carry files"
        return report

    async def simulate(self, actor: Actor, key: str) -> dict[str, Any]:
        """The simulation report of the stored plan, also stored on the distribution."""
        require_role(actor, Role.OPERATOR, "simulate a distribution")
        media = await self._media_assets((await self.resolve(key)).request)
        now = self._clock.now()
        async with self._write() as change:
            uow = change.uow
            d = await resolve_distribution(uow, key)
            advance_distribution(d.status, "simulate", what=describe(d))
            slots = await uow.list_slots(d.id)
            accounts = await uow.list_accounts()
            planned_events = await uow.list_events(
                distribution_id=d.id, kind_prefix=EventKind.DISTRIBUTION_PLANNED, limit=1
            )
            unscheduled = int(planned_events[0].data.get("unscheduled", 0)) if planned_events else 0
            media_problems = (
                planned_events[0].data.get("media_issues", []) if planned_events else []
            )
            report = self._simulation_report(
                slots, accounts, d, unscheduled, media_problems=media_problems, media=media
            )
            d.simulation, d.updated_at = report, now
            d = await uow.save_distribution(d)
            event = distribution_event(
                now, EventKind.DISTRIBUTION_SIMULATED, actor, d, data={"report": report}
            )
            change.record(event)
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
        require_role(actor, Role.APPROVER, "approve a distribution")
        now = self._clock.now()
        async with self._write() as change:
            uow = change.uow
            d = await resolve_distribution(uow, key)
            check_version(d, expected_version)
            self._check_mode(d.safety_mode)
            if d.created_by == actor.id and not self.config.allow_self_approval:
                raise NotAllowed(
                    f"{actor.display or actor.id} created {d.name!r} and cannot approve it too "
                    "(set HERALD_ALLOW_SELF_APPROVAL=true to allow it)"
                )
            approved = advance_distribution(d.status, "approve", what=describe(d))
            if not d.simulation:
                # Approval applies to the plan that was simulated (planning simulates).
                raise NotAllowed(
                    f"{d.name!r} has no simulation of its current plan; simulate it first"
                )
            executing = advance_distribution(approved, "start", what=describe(d))
            before = d.status
            queued = await uow.set_slot_status(d.id, [SlotStatus.PLANNED], SlotStatus.QUEUED)
            await self._refuse_a_late_start(uow, d, now)
            d.status, d.updated_at = executing, now
            d.approved_by, d.approved_at, d.decision_note = actor.id, now, note
            d = await uow.save_distribution(d)
            events = [
                distribution_event(
                    now,
                    EventKind.DISTRIBUTION_APPROVED,
                    actor,
                    d,
                    before={"status": str(before)},
                    after={"status": str(approved)},
                    data={"note": note, "name": d.name},
                ),
                distribution_event(
                    now,
                    EventKind.DISTRIBUTION_STARTED,
                    actor,
                    d,
                    before={"status": str(approved)},
                    after={"status": str(executing)},
                    data={"queued": queued, "name": d.name},
                ),
            ]
            change.record(*events)
        return d

    async def reject(
        self, actor: Actor, key: str, *, reason: str, expected_version: int | None = None
    ) -> Distribution:
        """Reject the plan with a reason (required); it can be re-planned later."""
        require_role(actor, Role.APPROVER, "reject a distribution")
        if not reason or not reason.strip():
            raise InvalidInput("a rejection needs a reason")
        return await self._move(
            actor,
            key,
            "reject",
            EventKind.DISTRIBUTION_REJECTED,
            expected_version=expected_version,
            note=reason.strip(),
        )

    async def start(self, actor: Actor, key: str) -> Distribution:
        """Start an APPROVED distribution; in FULL_AUTONOMOUS, a planned one without approval."""
        require_role(actor, Role.OPERATOR, "start a distribution")
        now = self._clock.now()
        async with self._write() as change:
            uow = change.uow
            d = await resolve_distribution(uow, key)
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
            d.status = advance_distribution(d.status, action, what=describe(d))
            queued = await uow.set_slot_status(d.id, [SlotStatus.PLANNED], SlotStatus.QUEUED)
            await self._refuse_a_late_start(uow, d, now)
            d.updated_at = now
            if action == "autostart":
                d.approved_by, d.approved_at = f"auto:{actor.id}", now
            d = await uow.save_distribution(d)
            event = distribution_event(
                now,
                EventKind.DISTRIBUTION_STARTED,
                actor,
                d,
                before={"status": str(before)},
                after={"status": str(d.status)},
                data={"queued": queued, "name": d.name, "auto": action == "autostart"},
            )
            change.record(event)
        return d

    async def pause(self, actor: Actor, key: str, *, reason: str | None = None) -> Distribution:
        """Stop claiming this distribution's slots at once (slots in flight finish)."""
        require_role(actor, Role.OPERATOR, "pause a distribution")
        return await self._move(actor, key, "pause", EventKind.DISTRIBUTION_PAUSED, note=reason)

    async def resume(self, actor: Actor, key: str) -> Distribution:
        """Resume a PAUSED run; resuming a HALTED one needs an approver."""
        require_role(actor, Role.OPERATOR, "resume a distribution")
        return await self._move(actor, key, "resume", EventKind.DISTRIBUTION_RESUMED)

    async def cancel(self, actor: Actor, key: str, *, reason: str | None = None) -> Distribution:
        """Cancel: every slot not yet claimed becomes CANCELLED in the same transaction."""
        require_role(actor, Role.OPERATOR, "cancel a distribution")
        return await self._move(
            actor, key, "cancel", EventKind.DISTRIBUTION_CANCELLED, note=reason, cancel_slots=True
        )

    async def halt(self, actor: Actor, key: str, *, reason: str) -> Distribution:
        """Emergency stop with a reason; only an approver may resume (continue) it."""
        require_role(actor, Role.APPROVER, "halt a distribution")
        if not reason or not reason.strip():
            raise InvalidInput("an emergency stop needs a reason")
        return await self._move(
            actor, key, "halt", EventKind.DISTRIBUTION_HALTED, note=reason.strip()
        )

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
        async with self._write() as change:
            uow = change.uow
            d = await resolve_distribution(uow, key)
            check_version(d, expected_version)
            if action == "resume" and d.status == DistributionStatus.HALTED:
                require_role(actor, Role.APPROVER, "continue a halted distribution")
            before = d.status
            d.status = advance_distribution(d.status, action, what=describe(d))
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
            event = distribution_event(
                now,
                kind,
                actor,
                d,
                before={"status": str(before)},
                after={"status": str(d.status)},
                data=data,
            )
            change.record(event)
        return d

    # ------------------------------------------------------------------ slots

    async def retry_failed(self, actor: Actor, key: str) -> int:
        """Re-plan FAILED slots under the same rules: requeue those whose account can post,
        move the others to another eligible account. Returns how many were re-planned."""
        require_role(actor, Role.OPERATOR, "retry failed slots")
        now = self._clock.now()
        async with self._write() as change:
            uow = change.uow
            d = await resolve_distribution(uow, key)
            failed = await uow.list_slots(d.id, [SlotStatus.FAILED])
            if not failed:
                return 0
            target = advance_distribution(d.status, "retry", what=describe(d))
            accounts = await uow.list_accounts()
            by_id = {a.id: a for a in accounts}
            siblings = await uow.list_slots(d.id)
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
                new = await move_to_another_account(
                    uow, slot, d, accounts, siblings, table=self._platforms, now=now, due=due
                )
                if new is None:
                    continue
                slot.status = advance_slot(slot.status, "redistribute")
                slot.error = f"{slot.error}; re-planned on {new.account_id} ({new.platform})"
                await uow.save_slot(slot)
                moved += 1
            before = d.status
            if moved:
                d.status, d.updated_at = target, now
                d = await uow.save_distribution(d)
            event = distribution_event(
                now,
                EventKind.DISTRIBUTION_RETRIED,
                actor,
                d,
                before={"status": str(before)},
                after={"status": str(d.status)},
                data={"failed": len(failed), "retried": moved, "name": d.name},
            )
            change.record(event)
        return moved

    async def retry_slot(self, actor: Actor, slot_id: str) -> Slot:
        """Queue one FAILED or OUTCOME_UNKNOWN slot again, due now, with the same
        idempotency key (a de-duplicating publisher will not post it twice)."""
        require_role(actor, Role.OPERATOR, "retry a slot")
        now = self._clock.now()
        async with self._write() as change:
            uow = change.uow
            slot = await uow.get_slot(slot_id)
            d = await uow.get_distribution(slot.distribution_id)
            target = advance_distribution(d.status, "retry", what=describe(d))
            before = {"status": str(slot.status), "error": slot.error}
            was_unknown = slot.status == SlotStatus.OUTCOME_UNKNOWN
            slot.status = advance_slot(slot.status, "retry", what=f"slot {slot.id}")
            slot.due_at, slot.attempts = now, 0
            slot.error = None
            # It may be out already: the dispatcher then asks the publisher before anything.
            slot.failure_kind = IN_DOUBT if was_unknown else None
            await uow.save_slot(slot)
            if target != d.status:
                d.status, d.updated_at = target, now
                await uow.save_distribution(d)
            event = slot_event(
                now,
                EventKind.SLOT_RETRY_SCHEDULED,
                slot,
                before=before,
                data={"manual": True},
                actor=actor,
            )
            change.record(event)
        return slot

    async def mark_posted(
        self, actor: Actor, slot_id: str, *, post_id: str | None = None, url: str | None = None
    ) -> Slot:
        """A human checked the platform: the OUTCOME_UNKNOWN slot's post is out (PUBLISHED)."""
        require_role(actor, Role.OPERATOR, "mark a slot posted")
        now = self._clock.now()
        async with self._write() as change:
            uow = change.uow
            slot = await uow.get_slot(slot_id)
            before = {"status": str(slot.status), "error": slot.error}
            slot.status = advance_slot(slot.status, "confirm_published", what=f"slot {slot.id}")
            slot.executed_at = slot.executed_at or now
            slot.post_id, slot.post_url = post_id or slot.post_id, url or slot.post_url
            slot.error, slot.failure_kind = None, None
            await uow.save_slot(slot)
            change.record(
                slot_event(
                    now,
                    EventKind.SLOT_MARKED_POSTED,
                    slot,
                    before=before,
                    data={"manual": True},
                    actor=actor,
                )
            )
        await complete_if_done(self._repository, self._notifier, self._clock, slot.distribution_id)
        return slot

    async def skip_slot(self, actor: Actor, slot_id: str) -> Slot:
        """Give up on one slot that is not claimed or finished (SKIPPED)."""
        require_role(actor, Role.OPERATOR, "skip a slot")
        now = self._clock.now()
        async with self._write() as change:
            uow = change.uow
            slot = await uow.get_slot(slot_id)
            before = {"status": str(slot.status), "error": slot.error}
            slot.status = advance_slot(slot.status, "skip", what=f"slot {slot.id}")
            slot.claimed_by = slot.lease_expires_at = None
            await uow.save_slot(slot)
            event = slot_event(
                now, EventKind.SLOT_SKIPPED, slot, before=before, data={"manual": True}, actor=actor
            )
            change.record(event)
        await complete_if_done(self._repository, self._notifier, self._clock, slot.distribution_id)
        return slot

    async def decide_held(self, actor: Actor, key: str, choice: str) -> int:
        """Answer the card's question about late slots held past the window
        (`distribution.catch_up_held`): `replan` spreads them over a fresh window of the
        plan's length from now, `publish` sends them spaced by the plan's rules past the
        window, `skip` gives them up. The dispatcher keeps every gap either way. Returns how
        many slots the choice moved; raises InvalidInput for another choice."""
        require_role(actor, Role.OPERATOR, "decide about late posts")
        if choice not in CATCH_UP_CHOICES:
            raise InvalidInput(f"choice: {choice!r} is not one of {', '.join(CATCH_UP_CHOICES)}")
        now = self._clock.now()
        async with self._repository.unit_of_work() as uow:
            d = await resolve_distribution(uow, key)
            advance_distribution(d.status, "retry", what=describe(d))
            held = [
                s
                for s in await uow.list_slots(d.id, [SlotStatus.PLANNED])
                if s.failure_kind == HELD_PAST_WINDOW
            ]
            length = d.request.end - d.request.start
            step = max(d.request.min_gap, length / max(1, len(held)))
            for index, slot in enumerate(held):
                if choice == "skip":
                    slot.status = advance_slot(slot.status, "skip", what=f"slot {slot.id}")
                    slot.error = "skipped: the window ended before it could go out in its gaps"
                else:
                    slot.status = advance_slot(slot.status, "queue", what=f"slot {slot.id}")
                    slot.failure_kind, slot.error = PAST_WINDOW_ALLOWED, None
                    slot.due_at = now + step * index if choice == "replan" else now
                await uow.save_slot(slot)
            event = distribution_event(
                now,
                "distribution.catch_up_decided",
                actor,
                d,
                data={"choice": choice, "slots": len(held), "name": d.name},
            )
            await uow.append_event(event)
        await self._notifier.notify(event)
        if choice == "skip":
            await complete_if_done(self._repository, self._notifier, self._clock, d.id)
        return len(held)

    async def import_accounts(self, actor: Actor, csv_text: str) -> ImportReport:
        """Upsert the valid rows of an accounts CSV; every bad row is reported by line."""
        require_role(actor, Role.OPERATOR, "import accounts")
        accounts, errors = read_accounts_csv(csv_text, platforms=self._platforms)
        messages = [str(e) for e in errors]
        now = self._clock.now()
        event = Event(
            new_event_id(),
            now,
            EventKind.ACCOUNT_IMPORTED,
            actor.id,
            data={"imported": len(accounts), "errors": len(messages)},
        )
        async with self._write() as change:
            uow = change.uow
            written = await uow.upsert_accounts(accounts) if accounts else 0
            change.record(event)
        return ImportReport(written, messages)

    # ------------------------------------------------------------------ helpers

    def _check_mode(self, mode: SafetyMode) -> None:
        if mode == SafetyMode.FULL_AUTONOMOUS and not self.config.enable_full_autonomous:
            raise NotAllowed(
                "FULL_AUTONOMOUS mode is disabled "
                "(set HERALD_ENABLE_FULL_AUTONOMOUS=true to allow it)"
            )

    def _write(self) -> AbstractAsyncContextManager[Change]:
        """The one write path: a unit of work whose recorded events are appended to the
        audit log in the same transaction and handed to the notifier after the commit."""
        return write(self._repository, self._notifier)


__all__ = [
    "DistributionService",
    "ImportReport",
    "PlanView",
    "ServiceConfig",
    "StatusView",
]


# A run may start this long after its first planned post; later, the missed posts would
# burst out together, so the plan must be made again.
LATE_START_TOLERANCE = timedelta(minutes=2)


def request_from_now(
    request: DistributionRequest, now: datetime
) -> tuple[DistributionRequest, list[str]]:
    """The request to plan with: one whose start has passed is planned from the next whole
    minute instead (same window length or number of days), and a warning says so."""
    if request.start >= now:
        return request, []
    start = (now + timedelta(minutes=1)).replace(second=0, microsecond=0)
    moved = request.model_copy(update={"start": start})
    return moved, [
        f"start {request.start:%Y-%m-%d %H:%M}Z has passed; planned from {start:%H:%M}Z instead"
    ]
