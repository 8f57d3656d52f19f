"""What people read: names not ids, a/an, platform names, honest refusals, short echoes."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from bot.slack import ids
from engine.models import DistributionStatus
from tests.bot.conftest import ACCOUNTS_CSV, CHANNEL, OPERATOR, VIEWER, Harness, start_harness
from tests.bot.fake_slack import FakeSlack
from tests.bot.support import create_and_plan, run_spring

BAD_ARTICLE = re.compile(
    r"\b[Aa] (operator|approver|instagram|Instagram|X)\b|\ban (viewer|TikTok)\b"
)
RAW_PLATFORM = re.compile(
    r"\b(instagram|tiktok|youtube|linkedin)\* post|[Aa]n? (instagram|tiktok) post"
)


class TestNamesAndArticles:
    async def test_button_refusal_names_the_person_with_the_right_article(
        self, harness: Harness
    ) -> None:
        """An operator's Approve click: refused by name ("carol"), "an operator", no raw id."""
        h = harness
        await create_and_plan(h)
        await h.settle()
        payload = h.driver.click_payload(h.card(), ids.APPROVE, user=OPERATOR)
        payload["user"].update(username="carol", name="carol")
        await h.driver.interact(payload)
        await h.settle(until=lambda: "cannot approve" in h.fake.responses_text())
        text = h.fake.responses_text()
        assert "carol" in text and f"{OPERATOR} is" not in text, text
        assert "an operator" in text and not BAD_ARTICLE.search(text), text

    async def test_viewer_refusal_says_a_viewer(self, harness: Harness) -> None:
        """A viewer's create is refused with "a viewer"; operators are "operators"."""
        h = harness
        await h.driver.command("create name=x caption=y platforms=tiktok", user=VIEWER)
        await h.settle(until=lambda: "only operators" in h.fake.responses_text())
        text = h.fake.responses_text()
        assert "a viewer" in text and not BAD_ARTICLE.search(text), text

    async def test_failure_replies_use_platform_names(self, fake: FakeSlack) -> None:
        """A failed post reads "An Instagram post" / "A TikTok post", never "A instagram"."""
        h, runner = await start_harness(
            fake, HERALD_SIMULATED_FAILURE_RATES="unknown=1.0", HERALD_MAX_REDISTRIBUTIONS="0"
        )
        try:
            await run_spring(h)
            h.clock.advance(timedelta(hours=3))
            await h.deps.herald.dispatcher.tick()
            await h.settle(until=lambda: any("failed" in m.text for m in fake.messages))
            await h.settle()
            texts = [m.all_text() for m in fake.messages if "failed" in m.text]
            assert texts
            for text in texts:
                assert not RAW_PLATFORM.search(text) and not BAD_ARTICLE.search(text), text
            assert any("An Instagram post" in t or "A TikTok post" in t for t in texts), texts
        finally:
            await h.driver.close()
            await h.notifier.close()
            await runner.cleanup()


class TestHonestRefusals:
    async def test_click_on_a_cancelled_plan_says_cancelled(self, harness: Harness) -> None:
        """Approve on the card of a plan cancelled since: "cancelled", not "plan changed"."""
        h = harness
        dist_id = await create_and_plan(h)
        await h.settle()
        old = h.card()
        old_blocks = json.loads(json.dumps(old.blocks))
        await h.driver.command("cancel spring no longer needed", user=OPERATOR)
        await h.settle(until=lambda: "now CANCELLED" in h.fake.responses_text())
        old.blocks = old_blocks
        before = len(h.fake.responses_text())
        await h.driver.click(old, ids.APPROVE, user="U_BOSS")
        await h.settle(until=lambda: "cancelled" in h.fake.responses_text()[before:])
        answer = h.fake.responses_text()[before:]
        assert "changed since" not in answer and "spring" in answer, answer
        assert (await h.service.resolve(dist_id)).status == DistributionStatus.CANCELLED


class TestNoLongEcho:
    async def test_long_input_is_never_echoed_back(self, harness: Harness) -> None:
        """A 5 000-character token comes back as a short excerpt in every refusal."""
        h = harness
        token = "Z" * 5000
        for text in (
            f"status {token}",
            f"list {token}",
            f"velocity {token}",
            f"{token}",
            f"create name=x caption=y platforms={token}",
            f"accounts {token}",
        ):
            before = len(h.fake.responses_text())
            await h.driver.command(text, user=OPERATOR)
            await h.settle(until=lambda before=before: len(h.fake.responses_text()) > before)
            answer = h.fake.responses_text()[before:]
            assert "z" * 100 not in answer.lower(), (text[:20], len(answer))
            assert "zzz" in answer.lower(), answer  # an excerpt is still shown
            assert len(answer) < 2000

    async def test_csv_rows_with_long_values_are_quoted_short(self, harness: Harness) -> None:
        """A refused CSV row with a 5 000-character value is quoted as a short excerpt."""
        h = harness
        header = ACCOUNTS_CSV.splitlines()[0]
        csv = f"{header}\nx-1,tiktok,@x,{'Q' * 5000},en,1,0.9,ACTIVE,,\n"
        file = h.fake.add_file(csv.encode())
        await h.driver.dm("import these", subtype="file_share", files=[file])
        await h.settle(until=lambda: any("Imported" in m.text for m in h.fake.messages))
        text = h.fake.messages[-1].all_text()
        assert "refused" in text and "Q" * 100 not in text and "QQQ" in text, text[:500]

    async def test_mrkdwn_in_echoed_input_is_neutralised(self, harness: Harness) -> None:
        """Input like <!channel> in a refusal cannot ping a channel."""
        h = harness
        await h.driver.command("status <!channel>", user=OPERATOR)
        await h.settle(until=lambda: "channel" in h.fake.responses_text())
        assert "<!channel>" not in h.fake.responses_text()


class TestHome:
    async def test_paused_is_listed_under_its_own_heading(self, harness: Harness) -> None:
        """App Home: a PAUSED distribution is under "Paused", not under "Running"."""
        h = harness
        await run_spring(h)
        await h.driver.command("pause spring legal", user=OPERATOR)
        await h.settle(until=lambda: "now PAUSED" in h.fake.responses_text())
        await h.driver.event(
            {"type": "app_home_opened", "user": OPERATOR, "channel": "D1", "tab": "home"}
        )
        await h.settle(until=lambda: OPERATOR in h.fake.home)
        blocks = h.fake.home[OPERATOR]["blocks"]
        headings = [(i, b["text"]["text"]) for i, b in enumerate(blocks) if b["type"] == "header"]
        where = {name: i for i, name in headings}
        assert "Paused" in where, headings
        spring = next(i for i, b in enumerate(blocks) if "spring" in json.dumps(b))
        after = [name for i, name in headings if i < spring][-1]
        assert after == "Paused", headings
        assert CHANNEL
