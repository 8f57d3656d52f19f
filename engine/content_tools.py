"""Seed 001's content tools beside the distribution lifecycle: trends, platform selection,
repurposing, language variants, and rehearsals (a one-slot dry-run publish, a whole-plan
simulated run) that post nowhere and change no state.

Rehearsals use a fresh `SimulatedPublisher` whatever publisher is configured, so they can
never reach a platform; each leaves one audit event saying who rehearsed what.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from engine.advisor import Advisor
from engine.errors import InvalidInput, PublishError
from engine.models import Actor, Event, Role, SlotStatus, new_event_id
from engine.platform_selection import AccountsSummary, rank_platforms
from engine.platforms import PlatformTable
from engine.ports import Clock, PublishRequest, Repository, Trend, TrendSource
from engine.repurpose import repurpose
from engine.request import Content
from engine.service_support import require_role, resolve_distribution
from engine.simulated_publisher import FailureRates, SimulatedPublisher

REHEARSABLE = (SlotStatus.PLANNED, SlotStatus.QUEUED, SlotStatus.RETRY_SCHEDULED)


class ContentTools:
    """Stateless helpers over the same repository, platforms, trends and advisor as the service."""

    def __init__(
        self,
        repository: Repository,
        clock: Clock,
        platforms: PlatformTable,
        *,
        trends: TrendSource | None = None,
        advisor: Advisor | None = None,
        rates: FailureRates | None = None,
        seed: int = 0,
    ) -> None:
        self._repository = repository
        self._clock = clock
        self._platforms = platforms
        self._trends = trends
        self._advisor = advisor
        self._rates = rates or FailureRates()
        self._seed = seed

    async def trends(self, platforms: Sequence[str]) -> list[Trend]:
        """The configured trend source's trends for `platforms` (empty when none is set)."""
        for name in platforms:
            self._platforms[name]  # names the unknown platform
        if self._trends is None:
            return []
        return list(await self._trends.trends(list(platforms)))

    async def select_platforms(
        self, content_type: str, available: Sequence[str]
    ) -> list[dict[str, Any]]:
        """Seed 001 #13: `available` ranked for this content type and the stored accounts."""
        async with self._repository.unit_of_work() as uow:
            accounts = await uow.list_accounts()
        ranked = rank_platforms(
            content_type,
            available,
            platforms=self._platforms,
            accounts=AccountsSummary.of(accounts),
        )
        return [asdict(s) | {"reasons": list(s.reasons)} for s in ranked]

    def repurpose(
        self, content: Content, targets: Sequence[str], language: str | None = None
    ) -> dict[str, dict[str, Any]]:
        """Seed 001 #8: what each target platform receives (InvalidInput names misfits)."""
        if not targets:
            raise InvalidInput("targets: name at least one platform")
        done = repurpose(content, targets, language=language, platforms=self._platforms)
        return {name: asdict(r) | {"hashtags": list(r.hashtags)} for name, r in done.items()}

    async def language_variants(
        self, content: Content, languages: Sequence[str]
    ) -> list[dict[str, Any]]:
        """Seed 001 #9: the caption in each language (given, model-translated with an
        agreement score, or the source marked untranslated)."""
        if not languages:
            raise InvalidInput("languages: name at least one language code")
        if self._advisor is None:
            return [
                {
                    "language": lang,
                    "caption": content.translations.get(lang, content.caption),
                    "source": "provided" if lang in content.translations else "source",
                    "translated": lang in content.translations,
                }
                for lang in languages
            ]
        return [asdict(v) for v in await self._advisor.translate(content, languages)]

    async def dry_run_slot(self, actor: Actor, slot_id: str) -> dict[str, Any]:
        """Publish one slot through a fresh simulated publisher: what would happen, nothing
        changed (seed 001 #14 with simulate=true)."""
        require_role(actor, Role.OPERATOR, "rehearse a publish")
        async with self._repository.unit_of_work() as uow:
            slot = await uow.get_slot(slot_id)
            d = await uow.get_distribution(slot.distribution_id)
            account = await uow.get_account(slot.account_id)
        result = await self._rehearse_one(
            SimulatedPublisher(seed=self._seed, rates=self._rates, clock=self._clock),
            PublishRequest(
                slot_id=slot.id,
                distribution_id=d.id,
                account=account,
                platform=slot.platform,
                language=slot.language,
                caption=slot.caption,
                hashtags=slot.hashtags,
                content=d.request.item(slot.content_id),
                content_type=slot.content_type,
                idempotency_key=f"dry-run:{slot.idempotency_key}",
            ),
        )
        await self._audit(actor, "slot.rehearsed", d.id, slot_id=slot.id, data=result)
        return result

    async def rehearse(self, actor: Actor, key: str) -> list[dict[str, Any]]:
        """Seed 001's `run` with simulate=true: every open slot of the plan through a fresh
        simulated publisher, in time order; the distribution and its slots are unchanged."""
        require_role(actor, Role.OPERATOR, "rehearse a distribution")
        async with self._repository.unit_of_work() as uow:
            d = await resolve_distribution(uow, key)
            slots = await uow.list_slots(d.id, list(REHEARSABLE))
            accounts = {a.id: a for a in await uow.list_accounts()}
        publisher = SimulatedPublisher(seed=self._seed, rates=self._rates, clock=self._clock)
        results = []
        for slot in slots:
            account = accounts.get(slot.account_id)
            if account is None:
                results.append({"slot_id": slot.id, "success": False, "error": "no such account"})
                continue
            request = PublishRequest(
                slot_id=slot.id,
                distribution_id=d.id,
                account=account,
                platform=slot.platform,
                language=slot.language,
                caption=slot.caption,
                hashtags=slot.hashtags,
                content=d.request.item(slot.content_id),
                content_type=slot.content_type,
                idempotency_key=f"rehearsal:{slot.idempotency_key}",
            )
            results.append(await self._rehearse_one(publisher, request))
        ok = sum(1 for r in results if r["success"])
        await self._audit(
            actor,
            "distribution.rehearsed",
            d.id,
            data={"slots": len(results), "succeeded": ok, "failed": len(results) - ok},
        )
        return results

    async def _rehearse_one(
        self, publisher: SimulatedPublisher, request: PublishRequest
    ) -> dict[str, Any]:
        at = self._clock.now().isoformat()
        try:
            receipt = await publisher.publish(request)
        except PublishError as exc:
            return {
                "slot_id": request.slot_id,
                "success": False,
                "error_kind": exc.kind,
                "error": str(exc),
                "timestamp": at,
            }
        return {
            "slot_id": request.slot_id,
            "success": True,
            "published_url": receipt.url,
            "post_id": receipt.post_id,
            "timestamp": at,
        }

    async def _audit(
        self,
        actor: Actor,
        kind: str,
        distribution_id: str,
        *,
        slot_id: str | None = None,
        data: dict[str, Any],
    ) -> None:
        extra = {"via": actor.via} if actor.via else {}
        event = Event(
            new_event_id(),
            self._clock.now(),
            kind,
            actor.id,
            distribution_id,
            slot_id,
            data={**data, "simulated": True, **extra},
        )
        async with self._repository.unit_of_work() as uow:
            await uow.append_event(event)
