"""Approval applies to a simulated plan: planning simulates, and the card tells the truth."""

from __future__ import annotations

import pytest

from bot.slack import ids
from engine.errors import NotAllowed
from tests.bot.conftest import APPROVER, OPERATOR, Harness
from tests.bot.support import create_and_plan

NOT_SIMULATED = "not simulated yet"


async def replan(h: Harness) -> None:
    before = h.fake.responses_text().count("Planned")
    await h.driver.command("plan spring", user=OPERATOR)
    await h.settle(until=lambda: h.fake.responses_text().count("Planned") > before)


class TestReplanSimulates:
    async def test_card_after_plan_shows_the_simulation(self, harness: Harness) -> None:
        """A fresh plan's card already shows its simulation's numbers."""
        h = harness
        dist_id = await create_and_plan(h)
        await h.settle(until=lambda: ids.APPROVE in h.card().all_text())
        assert NOT_SIMULATED not in h.card().all_text()
        assert (await h.service.resolve(dist_id)).simulation

    async def test_replan_then_approve_never_shows_not_simulated(self, harness: Harness) -> None:
        """simulate, re-plan, approve: the approved card shows the new plan's simulation."""
        h = harness
        dist_id = await create_and_plan(h)
        await h.settle(until=lambda: ids.APPROVE in h.card().all_text())
        await h.driver.click(h.card(), ids.SIMULATE, user=OPERATOR)
        await h.settle()
        await replan(h)
        await h.settle(until=lambda: ids.APPROVE in h.card().all_text())
        await h.driver.click(h.card(), ids.APPROVE, user=APPROVER)
        await h.settle(until=lambda: "Approved" in h.card().all_text())
        text = h.card().all_text()
        assert "Approved" in text and NOT_SIMULATED not in text, text
        dist = await h.service.resolve(dist_id)
        assert dist.simulation and dist.approved_by == APPROVER

    async def test_approving_an_unsimulated_plan_is_refused(self, harness: Harness) -> None:
        """A plan whose simulation is gone (stored without one) cannot be approved."""
        h = harness
        dist_id = await create_and_plan(h)
        repo = h.deps.herald.repository
        async with repo.unit_of_work() as uow:
            d = await uow.get_distribution(dist_id)
            d.simulation = None
            await uow.save_distribution(d)
        with pytest.raises(NotAllowed, match="simulat"):
            await h.service.approve(h.deps.actor(APPROVER), dist_id)
