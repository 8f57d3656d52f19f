"""Events API: duplicate deliveries, plain language in DMs and mentions, CSV import, Home."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from bot.slack import ids
from engine.models import DistributionStatus
from engine.ports import LLMCall, LLMReply
from tests.bot.conftest import ACCOUNTS_CSV, APPROVER, CHANNEL, OPERATOR, VIEWER, Harness
from tests.bot.support import create_and_plan, run_spring
from tests.engine.fake_llm import ScriptedClient, Step


class TestEvents:
    async def test_url_verification_echoes_the_challenge(self, harness: Harness) -> None:
        """Slack's url_verification handshake gets its challenge back."""
        body = json.dumps({"type": "url_verification", "challenge": "abc123", "token": "t"})
        reply = await harness.driver.post(body, "application/json")
        assert reply.status == 200 and "abc123" in reply.text

    async def test_duplicate_delivery_is_ignored(self, harness: Harness) -> None:
        """The same event_id delivered again (X-Slack-Retry-Num) is acked and not re-run."""
        h = harness
        first = await h.driver.dm("help", event_id="Ev0001")
        await h.settle(until=lambda: len(h.fake.messages) == 1)
        again = await h.driver.dm("help", event_id="Ev0001", retry_num=1)
        await h.settle()
        assert first.status == again.status == 200
        assert len(h.fake.messages) == 1
        assert h.deps.metrics.value("herald_slack_duplicate_events_total") == 1

    async def test_question_is_answered_directly(self, harness: Harness) -> None:
        """'how is the spring launch doing?' answers with the status, no button."""
        h = harness
        await run_spring(h)
        await h.driver.dm("how is the spring launch doing?")
        await h.settle(until=lambda: any(m.channel == "D_OP" for m in h.fake.messages))
        answer = [m for m in h.fake.messages if m.channel == "D_OP"][-1]
        assert "EXECUTING" in answer.all_text() and ids.INTENT_CONFIRM not in answer.all_text()

    async def test_state_change_needs_confirm(self, harness: Harness) -> None:
        """'pause the spring launch' proposes; nothing changes until Confirm is pressed."""
        h = harness
        dist_id = await run_spring(h)
        await h.driver.dm("please pause the spring launch because the video is wrong")
        await h.settle(until=lambda: any(m.channel == "D_OP" for m in h.fake.messages))
        proposal = [m for m in h.fake.messages if m.channel == "D_OP"][-1]
        assert "Pause" in proposal.all_text() and "the video is wrong" in proposal.all_text()
        assert (await h.service.resolve(dist_id)).status == DistributionStatus.EXECUTING
        await h.driver.click(proposal, ids.INTENT_CONFIRM, user=OPERATOR)
        await h.settle(until=lambda: "Done" in h.fake.get("D_OP", proposal.ts).text)
        assert (await h.service.resolve(dist_id)).status == DistributionStatus.PAUSED

    async def test_confirm_by_unauthorized_user_is_refused(self, harness: Harness) -> None:
        """A viewer pressing Confirm gets a refusal and the distribution is untouched."""
        h = harness
        dist_id = await run_spring(h)
        await h.driver.event(
            {
                "type": "app_mention",
                "channel": CHANNEL,
                "user": OPERATOR,
                "text": "<@UHERALD> cancel spring",
                "ts": "1.000001",
            }
        )
        await h.settle(
            until=lambda: any(ids.INTENT_CONFIRM in m.all_text() for m in h.fake.messages)
        )
        proposal = next(m for m in h.fake.messages if ids.INTENT_CONFIRM in m.all_text())
        assert proposal.thread_ts == "1.000001" or proposal.channel == CHANNEL
        await h.driver.click(proposal, ids.INTENT_CONFIRM, user=VIEWER)
        await h.settle(until=lambda: "viewer" in h.fake.responses_text())
        assert (await h.service.resolve(dist_id)).status == DistributionStatus.EXECUTING

    async def test_approve_in_chat_checks_the_version(self, harness: Harness) -> None:
        """'approve spring' is proposed with the plan's version; Confirm approves it."""
        h = harness
        dist_id = await create_and_plan(h)
        await h.settle()
        await h.driver.dm("approve spring", user=APPROVER, channel="D_BOSS")
        await h.settle(until=lambda: any(m.channel == "D_BOSS" for m in h.fake.messages))
        proposal = [m for m in h.fake.messages if m.channel == "D_BOSS"][-1]
        value = json.loads(proposal.action_values(ids.INTENT_CONFIRM)[0])
        assert value["x"]["v"] == str((await h.service.resolve(dist_id)).version)
        await h.driver.click(proposal, ids.INTENT_CONFIRM, user=APPROVER)
        await h.settle(until=lambda: "Done" in h.fake.get("D_BOSS", proposal.ts).text)
        assert (await h.service.resolve(dist_id)).status == DistributionStatus.EXECUTING

    async def test_unintelligible_message_gets_examples(self, harness: Harness) -> None:
        """A message with no intent gets examples of what works."""
        await harness.driver.dm("bananas")
        await harness.settle(until=lambda: harness.fake.messages)
        assert "/herald help" in harness.fake.messages[-1].text

    async def test_bot_messages_are_ignored(self, harness: Harness) -> None:
        """The bot's own DMs (bot_id set) never trigger an answer (no loops)."""
        await harness.driver.dm("help", bot_id="BHERALD")
        await harness.settle()
        assert harness.fake.messages == []

    async def test_csv_import_from_a_dm(self, harness: Harness) -> None:
        """A CSV shared in a DM with 'import' is downloaded with the bot token and imported."""
        h = harness
        file = h.fake.add_file(ACCOUNTS_CSV.encode())
        await h.driver.dm("import these", subtype="file_share", files=[file])
        await h.settle(until=lambda: any("Imported" in m.text for m in h.fake.messages))
        assert "*12* accounts" in h.fake.messages[-1].text
        assert len(await h.service.accounts("tiktok")) == 6

    async def test_home_tab_shows_running_and_waiting(self, harness: Harness) -> None:
        """Opening App Home publishes running distributions, waiting plans and accounts."""
        h = harness
        await run_spring(h)
        await h.driver.event(
            {"type": "app_home_opened", "user": APPROVER, "channel": "D1", "tab": "home"}
        )
        await h.settle(until=lambda: APPROVER in h.fake.home)
        text = json.dumps(h.fake.home[APPROVER])
        assert "spring" in text and "Running" in text and "12" in text and "accounts" in text


def suggestion() -> dict[str, Any]:
    """A valid SuggestionAnswer for the spring plan (tiktok, instagram)."""
    return {
        "platform_order": ["tiktok", "instagram"],
        "order_confidence": 0.8,
        "platforms": [
            {"platform": "tiktok", "peak_hours": [12, 19], "confidence": 0.7},
            {"platform": "instagram", "peak_hours": [11, 18], "confidence": 0.7},
        ],
    }


class SchemaClient(ScriptedClient):
    """A ScriptedClient answering by question: `answers[schema_name]`, else '{}' (invalid)."""

    def __init__(self, name: str, answers: dict[str, Step]) -> None:
        super().__init__(name, ["{}"])
        self.answers = answers

    async def complete(self, call: LLMCall, *, timeout: float) -> LLMReply:
        self.script = [self.answers.get(call.schema_name, "{}")]
        return await super().complete(call, timeout=timeout)


class TestLLMIntents:
    async def test_models_understand_and_confirm_still_decides(
        self, llm_harness: Callable[..., Awaitable[Harness]]
    ) -> None:
        """With models configured, a DM they understand is proposed (action, distribution,
        provenance); nothing changes until Confirm; the card shows their fused advice."""
        said = {"action": "pause", "key": "spring", "reason": "the video is wrong"}
        h = await llm_harness(
            SchemaClient("gpt", {"SuggestionAnswer": suggestion(), "IntentAnswer": said}),
            SchemaClient("claude", {"SuggestionAnswer": suggestion(), "IntentAnswer": said}),
        )
        dist_id = await run_spring(h)
        assert "*Advice* (fused from gpt, claude)" in h.card().all_text()
        await h.driver.dm("could we put spring on ice for a bit? the video is wrong")
        await h.settle(until=lambda: any(m.channel == "D_OP" for m in h.fake.messages))
        proposal = [m for m in h.fake.messages if m.channel == "D_OP"][-1]
        text = proposal.all_text()
        assert "*Pause* spring (reason: the video is wrong)" in text and dist_id in text
        assert "Understood by models: gpt, claude" in text
        value = json.loads(proposal.action_values(ids.INTENT_CONFIRM)[0])
        assert value == {"a": "pause", "d": dist_id, "x": {"reason": "the video is wrong"}}
        assert (await h.service.resolve(dist_id)).status == DistributionStatus.EXECUTING
        await h.driver.click(proposal, ids.INTENT_CONFIRM, user=OPERATOR)
        await h.settle(until=lambda: "Done" in h.fake.get("D_OP", proposal.ts).text)
        assert (await h.service.resolve(dist_id)).status == DistributionStatus.PAUSED

    async def test_garbage_answers_fall_back_to_keywords(
        self, llm_harness: Callable[..., Awaitable[Harness]]
    ) -> None:
        """A model answering the intent question with prose: the keyword parser decides."""
        gpt = SchemaClient(
            "gpt", {"SuggestionAnswer": suggestion(), "IntentAnswer": "Happy to help! Pausing."}
        )
        h = await llm_harness(gpt)
        dist_id = await run_spring(h)
        await h.driver.dm("please cancel the spring launch")
        await h.settle(until=lambda: any(m.channel == "D_OP" for m in h.fake.messages))
        proposal = [m for m in h.fake.messages if m.channel == "D_OP"][-1]
        assert (
            "*Cancel* spring" in proposal.all_text() and "Understood by" not in proposal.all_text()
        )
        assert json.loads(proposal.action_values(ids.INTENT_CONFIRM)[0])["a"] == "cancel"
        assert gpt.calls[-1].schema_name == "IntentAnswer"  # it was asked, and ignored
        records = h.service.advisor.gateway.records
        assert records[-1].outcome == "invalid"
        assert (await h.service.resolve(dist_id)).status == DistributionStatus.EXECUTING
