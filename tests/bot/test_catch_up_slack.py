"""Late posts that no longer fit: the distribution's thread asks, a click answers."""

from __future__ import annotations

from datetime import timedelta

from bot.slack import ids
from engine.catch_up import HELD_PAST_WINDOW
from engine.models import SlotStatus
from tests.bot.conftest import CHANNEL, Harness
from tests.bot.support import run_spring


class TestCatchUpQuestion:
    async def test_held_posts_are_asked_about_and_skip_skips_them(self, harness: Harness) -> None:
        """After a long outage the thread offers Re-plan / Publish past / Skip; Skip skips."""
        h = harness
        dist_id = await run_spring(h)
        dist = await h.service.resolve(dist_id)
        h.clock.set(dist.request.end - timedelta(minutes=1))  # the process was down till now
        await h.deps.herald.dispatcher.tick()

        def question() -> list[object]:
            return [
                m
                for parent in h.fake.channel_messages(CHANNEL)
                for m in h.fake.thread(CHANNEL, parent.ts)
                if ids.CATCH_UP_SKIP in str(m.blocks)
            ]

        await h.settle(until=lambda: bool(question()))
        message = question()[0]
        assert "no longer fit" in message.all_text()  # type: ignore[attr-defined]
        for action_id in (ids.CATCH_UP_REPLAN, ids.CATCH_UP_PUBLISH, ids.CATCH_UP_SKIP):
            assert action_id in str(message.blocks)  # type: ignore[attr-defined]
        held = [s for s in await h.service.progress(dist_id) if s.failure_kind == HELD_PAST_WINDOW]
        assert held

        await h.driver.click(message, ids.CATCH_UP_SKIP, user="U_OP")  # type: ignore[arg-type]
        await h.settle(
            until=lambda: "Skipped" in h.fake.get(CHANNEL, message.ts).all_text()  # type: ignore[attr-defined]
        )
        slots = {s.id: s for s in await h.service.progress(dist_id)}
        assert {slots[s.id].status for s in held} == {SlotStatus.SKIPPED}
