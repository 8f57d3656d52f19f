"""The Advisor facade: fused model advice, the built-in fallback, and why it fell back."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from engine.advisor import Advisor, builtin_suggestions
from engine.clock import ManualClock
from engine.errors import LLMTemporaryError
from engine.llm_gateway import LLMGateway, RetryPolicy
from engine.models import Account, AccountState
from engine.platform_selection import AccountsSummary
from engine.request import parse_request
from tests.engine.fake_llm import ScriptedClient

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # a Tuesday
REQUEST = parse_request(
    {
        "content": {"id": "video-123", "caption": "Our new launch", "type": "video"},
        "platforms": ["tiktok", "youtube", "instagram"],
        "start": "2026-12-01T14:00Z",
    }
)
ACCOUNTS = [
    Account("t1", "tiktok", "@t1", "UTC"),
    Account("t2", "tiktok", "@t2", "UTC", state=AccountState.RATE_LIMITED),
    Account("y1", "youtube", "@y1", "UTC", suspensions=1),
    Account("i1", "instagram", "@i1", "UTC", health=0.5),
]


def model_answer(order: list[str], extra_peak: int | None = None) -> dict[str, Any]:
    peaks = {"tiktok": [10, 14, 18, 20], "youtube": [12, 18], "instagram": [9, 12, 17, 21]}
    if extra_peak is not None:
        peaks["tiktok"] = [*peaks["tiktok"], extra_peak]
    return {
        "platform_order": order,
        "order_confidence": 0.9,
        "platforms": [
            {"platform": p, "peak_hours": h, "confidence": 0.9, "risk_notes": []}
            for p, h in peaks.items()
        ],
    }


def advisor(*clients: ScriptedClient, **kw: Any) -> Advisor:
    gw = LLMGateway(clients, ManualClock(NOW), retry=RetryPolicy(attempts=1), deadline_s=2, **kw)
    return Advisor(gw)


class TestBuiltinSuggestions:
    def test_order_and_notes(self) -> None:
        """The built-in advice orders platforms and notes account trouble."""
        answer = builtin_suggestions(REQUEST, AccountsSummary.of(ACCOUNTS))
        # Half the TikTok accounts are rate limited and Instagram's health is 0.5.
        assert answer.platform_order == ["youtube", "tiktok", "instagram"]
        notes = {p.platform: p.risk_notes for p in answer.platforms}
        assert any("rate limited" in n for n in notes["tiktok"])
        assert any("suspensions" in n for n in notes["youtube"])
        assert any("health" in n for n in notes["instagram"])

    def test_deterministic(self) -> None:
        """The same input gives the same advice."""
        summary = AccountsSummary.of(ACCOUNTS)
        assert builtin_suggestions(REQUEST, summary) == builtin_suggestions(REQUEST, summary)


class TestAdvisor:
    async def test_without_models_uses_builtin(self) -> None:
        """No gateway: the built-in advisor answers and says so."""
        fused = await Advisor().suggest(REQUEST, ACCOUNTS)
        assert Advisor().mode == "builtin"
        assert fused.source == "builtin" and fused.fallback_reason == "no model configured"
        assert fused.order_provenance.proposed_by == "builtin"
        assert fused.platform_order == ["youtube", "tiktok", "instagram"]
        assert any("Built-in advisor" in line for line in fused.lines(limit=50))

    async def test_models_fused(self) -> None:
        """Two models agreeing on an extra peak produce it, with their names."""
        order = ["youtube", "tiktok", "instagram"]
        fused = await advisor(
            ScriptedClient("gpt", [model_answer(order, 22)]),
            ScriptedClient("claude", [model_answer(order, 22)]),
            ScriptedClient("grok", ["not json"]),
        ).suggest(REQUEST, ACCOUNTS, plan_id="d-1")
        assert fused.source == "fusion"
        assert fused.platform_order == order
        assert fused.models_answered == ("gpt", "claude")
        assert fused.invalid_answers == 1 and fused.models_failed == ("grok (invalid)",)
        assert [(a.platform, a.hour) for a in fused.peak_adjustments] == [("tiktok", 22)]

    async def test_answer_about_other_platforms_discarded(self) -> None:
        """An answer ordering platforms that were not asked about is discarded whole."""
        fused = await advisor(
            ScriptedClient("gpt", [model_answer(["tiktok", "youtube", "instagram"])]),
            ScriptedClient("rogue", [model_answer(["tiktok", "twitter", "instagram"])]),
        ).suggest(REQUEST, ACCOUNTS)
        assert fused.models_answered == ("gpt",) and fused.invalid_answers == 1

    async def test_every_provider_fails_falls_back(self) -> None:
        """When every provider fails, the built-in advice is used and the reason given."""
        fused = await advisor(
            ScriptedClient("gpt", [LLMTemporaryError("500")]),
            ScriptedClient("claude", ["{}"]),
        ).suggest(REQUEST, ACCOUNTS)
        assert fused.source == "builtin"
        assert "every model failed" in (fused.fallback_reason or "")
        assert "gpt (temporary)" in (fused.fallback_reason or "")

    async def test_budget_exhausted_falls_back(self) -> None:
        """Past the plan's budget the advisor answers from the built-in advice."""
        adv = advisor(ScriptedClient("gpt", [model_answer(REQUEST.platforms)], cost=2.0))
        first = await adv.suggest(REQUEST, ACCOUNTS, plan_id="d-9")
        second = await adv.suggest(REQUEST, ACCOUNTS, plan_id="d-9")
        assert first.source == "fusion" and first.cost_usd == 2.0
        assert second.source == "builtin" and "budget" in (second.fallback_reason or "")

    async def test_prompt_carries_caption_as_data(self) -> None:
        """The caption reaches the model inside the JSON data, never in the instructions."""
        client = ScriptedClient("gpt", [model_answer(REQUEST.platforms)])
        await advisor(client).suggest(REQUEST, ACCOUNTS)
        call = client.calls[0]
        assert "Our new launch" in call.user and "Our new launch" not in call.system
        assert call.schema_name == "SuggestionAnswer"
