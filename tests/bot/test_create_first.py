"""`/herald create` (inline or the form) validates before anything is public."""

from __future__ import annotations

from bot.slack import ids
from tests.bot.conftest import OPERATOR, VIEWER, Harness

FORM = {
    ids.F_NAME: "autumn",
    ids.F_CAPTION: "Leaves are falling",
    ids.F_PLATFORMS: "tiktok,instagram",
    ids.F_START: "2026-12-01T12:00Z",
    ids.F_WINDOW: "3h",
}


def nothing_public(h: Harness) -> None:
    assert h.fake.messages == [], [m.text for m in h.fake.messages]
    assert h.fake.count("chat.postMessage") == 0 and h.fake.count("chat.delete") == 0


class TestCreateValidatesFirst:
    async def test_unknown_platform_errs_privately_with_nothing_posted(
        self, harness: Harness
    ) -> None:
        """`create caption=x platforms=myspace`: no "Creating…" in the channel, a private error."""
        h = harness
        await h.driver.command("create caption=x platforms=myspace", user=OPERATOR)
        await h.settle(until=lambda: "myspace" in h.fake.responses_text())
        nothing_public(h)
        assert '"ephemeral"' in h.fake.responses_text()
        assert await h.service.list() == []

    async def test_every_engine_refusal_is_checked_first(self, harness: Harness) -> None:
        """Refusals of several kinds (role, platform among good ones) post nothing public."""
        h = harness
        cases = [
            ("create name=a caption=x platforms=tiktok,myspace", OPERATOR, "myspace"),
            ("create name=b caption=x platforms=tiktok", VIEWER, "only operators"),
            ("create name=c caption=x platforms=TikTok,friendster", OPERATOR, "friendster"),
        ]
        for text, user, expect in cases:
            await h.driver.command(text, user=user)
            await h.settle(until=lambda expect=expect: expect in h.fake.responses_text())
        nothing_public(h)

    async def test_form_with_unknown_platform_stays_open(self, harness: Harness) -> None:
        """The form names the unknown platform next to its field; nothing is posted."""
        h = harness
        await h.driver.command("create", user=OPERATOR)
        await h.settle(until=lambda: h.fake.views)
        view_id = next(iter(h.fake.views))
        form = {**FORM, ids.F_PLATFORMS: "tiktok,myspace"}
        reply = await h.driver.submit(view_id, form, user=OPERATOR)
        body = reply.json()
        assert body["response_action"] == "errors"
        assert "myspace" in body["errors"][ids.F_PLATFORMS]
        await h.settle()
        nothing_public(h)
