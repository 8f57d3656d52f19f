"""Bad input and unauthorized clicks get a specific ephemeral answer and change nothing."""

from __future__ import annotations

import json

from bot.slack import ids
from engine.models import DistributionStatus
from tests.bot.conftest import APPROVER, CHANNEL, OPERATOR, VIEWER, Harness
from tests.bot.support import create_and_plan


class TestRefusals:
    async def test_viewer_cannot_approve(self, harness: Harness) -> None:
        """A viewer's Approve click is refused ephemerally; the plan stays awaiting approval."""
        h = harness
        dist_id = await create_and_plan(h)
        await h.settle()
        await h.driver.click(h.card(), ids.APPROVE, user=VIEWER)
        await h.settle(until=lambda: "cannot approve" in h.fake.responses_text())
        assert '"ephemeral"' in h.fake.responses_text()
        assert (await h.service.resolve(dist_id)).status == DistributionStatus.AWAITING_APPROVAL
        assert h.card().action_values(ids.APPROVE)

    async def test_author_cannot_approve_own_plan(self, harness: Harness) -> None:
        """The rule 'the author cannot approve their own plan' holds for approvers too."""
        h = harness
        await h.import_accounts()
        await h.driver.command(
            "create name=solo caption=hi platforms=tiktok window=1h start=+1h", user=APPROVER
        )
        await h.settle(until=lambda: "Created draft" in h.fake.responses_text())
        await h.driver.command("plan solo", user=APPROVER)
        await h.settle(until=lambda: "Planned" in h.fake.responses_text())
        await h.driver.command("approve solo", user=APPROVER)
        await h.settle(until=lambda: "cannot approve it too" in h.fake.responses_text())
        assert (await h.service.resolve("solo")).status == DistributionStatus.AWAITING_APPROVAL

    async def test_stale_button_is_refused_and_card_refreshed(self, harness: Harness) -> None:
        """Approve on a card whose plan changed since (a new version) is refused; the card
        is re-rendered with the current version."""
        h = harness
        dist_id = await create_and_plan(h)
        await h.settle()
        old = h.card()
        old_blocks = json.loads(json.dumps(old.blocks))
        await h.service.simulate(h.deps.actor(OPERATOR), dist_id)  # version moves on
        await h.settle()
        old.blocks = old_blocks  # the user still sees the card as it was
        edits = old.edits
        await h.driver.click(old, ids.APPROVE, user=APPROVER)
        await h.settle(until=lambda: "changed since" in h.fake.responses_text())
        assert (await h.service.resolve(dist_id)).status == DistributionStatus.AWAITING_APPROVAL
        current = (await h.service.resolve(dist_id)).version
        assert h.card().edits > edits
        assert json.loads(h.card().action_values(ids.APPROVE)[0])["v"] == current

    async def test_unknown_distribution(self, harness: Harness) -> None:
        """`/herald status nope` says no such distribution, ephemerally."""
        await harness.driver.command("status nope")
        await harness.settle(until=lambda: "no distribution" in harness.fake.responses_text())
        assert "'nope'" in harness.fake.responses_text()

    async def test_bad_duration(self, harness: Harness) -> None:
        """`window=6x` names the field and shows what a duration looks like; nothing created."""
        await harness.driver.command("create name=x caption=y platforms=tiktok window=6x")
        await harness.settle(until=lambda: "duration" in harness.fake.responses_text())
        assert "window: '6x'" in harness.fake.responses_text()
        assert "90s, 15m, 6h or 7d" in harness.fake.responses_text()
        assert await harness.service.list() == []
        assert harness.fake.channel_messages(CHANNEL) == []  # the placeholder card is gone too

    async def test_button_on_deleted_plan(self, harness: Harness) -> None:
        """A click naming a distribution that does not exist is answered, not crashed."""
        h = harness
        await create_and_plan(h)
        await h.settle()
        payload = h.driver.click_payload(h.card(), ids.APPROVE, user=APPROVER)
        payload["actions"][0]["value"] = json.dumps({"d": "d-gone", "v": 1})
        await h.driver.interact(payload)
        await h.settle(until=lambda: "d-gone" in h.fake.responses_text())
        assert "no distribution" in h.fake.responses_text()

    async def test_viewer_cannot_create(self, harness: Harness) -> None:
        """A viewer's create is refused before any card is posted."""
        await harness.driver.command("create name=x caption=y platforms=tiktok", user=VIEWER)
        await harness.settle(until=lambda: "only operators" in harness.fake.responses_text())
        assert harness.fake.messages == []

    async def test_ambiguous_name_offers_a_choice(self, harness: Harness) -> None:
        """A name matching two distributions gets one button per candidate."""
        h = harness
        for name in ("spring-a", "spring-b"):
            await h.driver.command(f"create name={name} caption=c platforms=tiktok", user=OPERATOR)
        await h.settle(until=lambda: h.fake.responses_text().count("Created draft") == 2)
        await h.driver.command("status spring", user=OPERATOR)
        await h.settle(until=lambda: ids.CHOOSE_DISTRIBUTION in h.fake.responses_text())
        assert "spring-a" in h.fake.responses_text() and "spring-b" in h.fake.responses_text()
