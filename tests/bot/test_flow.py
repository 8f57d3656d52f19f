"""The whole story through Slack: create -> plan -> simulate -> approve -> progress -> done."""

from __future__ import annotations

import json

from bot.slack import ids
from engine.models import DistributionStatus
from tests.bot.conftest import APPROVER, CHANNEL, OPERATOR, Harness
from tests.bot.support import CREATE, create_and_plan


class TestFlow:
    async def test_create_posts_a_draft_card_in_the_channel(self, harness: Harness) -> None:
        """Inline create makes a DRAFT whose card is posted in the channel it came from."""
        await harness.driver.command(CREATE, user=OPERATOR)
        await harness.settle(until=lambda: "Created draft" in harness.fake.responses_text())
        dist = await harness.service.resolve("spring")
        assert dist.status == DistributionStatus.DRAFT
        card = harness.card()
        assert dist.origin == {"channel": CHANNEL, "ts": card.ts, "user": OPERATOR}
        assert "Draft" in card.all_text() and "spring" in card.all_text()

    async def test_plan_simulate_approve_run_complete(self, harness: Harness) -> None:
        """The full flow ends with a completion report in the card's thread."""
        h = harness
        dist_id = await create_and_plan(h)
        await h.settle()
        card = h.card()
        assert "Approve" in card.all_text() and "Slots per platform" in card.all_text()
        assert "tiktok" in card.all_text() and "instagram" in card.all_text()
        # No model is configured: the advice comes from the built-in advisor, and says so.
        assert "*Advice* (built-in: no model configured)" in card.all_text()
        assert "• Platform order:" in card.all_text()
        # The timeline PNG is uploaded into the card's thread.
        uploads = [f for f in h.fake.files.values() if f.get("shared")]
        assert uploads and uploads[0]["thread_ts"] == card.ts
        assert uploads[0]["bytes"].startswith(b"\x89PNG")

        await h.driver.click(card, ids.SIMULATE, user=OPERATOR)
        await h.settle(until=lambda: "not simulated yet" not in h.card().all_text())
        card = h.card()
        dist = await h.service.resolve(dist_id)
        assert dist.simulation is not None
        assert json.loads(card.action_values(ids.APPROVE)[0])["v"] == dist.version

        await h.driver.click(card, ids.APPROVE, user=APPROVER)
        await h.settle(until=lambda: "Approved" in h.card().all_text())
        card = h.card()
        assert f"Approved* by <@{APPROVER}>" in card.all_text()
        assert card.action_values(ids.APPROVE) == []  # buttons replaced by the decision

        await h.run_until_done()
        await h.settle(until=lambda: "finished" in str(h.fake.thread(CHANNEL, card.ts)))
        thread = h.fake.thread(CHANNEL, card.ts)
        status = [m for m in thread if ids.STATUS_BLOCK in str(m.blocks)]
        assert len(status) == 1, "one status message, edited in place"
        assert status[0].edits >= 1
        assert "COMPLETED" in status[0].all_text() and "100%" in status[0].all_text()
        assert (await h.service.resolve(dist_id)).status == DistributionStatus.COMPLETED
