"""The model budget: reserved before each call, skipped steps named, sub-cent amounts shown."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

import pytest

from engine.clock import ManualClock
from engine.errors import LLMBudgetExceeded
from engine.llm_gateway import LLMGateway, RetryPolicy, make_call, usd
from engine.ports import LLMCall
from tests.engine.fake_llm import ScriptedClient
from tests.engine.test_llm_gateway import GOOD, Pick

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
CALL = make_call("Pick one.", {"options": ["a", "b"]}, Pick)


class EstimatingClient(ScriptedClient):
    """A scripted client that, like LiteLLMClient, says what a call may cost at most."""

    def estimate_usd(self, call: LLMCall) -> float:
        return self.cost


def _gateway(budget: float, *clients: ScriptedClient) -> LLMGateway:
    return LLMGateway(
        list(clients), ManualClock(NOW), budget_usd=budget, retry=RetryPolicy(attempts=1)
    )


class TestBudget:
    async def test_concurrent_steps_never_overspend(self) -> None:
        """Twenty concurrent asks under a $0.025 budget spend at most budget + one call."""
        clients = [
            EstimatingClient(name, [GOOD] * 40, delay=0.02, cost=0.01) for name in ("a", "b", "c")
        ]
        gateway = _gateway(0.025, *clients)

        async def step() -> None:
            with contextlib.suppress(LLMBudgetExceeded):
                await gateway.ask(CALL, Pick, plan_id="p1")

        await asyncio.gather(*(step() for _ in range(20)))
        assert gateway.spent("p1") <= 0.025 + 0.01 + 1e-9
        assert gateway.skipped_for_budget("p1")

    async def test_without_an_estimate_the_largest_cost_seen_is_reserved(self) -> None:
        """A client with no estimate is reserved at its largest cost so far."""
        client = ScriptedClient("a", [GOOD] * 40, delay=0.02, cost=0.01)
        gateway = _gateway(0.025, client)
        await gateway.ask(CALL, Pick, plan_id="p1")

        async def step() -> None:
            with contextlib.suppress(LLMBudgetExceeded):
                await gateway.ask(CALL, Pick, plan_id="p1")

        await asyncio.gather(*(step() for _ in range(10)))
        assert gateway.spent("p1") <= 0.025 + 0.01 + 1e-9

    async def test_the_budget_message_shows_sub_cent_amounts(self) -> None:
        """A $0.005 budget reads as $0.005, not $0.00."""
        gateway = _gateway(0.005, EstimatingClient("a", [GOOD] * 3, cost=0.004))
        await gateway.ask(CALL, Pick, plan_id="p1")
        await gateway.ask(CALL, Pick, plan_id="p1")
        with pytest.raises(LLMBudgetExceeded, match=r"\$0\.005 model budget"):
            await gateway.ask(CALL, Pick, plan_id="p1")
        assert gateway.skipped_for_budget("p1") == ["Pick"]

    @pytest.mark.parametrize(
        ("amount", "text"),
        [
            (0.0, "$0.00"),
            (0.07, "$0.07"),
            (0.0035, "$0.0035"),
            (1234.5, "$1,234.50"),
            (2e-9, "$2.0e-09"),
        ],
    )
    def test_usd_is_readable_at_any_size(self, amount: float, text: str) -> None:
        """Dollar amounts keep their significant digits below a cent."""
        assert usd(amount) == text
