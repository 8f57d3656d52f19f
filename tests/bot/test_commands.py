"""Read and lifecycle sub-commands answer the caller with what the engine says."""

from __future__ import annotations

from engine.models import DistributionStatus
from tests.bot.conftest import APPROVER, OPERATOR, Harness
from tests.bot.support import run_spring


async def ask(h: Harness, text: str, expect: str, *, user: str = OPERATOR) -> str:
    before = len(h.fake.responses_text())
    await h.driver.command(text, user=user)
    await h.settle(until=lambda: expect in h.fake.responses_text()[before:])
    return h.fake.responses_text()[before:]


class TestReadCommands:
    async def test_list_status_history_accounts_velocity_analytics(self, harness: Harness) -> None:
        """Each read command answers ephemerally with the engine's data."""
        h = harness
        dist_id = await run_spring(h)
        assert dist_id in await ask(h, "list executing", dist_id)
        assert "EXECUTING" in await ask(h, f"status {dist_id}", "EXECUTING")
        assert "distribution.approved" in await ask(h, "history spring", "distribution.approved")
        assert "@tiktok1" in await ask(h, "accounts tiktok", "6 accounts")
        velocity = await ask(h, "velocity tiktok", "tiktok")
        assert "posts a day per account" in velocity
        assert "optimal velocity now" in velocity
        await ask(h, "analytics", "Analytics")

    async def test_bad_arguments_are_explained(self, harness: Harness) -> None:
        """Unknown statuses and platforms are named with the known ones."""
        assert "known: draft" in await ask(harness, "list finished", "not a status")
        assert "known:" in await ask(harness, "velocity myspace", "unknown platform")
        assert "known:" in await ask(harness, "accounts myspace", "unknown platform")


class TestLifecycleCommands:
    async def test_pause_resume_cancel(self, harness: Harness) -> None:
        """pause, resume and cancel change the state and say so; the thread records it."""
        h = harness
        dist_id = await run_spring(h)
        await ask(h, "pause spring waiting for legal", "now PAUSED")
        assert (await h.service.resolve(dist_id)).status == DistributionStatus.PAUSED
        await ask(h, "resume spring", "now EXECUTING")
        await ask(h, "cancel spring", "now CANCELLED")
        await h.settle(until=lambda: "Cancelled" in h.card().all_text())
        thread = " ".join(m.text for m in h.fake.thread(h.card().channel, h.card().ts))
        assert "waiting for legal" in thread and "Resumed" in thread

    async def test_halt_needs_an_approver(self, harness: Harness) -> None:
        """An operator's halt is refused; an approver's halts."""
        h = harness
        dist_id = await run_spring(h)
        await ask(h, "halt spring account flagged", "cannot")
        assert (await h.service.resolve(dist_id)).status == DistributionStatus.EXECUTING
        await ask(h, "halt spring account flagged", "now HALTED", user=APPROVER)
