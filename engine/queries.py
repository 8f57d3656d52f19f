"""The read side of the service: status, progress, history, analytics, lookups.

Reads take no actor: Slack shows them to anyone in the channel (viewers included).
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

from engine.captions import distinct_captions
from engine.errors import InvalidRequest
from engine.models import Account, Distribution, DistributionStatus, Event, Slot, SlotStatus
from engine.plan_summary import PlanSummary
from engine.platforms import DEFAULT_PLATFORMS, PlatformTable
from engine.ports import Clock, Repository
from engine.service_support import ServiceConfig, StatusView, resolve_distribution
from engine.velocity import HISTORY_WINDOW, VelocityProfile, records_from_slots, velocity_profile


class DistributionReads:
    """Queries over distributions, slots, the audit log and accounts (read-only: the
    notifier and the bot's status cache get one of these, never the writing service)."""

    def __init__(
        self,
        repository: Repository,
        clock: Clock,
        *,
        platforms: PlatformTable = DEFAULT_PLATFORMS,
        config: ServiceConfig | None = None,
    ) -> None:
        self._repository = repository
        self._clock = clock
        self._platforms = platforms
        self.config = config or ServiceConfig()

    def _known_platform(self, name: str) -> None:
        """InvalidRequest naming the `platform` parameter and the known ones, before any
        query (adapters show it next to what was typed)."""
        if name not in self._platforms:
            known = ", ".join(sorted(self._platforms.names()))
            raise InvalidRequest("platform", f"unknown platform {name!r} (known: {known})")

    async def velocity(self, platform: str) -> VelocityProfile:
        """Seed 001 #10: the platform's limits and the velocity its last seven days of
        published and failed posts suggest. Raises InvalidInput for an unknown platform."""
        self._known_platform(platform)
        now = self._clock.now()
        history = []
        async with self._repository.reading() as uow:
            for d in await uow.list_distributions(limit=200):
                if d.updated_at < now - HISTORY_WINDOW:
                    continue
                done = await uow.list_slots(d.id, [SlotStatus.PUBLISHED, SlotStatus.FAILED])
                history.extend(records_from_slots(s for s in done if s.platform == platform))
        return velocity_profile(platform, history, now=now, platforms=self._platforms)

    async def status(self, key: str) -> StatusView:
        """Counts per slot status, the next due time, published/failed and late slots."""
        now = self._clock.now()
        async with self._repository.reading() as uow:
            d = await resolve_distribution(uow, key)
            # Aggregates only: this runs on Slack requests, even for 10 000-slot plans.
            counts = await uow.slot_counts(d.id)
            next_due = await uow.next_slot_due_at(d.id)
            late = 0
            if d.status == DistributionStatus.EXECUTING and next_due is not None:
                late = await uow.count_late_slots(d.id, now - self.config.late_after)
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
        async with self._repository.reading() as uow:
            d = await resolve_distribution(uow, key)
            return await uow.list_slots(d.id)

    async def plan_summary(self, key: str) -> tuple[Distribution, PlanSummary]:
        """The distribution and what its plan card shows about its slots, from one
        snapshot (aggregates: no slot list)."""
        async with self._repository.reading() as uow:
            d = await resolve_distribution(uow, key)
            return d, await uow.plan_summary(d.id)

    async def captions(self, key: str) -> builtins.list[dict[str, Any]]:
        """Every distinct caption + hashtags of the plan by platform and language, with
        its slot count (`engine.captions.distinct_captions`): model-written captions
        and translations, readable before approval."""
        return distinct_captions(await self.progress(key))

    async def history(self, *, key: str | None = None, limit: int = 20) -> builtins.list[Event]:
        """The audit log, newest first, of one distribution or of everything."""
        async with self._repository.reading() as uow:
            distribution_id = (await resolve_distribution(uow, key)).id if key else None
            return await uow.list_events(distribution_id=distribution_id, limit=limit)

    async def analytics(self) -> dict[str, Any]:
        """Totals over recent distributions: by status, by platform, success rate, accounts."""
        by_status: dict[str, int] = {}
        slots: dict[str, int] = {}
        platforms: dict[str, dict[str, int]] = {}
        async with self._repository.reading() as uow:
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
        async with self._repository.reading() as uow:
            return await resolve_distribution(uow, key)

    async def list(
        self, statuses: Sequence[DistributionStatus] | None = None, limit: int = 20
    ) -> builtins.list[Distribution]:
        """Distributions, newest first."""
        async with self._repository.reading() as uow:
            return await uow.list_distributions(statuses, limit)

    async def accounts(self, platform: str | None = None) -> builtins.list[Account]:
        """Stored accounts (of one platform), by id. Raises InvalidInput for an unknown
        platform (an empty list would read as "none connected")."""
        if platform is not None:
            self._known_platform(platform)
        async with self._repository.reading() as uow:
            return await uow.list_accounts(platform)
