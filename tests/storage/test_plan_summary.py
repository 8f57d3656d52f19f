"""`UnitOfWork.plan_summary` (what the plan card shows) counts like the slots themselves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from engine.models import RiskLevel
from engine.plan_summary import PlanSummary, summarize_slots
from tests.storage.factories import distribution, slot

LEVELS = list(RiskLevel)
PLATFORMS = ("tiktok", "instagram", "youtube")
# Late on New Year's Eve: slots run across midnight and into the next year.
START = datetime(2026, 12, 31, 20, 0, tzinfo=UTC)


def _slots(distribution_id: str, count: int) -> list[Any]:
    return [
        slot(
            distribution_id,
            i,
            due_at=START + timedelta(minutes=7 * i),
            scheduled_at=START + timedelta(minutes=7 * i),
            platform=PLATFORMS[i % 3],
            account_id=f"acct-{i % 400}",
            content_id=("", "item-a", "item-b")[(i // 5) % 3],
            risk_level=LEVELS[i % 4],
            risk_score=round((i % 97) / 100, 2),
        )
        for i in range(count)
    ]


class TestPlanSummary:
    async def test_equals_the_summary_of_the_slots(self, repository: Any) -> None:
        """Counts per platform and UTC day, risk level and item, accounts, first and last
        post and the top risk equal those computed from the listed slots (every backend)."""
        dist = distribution()
        other = distribution(id="d-other", name="other")
        async with repository.unit_of_work() as uow:
            await uow.add_distribution(dist)
            await uow.add_distribution(other)
            await uow.add_slots(_slots(dist.id, 2_500))
            await uow.add_slots(_slots(other.id, 30))  # not counted
        async with repository.reading() as uow:
            summary = await uow.plan_summary(dist.id)
            listed = await uow.list_slots(dist.id)
        assert summary == summarize_slots(listed)
        assert summary.slots == 2_500 and summary.accounts == 400
        assert summary.first_at == START
        assert {day for _, day in summary.per_platform_day} >= {"2026-12-31", "2027-01-01"}
        assert sum(summary.per_platform_day.values()) == 2_500
        assert summary.risk_levels == dict.fromkeys(LEVELS, 625)
        assert [item["content_id"] for item in summary.items] == ["", "item-a", "item-b"]

    async def test_no_slots_is_empty(self, repository: Any) -> None:
        """A distribution without slots has the empty summary."""
        dist = distribution()
        async with repository.unit_of_work() as uow:
            await uow.add_distribution(dist)
        async with repository.reading() as uow:
            assert await uow.plan_summary(dist.id) == PlanSummary()
