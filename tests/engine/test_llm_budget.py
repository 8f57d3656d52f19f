"""The model budget: reserved before each call, skipped steps named, sub-cent amounts shown."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

import pytest
from pydantic import BaseModel, Field

from engine.clock import ManualClock
from engine.errors import LLMBudgetExceeded
from engine.llm_gateway import LLMGateway, RetryPolicy, make_call, usd
from engine.ports import LLMCall
from tests.engine.fake_llm import ScriptedClient


class Pick(BaseModel):
    choice: str = Field(min_length=1)
    score: float = Field(ge=0, le=1)


GOOD = {"choice": "a", "score": 0.9}

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


class TestPlanSaysWhatWasSkipped:
    async def test_the_plan_names_the_steps_skipped_for_budget(self) -> None:
        """A plan whose model budget ran out says which steps used the built-in advisor."""
        from datetime import timedelta

        from engine.advisor import Advisor
        from engine.models import Actor, Role
        from engine.service import DistributionService
        from tests.engine.execution_support import (
            T0,
            RecordingNotifier,
            make_accounts,
            make_request,
            memory_repository,
        )

        repository = memory_repository()
        clock = ManualClock(T0 - timedelta(hours=1))
        client = ScriptedClient("gpt", ["{}"] * 20, cost=0.001)  # answers that do not validate
        gateway = LLMGateway(
            [client], clock, retry=RetryPolicy(attempts=1), deadline_s=5, budget_usd=0.0015
        )
        service = DistributionService(
            repository, clock, RecordingNotifier(), advisor=Advisor(gateway)
        )
        async with repository.unit_of_work() as uow:
            await uow.upsert_accounts(make_accounts(3))
        operator = Actor("U_OPS", Role.OPERATOR, "ops")
        d = await service.create(operator, make_request())
        view = await service.plan(operator, d.id)
        assert gateway.spent(d.id) <= 0.0015 + 0.001 + 1e-9
        skipped = [w for w in view.warnings if w.startswith("model budget spent")]
        assert skipped and "VariantSet" in skipped[0]
