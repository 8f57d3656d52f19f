"""`/herald status` never shows a state older than Herald's own last write."""

from __future__ import annotations

from engine.models import DistributionStatus
from tests.bot.conftest import APPROVER, OPERATOR, Harness, make_herald
from tests.bot.support import run_spring


async def status_text(h: Harness, key: str = "spring") -> str:
    before = len(h.fake.responses_text())
    await h.driver.command(f"status {key}", user=OPERATOR)
    await h.settle(until=lambda: "Status of" in h.fake.responses_text()[before:])
    return h.fake.responses_text()[before:]


class TestStatusAfterOwnWrites:
    async def test_status_right_after_pause_command(self, harness: Harness) -> None:
        """status, pause, status within the cache's lifetime: the second shows PAUSED."""
        h = harness
        assert h.deps.settings.slack_status_cache_seconds >= 1  # the cache is really on
        await run_spring(h)
        assert "EXECUTING" in await status_text(h)
        await h.driver.command("pause spring legal review", user=OPERATOR)
        await h.settle(until=lambda: "now PAUSED" in h.fake.responses_text())
        after = await status_text(h)
        assert "PAUSED" in after and "EXECUTING" not in after

    async def test_status_by_id_and_name_after_engine_write(self, harness: Harness) -> None:
        """A write through the engine (any listener, the dispatcher) clears every cached key."""
        h = harness
        dist_id = await run_spring(h)
        assert "EXECUTING" in await status_text(h, dist_id)
        assert "EXECUTING" in await status_text(h, "spring")
        await h.service.halt(h.deps.actor(APPROVER), dist_id, reason="flagged")
        assert "HALTED" in await status_text(h, dist_id)
        assert "HALTED" in await status_text(h, "spring")

    async def test_status_after_another_process_writes(self, harness: Harness) -> None:
        """A pause by another process on the same database (the CLI) shows at once too."""
        h = harness
        dist_id = await run_spring(h)
        assert "EXECUTING" in await status_text(h)
        other = make_herald(h.deps.settings, clock=h.clock, repository=h.deps.herald.repository)
        await other.service.pause(h.deps.actor(OPERATOR), dist_id, reason="from the CLI")
        assert (await h.service.resolve(dist_id)).status == DistributionStatus.PAUSED
        after = await status_text(h)
        assert "PAUSED" in after and "EXECUTING" not in after
