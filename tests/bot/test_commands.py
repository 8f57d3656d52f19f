"""Read and lifecycle sub-commands answer the caller with what the engine says."""

from __future__ import annotations

from engine.models import DistributionStatus
from tests.bot.conftest import APPROVER, OPERATOR, Harness
from tests.bot.support import run_spring


async def ask(h: Harness, text: str, *, user: str = OPERATOR) -> str:
    """Run `/herald <text>` and return the answer it got (whatever it says)."""
    before = len(h.fake.responses_text())
    await h.driver.command(text, user=user)
    await h.settle(until=lambda: len(h.fake.responses_text()) > before)
    await h.settle()
    return h.fake.responses_text()[before:]


class TestReadCommands:
    async def test_list_status_history_accounts_velocity_analytics(self, harness: Harness) -> None:
        """Each read command answers ephemerally with the engine's data."""
        h = harness
        dist_id = await run_spring(h)
        assert dist_id in await ask(h, "list executing")
        assert "EXECUTING" in await ask(h, f"status {dist_id}")
        assert "distribution.approved" in await ask(h, "history spring")
        accounts = await ask(h, "accounts tiktok")
        assert "@tiktok1" in accounts and "6 accounts" in accounts
        velocity = await ask(h, "velocity tiktok")
        assert "posts a day per account" in velocity
        assert "optimal velocity now" in velocity
        analytics = await ask(h, "analytics")
        data = await h.service.analytics()
        assert "Analytics" in analytics and data
        # Every metric the engine reports is in the answer, with its value.
        for metric, value in data.items():
            assert metric in analytics
            if isinstance(value, int):
                assert str(value) in analytics

    async def test_captions_lists_every_distinct_post_before_approval(
        self, harness: Harness
    ) -> None:
        """`/herald captions` shows each distinct caption by platform and language, with counts."""
        h = harness
        dist_id = await run_spring(h)
        answer = await ask(h, f"captions {dist_id}")
        captions = await h.service.captions(dist_id)
        assert captions and f"{len(captions)} distinct" in answer
        assert all(f"{c['slots']} posts" in answer for c in captions[:40])
        assert "needs a distribution" in await ask(h, "captions")

    async def test_bad_arguments_are_explained(self, harness: Harness) -> None:
        """Unknown statuses and platforms are named with the known ones."""
        status = await ask(harness, "list finished")
        assert "not a status" in status and "known: draft" in status
        velocity = await ask(harness, "velocity myspace")
        assert "unknown platform" in velocity and "known:" in velocity
        accounts = await ask(harness, "accounts myspace")
        assert "unknown platform" in accounts and "known:" in accounts


class TestLifecycleCommands:
    async def test_pause_resume_cancel(self, harness: Harness) -> None:
        """pause, resume and cancel change the state and say so; the thread records it."""
        h = harness
        dist_id = await run_spring(h)
        assert "now PAUSED" in await ask(h, "pause spring waiting for legal")
        assert (await h.service.resolve(dist_id)).status == DistributionStatus.PAUSED
        assert "now EXECUTING" in await ask(h, "resume spring")
        assert "now CANCELLED" in await ask(h, "cancel spring")
        await h.settle(until=lambda: "Cancelled" in h.card().all_text())
        thread = " ".join(m.text for m in h.fake.thread(h.card().channel, h.card().ts))
        assert "waiting for legal" in thread and "Resumed" in thread

    async def test_halt_needs_an_approver(self, harness: Harness) -> None:
        """An operator's halt is refused; an approver's halts."""
        h = harness
        dist_id = await run_spring(h)
        assert "cannot" in await ask(h, "halt spring account flagged")
        assert (await h.service.resolve(dist_id)).status == DistributionStatus.EXECUTING
        assert "now HALTED" in await ask(h, "halt spring account flagged", user=APPROVER)
