"""Helpers for the execution-core tests: accounts, a seeded running distribution, fakes.

`ScriptedPublisher` is a Publisher whose answers per slot are given up front (like httpx's
MockTransport); `RecordingNotifier` keeps every event it is told about.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from engine.clock import ManualClock
from engine.models import (
    Account,
    Distribution,
    DistributionStatus,
    Event,
    RiskLevel,
    SafetyMode,
    Slot,
    SlotStatus,
)
from engine.ports import PublishReceipt, PublishRequest, Repository
from engine.request import DistributionRequest, parse_request

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
PLATFORMS = ("tiktok", "instagram", "twitter")


def memory_repository() -> Repository:
    """A fresh in-memory repository (the storage package's)."""
    from storage.memory_repository import MemoryRepository

    return MemoryRepository()


def make_accounts(per_platform: int = 4, platforms: Sequence[str] = PLATFORMS) -> list[Account]:
    """`per_platform` healthy English accounts on each platform, ids like `tiktok-01`."""
    return [
        Account(
            id=f"{p}-{i:02d}",
            platform=p,
            handle=f"@{p}_{i:02d}",
            timezone="Europe/Madrid",
            followers=1000 * (i + 1),
            health=1.0 - i * 0.01,
        )
        for p in platforms
        for i in range(per_platform)
    ]


def make_request(
    *, platforms: Sequence[str] = PLATFORMS, start: datetime = T0, name: str = "launch"
) -> DistributionRequest:
    return parse_request(
        {
            "name": name,
            "content": {
                "id": "c1",
                "caption": "Our new video",
                "hashtags": ["new"],
                "type": "video",
            },
            "platforms": list(platforms),
            "start": start.isoformat(),
            "spread_hours": 6,
        }
    )


async def seed_run(
    repository: Repository,
    accounts: Sequence[Account],
    *,
    slots_per_account: int = 1,
    start: datetime = T0,
    spacing: timedelta = timedelta(minutes=10),
    status: DistributionStatus = DistributionStatus.EXECUTING,
    mode: SafetyMode = SafetyMode.SEMI_AUTONOMOUS,
    name: str = "launch",
) -> tuple[Distribution, list[Slot]]:
    """Store the accounts and a distribution with one QUEUED slot per account (in order)."""
    platforms = sorted({a.platform for a in accounts})
    request = make_request(platforms=platforms, start=start, name=name)
    distribution = Distribution(
        id=f"d-{name}",
        name=name,
        request=request,
        status=status,
        safety_mode=mode,
        created_by="U_OPS",
        created_at=start - timedelta(hours=1),
        updated_at=start - timedelta(hours=1),
    )
    slots: list[Slot] = []
    seq = 0
    for _ in range(slots_per_account):
        for account in accounts:
            slot_id = f"{distribution.id}.{seq}"
            when = start + spacing * seq
            slots.append(
                Slot(
                    id=slot_id,
                    distribution_id=distribution.id,
                    seq=seq,
                    account_id=account.id,
                    platform=account.platform,
                    language="en",
                    timezone=account.timezone,
                    scheduled_at=when,
                    due_at=when,
                    caption="Our new video",
                    hashtags=("new",),
                    risk_score=0.2,
                    risk_level=RiskLevel.LOW,
                    content_type="video",
                    status=SlotStatus.QUEUED,
                    idempotency_key=f"herald:{slot_id}",
                )
            )
            seq += 1
    async with repository.unit_of_work() as uow:
        await uow.upsert_accounts(list(accounts))
        await uow.add_distribution(distribution)
        await uow.replace_slots(distribution.id, slots)
    return distribution, slots


@dataclass
class RecordingNotifier:
    """Keeps every event, in order."""

    events: list[Event] = field(default_factory=list)

    async def notify(self, event: Event) -> None:
        self.events.append(event)

    def kinds(self) -> list[str]:
        return [e.kind for e in self.events]


class ScriptedPublisher:
    """Answers per slot id from a script (exceptions are raised); default: success."""

    def __init__(self, script: dict[str, list[Exception | None]] | None = None) -> None:
        self.script = script or {}
        self.calls: list[PublishRequest] = []
        self.supports_idempotency = True

    async def publish(self, request: PublishRequest) -> PublishReceipt:
        self.calls.append(request)
        answers = self.script.get(request.slot_id, [])
        answer = answers.pop(0) if answers else None
        if answer is not None:
            raise answer
        return PublishReceipt(f"post-{request.slot_id}", f"https://x.example/{request.slot_id}")


async def run_until(dispatcher, clock: ManualClock, until: datetime, step: timedelta) -> None:  # type: ignore[no-untyped-def]
    """Tick every `step` of manual time until `until` (a 6-hour run in milliseconds)."""
    while clock.now() < until:
        await dispatcher.tick()
        clock.advance(step)
    await dispatcher.tick()


async def slots_of(repository: Repository, distribution_id: str) -> list[Slot]:
    async with repository.unit_of_work() as uow:
        return await uow.list_slots(distribution_id)


async def distribution_of(repository: Repository, distribution_id: str) -> Distribution:
    async with repository.unit_of_work() as uow:
        return await uow.get_distribution(distribution_id)
