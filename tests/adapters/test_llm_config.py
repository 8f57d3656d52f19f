"""The documented keyless local model works over HTTP; configuration errors are not retried."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from engine.adapters.litellm_client import UNPRICED_USD_PER_1K, LiteLLMClient, build_llm_clients
from engine.clock import ManualClock
from engine.errors import LLMConfigurationError
from engine.fusion import SuggestionAnswer
from engine.llm_gateway import LLMGateway, RetryPolicy, make_call
from tests.adapters.fake_llm_servers import FakeLLMServer, error, reply

CALL = make_call("Advise.", {"platforms": ["tiktok"]}, SuggestionAnswer)
PLATFORMS = ["tiktok", "youtube", "instagram"]


def suggestion(order: list[str]) -> dict[str, Any]:
    """A valid SuggestionAnswer body."""
    peaks = {"tiktok": [10, 14, 18, 20], "youtube": [12, 18], "instagram": [9, 12, 17, 21]}
    return {
        "platform_order": order,
        "order_confidence": 0.85,
        "platforms": [
            {"platform": p, "peak_hours": h, "confidence": 0.8, "risk_notes": []}
            for p, h in peaks.items()
        ],
    }


@dataclass
class _Settings:
    llm_models: str
    llm_deadline_seconds: float = 10.0
    llm_plan_budget_usd: float = 1.0


@pytest.fixture
async def server() -> AsyncIterator[FakeLLMServer]:
    fake = await FakeLLMServer().start()
    yield fake
    await fake.close()


class TestKeylessLocalModel:
    async def test_the_documented_keyless_model_answers(self, server: FakeLLMServer) -> None:
        """`openai/...` with an api_base and no key set talks to the server and answers."""
        models = (
            f'[{{"name": "local", "model": "openai/llama3", "api_base": "{server.base_url}/v1"}}]'
        )
        (client,) = build_llm_clients(_Settings(models), environ={})
        server.script("llama3", reply(suggestion(PLATFORMS)))
        answer = await client.complete(CALL, timeout=10)
        assert SuggestionAnswer.model_validate_json(answer.text).platform_order == PLATFORMS
        assert server.counts["llama3"] == 1

    async def test_an_unpriced_model_is_not_free(self, server: FakeLLMServer) -> None:
        """A model litellm has no price for costs tokens at the fallback rate, unless set."""
        server.script("llama3", reply(suggestion(PLATFORMS)), reply(suggestion(PLATFORMS)))
        base = f"{server.base_url}/v1"
        priced = LiteLLMClient("local", "openai/llama3", api_base=base)
        answer = await priced.complete(CALL, timeout=10)
        assert answer.cost_usd == pytest.approx(UNPRICED_USD_PER_1K * 200 / 1000)
        assert priced.estimate_usd(CALL) > 0
        free = LiteLLMClient("free", "openai/llama3", api_base=base, usd_per_1k_tokens=0)
        assert (await free.complete(CALL, timeout=10)).cost_usd == 0.0


class TestConfigurationErrors:
    async def test_a_refused_key_is_reported_once_and_not_retried(
        self, server: FakeLLMServer, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A 401 is a configuration error: one request, one log line, never asked again."""
        server.script("gpt", error(401), error(401), error(401))
        client = LiteLLMClient("gpt", "openai/gpt", api_base=f"{server.base_url}/v1", api_key="k")
        with pytest.raises(LLMConfigurationError):
            await client.complete(CALL, timeout=10)
        gateway = LLMGateway(
            [client], ManualClock(datetime(2026, 12, 1, tzinfo=UTC)), retry=RetryPolicy(attempts=3)
        )
        with caplog.at_level(logging.ERROR):
            first = await gateway.ask(CALL, SuggestionAnswer)
            second = await gateway.ask(CALL, SuggestionAnswer)
        assert [r.outcome for r in first.records] == ["misconfigured"]
        assert second.records == [] and server.counts["gpt"] == 2
        assert sum("disabled until restart" in r.message for r in caplog.records) == 1

    async def test_retry_after_is_honoured(self, server: FakeLLMServer) -> None:
        """A 429 with Retry-After: 1 is retried no sooner than one second later."""
        server.script("gpt", error(429, retry_after=1), reply(suggestion(PLATFORMS)))
        client = LiteLLMClient("gpt", "openai/gpt", api_base=f"{server.base_url}/v1", api_key="k")
        gateway = LLMGateway(
            [client],
            ManualClock(datetime(2026, 12, 1, tzinfo=UTC)),
            deadline_s=20,
            retry=RetryPolicy(attempts=2, backoff_s=0.01),
        )
        started = time.monotonic()
        result = await gateway.ask(CALL, SuggestionAnswer)
        assert result.answers and time.monotonic() - started >= 1.0
        assert server.counts["gpt"] == 2
