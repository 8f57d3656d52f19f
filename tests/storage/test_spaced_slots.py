"""`UnitOfWork.list_spaced_slots`: only the slots catch-up spacing counts, on every backend."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from engine.models import SlotStatus
from tests.storage.factories import T0, distribution, slot


class TestSpacedSlots:
    async def test_published_claimed_and_retimed_only(self, repository: Any) -> None:
        """PUBLISHED, CLAIMED and QUEUED slots due after their planned time come back (by
        due time); on-time QUEUED, PLANNED, FAILED and other runs' slots do not."""
        dist = distribution()
        other = distribution(id="d-other", name="other")
        later = T0 + timedelta(minutes=90)
        slots = [
            slot(dist.id, 0, status=SlotStatus.PUBLISHED, executed_at=T0),
            slot(dist.id, 1, status=SlotStatus.CLAIMED),
            slot(dist.id, 2, due_at=later, scheduled_at=T0 + timedelta(minutes=2)),  # re-timed
            slot(dist.id, 3),  # on time
            slot(dist.id, 4, status=SlotStatus.PLANNED),
            slot(dist.id, 5, status=SlotStatus.FAILED),
            slot(other.id, 6, status=SlotStatus.PUBLISHED, executed_at=T0),
        ]
        async with repository.unit_of_work() as uow:
            await uow.add_distribution(dist)
            await uow.add_distribution(other)
            await uow.add_slots(slots)
        async with repository.reading() as uow:
            spaced = await uow.list_spaced_slots(dist.id)
        assert [s.seq for s in spaced] == [0, 1, 2]
