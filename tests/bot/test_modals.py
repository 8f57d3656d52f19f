"""The create form and the reject-reason modal, submitted like Slack does."""

from __future__ import annotations

from bot.slack import ids
from engine.models import DistributionStatus
from tests.bot.conftest import APPROVER, CHANNEL, OPERATOR, VIEWER, Harness
from tests.bot.support import create_and_plan

FORM = {
    ids.F_NAME: "autumn",
    ids.F_CAPTION: "Leaves are falling",
    ids.F_HASHTAGS: "autumn fall",
    ids.F_PLATFORMS: "tiktok,instagram",
    ids.F_START: "2026-12-01T12:00Z",
    ids.F_WINDOW: "3h",
}


class TestCreateModal:
    async def test_create_opens_the_form_with_request_fields(self, harness: Harness) -> None:
        """`/herald create` opens a modal whose blocks are exactly the request vocabulary."""
        await harness.driver.command("create", user=OPERATOR)
        await harness.settle(until=lambda: harness.fake.views)
        view = next(iter(harness.fake.views.values()))
        assert view["callback_id"] == ids.CREATE_MODAL
        block_ids = [b["block_id"] for b in view["blocks"]]
        assert block_ids == [*ids.CREATE_FIELDS, ids.F_MEDIA_FILES]

    async def test_submit_creates_draft_and_card(self, harness: Harness) -> None:
        """A valid submission creates the draft with its card in the channel of the command."""
        h = harness
        await h.driver.command("create", user=OPERATOR)
        await h.settle(until=lambda: h.fake.views)
        view_id = next(iter(h.fake.views))
        reply = await h.driver.submit(view_id, FORM, user=OPERATOR)
        assert reply.status == 200 and reply.text == ""
        await h.settle(until=lambda: "Created draft" in h.fake.ephemeral_text())
        dist = await h.service.resolve("autumn")
        assert dist.request.spread_hours == 3 and dist.request.platforms == ["tiktok", "instagram"]
        assert dist.origin["channel"] == CHANNEL and h.card().ts == dist.origin["ts"]

    async def test_bad_field_is_shown_next_to_it(self, harness: Harness) -> None:
        """A wrong start time comes back as a field error; the modal stays, nothing is made."""
        h = harness
        await h.driver.command("create", user=OPERATOR)
        await h.settle(until=lambda: h.fake.views)
        view_id = next(iter(h.fake.views))
        reply = await h.driver.submit(view_id, {**FORM, ids.F_START: "tomorrow"}, user=OPERATOR)
        body = reply.json()
        assert body["response_action"] == "errors"
        assert "ISO-8601" in body["errors"][ids.F_START]
        assert await h.service.list() == []

    async def test_trigger_id_is_single_use(self, harness: Harness) -> None:
        """The fake refuses a reused trigger id, as Slack does."""
        trigger = harness.fake.issue_trigger()
        client = harness.deps.notifier.client  # type: ignore[union-attr]
        view = {"type": "modal", "title": {"type": "plain_text", "text": "x"}, "blocks": []}
        await client.views_open(trigger_id=trigger, view=view)
        try:
            await client.views_open(trigger_id=trigger, view=view)
        except Exception as exc:
            assert "expired_trigger_id" in str(exc)
        else:
            raise AssertionError("a reused trigger id must be refused")

    async def test_viewer_gets_no_form(self, harness: Harness) -> None:
        """A viewer's `/herald create` is refused instead of opening the form."""
        await harness.driver.command("create", user=VIEWER)
        await harness.settle(until=lambda: "only operators" in harness.fake.responses_text())
        assert harness.fake.views == {}


class TestCreateFromLibrary:
    async def _open(self, h: Harness) -> str:
        from engine.request import Content

        library = h.deps.herald.content
        for key in ("w1", "w2", "w3"):
            await library.add(h.deps.actor(OPERATOR), Content(id=key, caption=f"Item {key}"))
        await library.archive(h.deps.actor(OPERATOR), "w3")
        await h.driver.command("create", user=OPERATOR)
        await h.settle(until=lambda: h.fake.views)
        return next(iter(h.fake.views))

    async def test_content_id_without_caption_posts_the_library_item(
        self, harness: Harness
    ) -> None:
        """Content id alone (no caption) creates a draft of that library item."""
        h = harness
        view_id = await self._open(h)
        form = {**FORM, ids.F_CONTENT: "w2", ids.F_CAPTION: "", ids.F_HASHTAGS: ""}
        reply = await h.driver.submit(view_id, form, user=OPERATOR)
        assert reply.status == 200 and reply.text == ""
        await h.settle(until=lambda: "Created draft" in h.fake.ephemeral_text())
        dist = await h.service.resolve("autumn")
        assert dist.request.content.caption == "Item w2" and not dist.request.unresolved

    async def test_calendar_queue_and_refusals_next_to_their_field(self, harness: Harness) -> None:
        """A queue makes a calendar of library items; an unknown or archived id, and a queue
        in window mode, are shown next to their field with nothing created."""
        h = harness
        view_id = await self._open(h)
        base = {**FORM, ids.F_CAPTION: "", ids.F_HASHTAGS: ""}
        cases = {
            ids.F_CONTENT: ({**base, ids.F_CONTENT: "zz"}, "no library item 'zz'"),
            ids.F_QUEUE: (
                {**base, ids.F_MODE: "calendar", ids.F_QUEUE: "w1,w3"},
                "library item 'w3' is archived",
            ),
            ids.F_QUEUE_TAG: ({**base, ids.F_QUEUE_TAG: "winter"}, "window mode takes one item"),
            ids.F_CAPTION: (base, "is required"),
        }
        for block, (form, message) in cases.items():
            body = (await h.driver.submit(view_id, form, user=OPERATOR)).json()
            assert body["response_action"] == "errors", block
            assert message in body["errors"][block], body
        assert await h.service.list() == []
        form = {**base, ids.F_MODE: "calendar", ids.F_QUEUE: "w2,w1", ids.F_DAYS: "3"}
        reply = await h.driver.submit(view_id, form, user=OPERATOR)
        assert reply.status == 200 and reply.text == ""
        await h.settle(until=lambda: "Created draft" in h.fake.ephemeral_text())
        dist = await h.service.resolve("autumn")
        assert [i.id for i in dist.request.items] == ["w2", "w1"] and dist.request.days == 3


class TestHomeCreate:
    async def test_new_distribution_from_home_lands_in_the_dm(self, harness: Harness) -> None:
        """Home's 'New distribution' opens the form; the card goes to the user's DM and is
        edited there later (its real D... channel is what the distribution keeps)."""
        h = harness
        await h.import_accounts()
        await h.driver.event({"type": "app_home_opened", "user": OPERATOR, "tab": "home"})
        await h.settle(until=lambda: OPERATOR in h.fake.home)
        await h.driver.interact(h.driver.home_click_payload(ids.HOME_OPEN_CREATE, user=OPERATOR))
        await h.settle(until=lambda: h.fake.views)
        await h.driver.submit(next(iter(h.fake.views)), FORM, user=OPERATOR)
        await h.settle(until=lambda: h.fake.channel_messages("D" + OPERATOR))
        dist = await h.service.resolve("autumn")
        assert dist.origin["channel"] == "D" + OPERATOR
        await h.driver.command("plan autumn", user=OPERATOR)
        await h.settle(until=lambda: "Slots per platform" in h.card("D" + OPERATOR).all_text())


class TestRejectModal:
    async def test_reject_asks_for_a_reason_then_rejects(self, harness: Harness) -> None:
        """Reject opens a reason modal; submitting it rejects and the card says who and why."""
        h = harness
        dist_id = await create_and_plan(h)
        await h.settle()
        await h.driver.click(h.card(), ids.REJECT, user=APPROVER)
        await h.settle(until=lambda: h.fake.views)
        view_id, view = next(iter(h.fake.views.items()))
        assert view["callback_id"] == ids.REJECT_MODAL
        empty = await h.driver.submit(view_id, {ids.REJECT_REASON_BLOCK: ""}, user=APPROVER)
        assert empty.json()["response_action"] == "errors"
        await h.driver.submit(
            view_id, {ids.REJECT_REASON_BLOCK: "caption needs legal"}, user=APPROVER
        )
        await h.settle(until=lambda: "Rejected" in h.card().all_text())
        assert (await h.service.resolve(dist_id)).status == DistributionStatus.REJECTED
        text = h.card().all_text()
        assert f"by <@{APPROVER}>" in text and "caption needs legal" in text
        assert ids.APPROVE not in text

    async def test_operator_cannot_open_reject(self, harness: Harness) -> None:
        """An operator pressing Reject is told only approvers may; no modal opens."""
        h = harness
        await create_and_plan(h)
        await h.settle()
        await h.driver.click(h.card(), ids.REJECT, user=OPERATOR)
        await h.settle(until=lambda: "only approvers" in h.fake.responses_text())
        assert h.fake.views == {}
