"""Model spending is kept in the database: a restart does not reset a plan's budget."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine.clock import ManualClock
from engine.errors import LLMBudgetExceeded
from engine.llm_gateway import LLMGateway, RetryPolicy
from engine.ports import LLMCall
from storage.llm_log import SQLAlchemyLLMCallLog
from storage.migrate import upgrade
from tests.engine.fake_llm import ScriptedClient

CALL = LLMCall("Answer as JSON.", '{"q": 1}', {"type": "object"}, "Probe")
ANSWER = {"platform_order": ["tiktok"], "order_confidence": 0.5, "platforms": []}


def _gateway(log: SQLAlchemyLLMCallLog) -> LLMGateway:
    clock = ManualClock(datetime(2026, 12, 1, tzinfo=UTC))
    clients = [ScriptedClient("gpt", [ANSWER], cost=0.6), ScriptedClient("claude", [ANSWER])]
    return LLMGateway(clients, clock, budget_usd=1.0, retry=RetryPolicy(attempts=1), call_log=log)


class TestPersistedBudget:
    async def test_spending_survives_a_new_gateway(self, tmp_path: Path) -> None:
        """Calls are stored per plan; a fresh gateway (a restart) starts from that spend."""
        from engine.fusion import SuggestionAnswer

        url = f"sqlite+aiosqlite:///{tmp_path / 'herald.db'}"
        await upgrade(url)
        log = SQLAlchemyLLMCallLog(url)
        try:
            first = _gateway(log)
            result = await first.ask(CALL, SuggestionAnswer, plan_id="d-1")
            assert len(result.answers) == 2
            assert await log.spent("d-1") == pytest.approx(0.601)
            assert {row.model for row in await log.recent(distribution_id="d-1")} == {
                "gpt",
                "claude",
            }
            await first.ask(CALL, SuggestionAnswer, plan_id="d-1")  # 1.202 spent now

            restarted = _gateway(log)
            with pytest.raises(LLMBudgetExceeded):
                await restarted.ask(CALL, SuggestionAnswer, plan_id="d-1")
            other = await restarted.ask(CALL, SuggestionAnswer, plan_id="d-2")
            assert len(other.answers) == 2
        finally:
            await log.close()
