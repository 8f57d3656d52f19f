"""litellm really talking HTTP to local OpenAI- and Anthropic-compatible fake servers."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.settings import load_settings
from engine.adapters.litellm_client import (
    LiteLLMClient,
    build_advisor,
    build_llm_clients,
    parse_model_specs,
)
from engine.advisor import Advisor
from engine.clock import ManualClock
from engine.errors import InvalidInput, LLMError, LLMTemporaryError
from engine.fusion import SuggestionAnswer
from engine.llm_gateway import LLMGateway, RetryPolicy, make_call
from engine.models import Account
from engine.request import parse_request
from tests.adapters.fake_llm_servers import FakeLLMServer, error, hang, reply

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
CALL = make_call("Advise.", {"platforms": ["tiktok"]}, SuggestionAnswer)
PLATFORMS = ["tiktok", "youtube", "instagram"]
REQUEST = parse_request(
    {
        "content": {"id": "video-123", "caption": "Launch day", "type": "video"},
        "platforms": PLATFORMS,
        "start": "2026-12-01T14:00Z",
    }
)
ACCOUNTS = [Account(f"{p}-1", p, f"@{p}1", "UTC") for p in PLATFORMS]


def suggestion(
    order: list[str], extra: int | None = None, note: str | None = None
) -> dict[str, Any]:
    peaks = {"tiktok": [10, 14, 18, 20], "youtube": [12, 18], "instagram": [9, 12, 17, 21]}
    if extra is not None:
        peaks["tiktok"] = [*peaks["tiktok"], extra]
    return {
        "platform_order": order,
        "order_confidence": 0.85,
        "platforms": [
            {
                "platform": p,
                "peak_hours": h,
                "confidence": 0.8,
                "risk_notes": [note] if note and p == "tiktok" else [],
            }
            for p, h in peaks.items()
        ],
    }


@pytest.fixture
async def server() -> AsyncIterator[FakeLLMServer]:
    fake = await FakeLLMServer().start()
    yield fake
    await fake.close()


def openai(server: FakeLLMServer, name: str, **kw: Any) -> LiteLLMClient:
    return LiteLLMClient(
        name, f"openai/{name}", api_base=f"{server.base_url}/v1", api_key="k", **kw
    )


def anthropic(server: FakeLLMServer, name: str, **kw: Any) -> LiteLLMClient:
    return LiteLLMClient(name, f"anthropic/{name}", api_base=server.base_url, api_key="k", **kw)


class TestLiteLLMClient:
    async def test_openai_compatible_json(self, server: FakeLLMServer) -> None:
        """An OpenAI-compatible server's JSON answer comes back with tokens recorded."""
        server.script("gpt", reply(suggestion(PLATFORMS)))
        answer = await openai(server, "gpt").complete(CALL, timeout=10)
        assert SuggestionAnswer.model_validate_json(answer.text).platform_order == PLATFORMS
        assert (answer.prompt_tokens, answer.completion_tokens) == (120, 80)
        assert answer.cost_usd > 0  # no known price is not free (UNPRICED_USD_PER_1K)
        (_, path, payload) = server.requests[0]
        assert path == "openai"
        assert payload["response_format"]["json_schema"]["name"] == "SuggestionAnswer"
        assert payload["messages"][1]["content"] == CALL.user

    async def test_anthropic_compatible_json(self, server: FakeLLMServer) -> None:
        """Through /v1/messages the schema goes as a tool and the tool input is the answer."""
        server.script("claude", reply(suggestion(PLATFORMS)))
        answer = await anthropic(server, "claude").complete(CALL, timeout=10)
        assert json.loads(answer.text)["order_confidence"] == 0.85
        (_, path, payload) = server.requests[0]
        assert path == "anthropic" and payload["max_tokens"] == CALL.max_tokens
        assert payload["system"] and payload["tools"]

    async def test_429_is_temporary_and_not_retried_inside(self, server: FakeLLMServer) -> None:
        """A 429 becomes LLMTemporaryError after exactly one request (no hidden retries)."""
        server.script("gpt", error(429, retry_after=1))
        with pytest.raises(LLMTemporaryError, match="429"):
            await openai(server, "gpt").complete(CALL, timeout=10)
        assert server.counts["gpt"] == 1

    async def test_500_is_temporary(self, server: FakeLLMServer) -> None:
        """A 500 from the Anthropic-compatible server is temporary."""
        server.script("claude", error(500))
        with pytest.raises(LLMTemporaryError, match="500"):
            await anthropic(server, "claude").complete(CALL, timeout=10)

    async def test_401_is_permanent(self, server: FakeLLMServer) -> None:
        """A refused key is a permanent LLMError, not a temporary one."""
        server.script("gpt", error(401))
        with pytest.raises(LLMError) as info:
            await openai(server, "gpt").complete(CALL, timeout=10)
        assert not isinstance(info.value, LLMTemporaryError)

    async def test_timeout_is_explicit(self, server: FakeLLMServer) -> None:
        """A hanging server is cut at the given timeout, not litellm's 6000 s default."""
        server.script("gpt", hang())
        client = openai(server, "gpt")
        start = time.monotonic()
        with pytest.raises(LLMTemporaryError):
            await client.complete(CALL, timeout=0.5)
        assert time.monotonic() - start < 2.0

    def test_key_never_in_repr(self) -> None:
        """The API key does not show in the client's repr."""
        client = LiteLLMClient("gpt", "openai/gpt-4o", api_key="sk-secret-123")
        assert "sk-secret" not in repr(client)


class TestBuildLLMClients:
    MODELS = json.dumps(
        [
            {"name": "gpt", "model": "openai/gpt-4o", "api_key_env": "OPENAI_API_KEY"},
            {"name": "claude", "model": "anthropic/claude-3-5-sonnet", "api_key_env": "ANT_KEY"},
            {
                "name": "local",
                "model": "openai/llama",
                "api_base": "http://127.0.0.1:1/v1",
                "weight": 0.5,
                "timeout": 3,
            },
        ]
    )

    def test_active_only_with_key_or_base(self) -> None:
        """A model is active when its key variable is set or it has an api_base."""
        settings = load_settings({"HERALD_LLM_MODELS": self.MODELS})
        clients = build_llm_clients(settings, {"OPENAI_API_KEY": "sk-1"})
        assert [c.name for c in clients] == ["gpt", "local"]
        local = clients[1]
        assert isinstance(local, LiteLLMClient)
        assert (local.weight, local.timeout) == (0.5, 3)

    def test_bad_config_is_specific(self) -> None:
        """Broken JSON or a bad field names the variable and the entry."""
        with pytest.raises(InvalidInput, match="HERALD_LLM_MODELS: not JSON"):
            parse_model_specs("[{")
        with pytest.raises(InvalidInput, match=r"HERALD_LLM_MODELS\[0\]\.weight"):
            parse_model_specs('[{"name": "a", "model": "openai/a", "weight": -1}]')

    def test_no_model_means_builtin_and_no_litellm_import(self) -> None:
        """Without models the advisor is built-in and litellm is never imported."""
        code = (
            "import sys\n"
            "from bot.settings import load_settings\n"
            "from engine.clock import SystemClock\n"
            "from engine.adapters.litellm_client import build_advisor\n"
            "a = build_advisor(load_settings({}), SystemClock(), {})\n"
            "assert a.mode == 'builtin', a.mode\n"
            "assert 'litellm' not in sys.modules\n"
        )
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr

    def test_configured_advisor_uses_models(self) -> None:
        """With an active model, build_advisor returns a model-backed advisor."""
        settings = load_settings({"HERALD_LLM_MODELS": self.MODELS})
        assert build_advisor(settings, ManualClock(NOW), {}).mode == "models"


def advisor(clients: list[LiteLLMClient], deadline: float = 3.0) -> Advisor:
    gateway = LLMGateway(
        clients,
        ManualClock(NOW),
        deadline_s=deadline,
        retry=RetryPolicy(attempts=2, backoff_s=0.05),
    )
    return Advisor(gateway)


class TestFusionOverHttp:
    async def test_fusion_with_provenance_and_discards(self, server: FakeLLMServer) -> None:
        """Two good answers fuse; garbage is discarded and counted; a 500 is recorded."""
        order = ["youtube", "tiktok", "instagram"]
        note = "posting velocity close to the daily cap"
        server.script("gpt", reply(suggestion(order, 22, note)))
        server.script("claude", reply(suggestion(order, 22, note), delay=0.2))
        server.script("gemini", reply("I think you should post at noon!"))
        server.script("grok", error(500))
        adv = advisor(
            [
                openai(server, "gpt"),
                anthropic(server, "claude"),
                openai(server, "gemini"),
                openai(server, "grok"),
            ]
        )
        fused = await adv.suggest(REQUEST, ACCOUNTS, plan_id="d-http")
        assert fused.source == "fusion"
        assert fused.platform_order == order
        assert fused.order_provenance.proposed_by == "gpt"
        assert fused.order_provenance.agreed_by == ("claude",)
        assert [(a.hour, a.action) for a in fused.peak_adjustments] == [(22, "add")]
        assert fused.risk_notes[0].text == note
        assert set(fused.risk_notes[0].provenance.models) == {"gpt", "claude"}
        assert fused.invalid_answers == 1
        assert fused.models_failed == ("gemini (invalid)", "grok (temporary)")
        assert server.counts["grok"] == 2  # retried once: 500 is temporary
        assert adv.gateway is not None and adv.gateway.stats()["claude"]["tokens"] == 180

    async def test_deadline_with_hanging_provider(self, server: FakeLLMServer) -> None:
        """A hanging provider does not hold the answer past the deadline."""
        server.script("gpt", reply(suggestion(PLATFORMS)))
        server.script("hung", hang())
        adv = advisor([openai(server, "gpt"), openai(server, "hung", timeout=30)], deadline=1.0)
        await adv.suggest(REQUEST, ACCOUNTS)  # warm the litellm/openai client import
        start = time.monotonic()
        fused = await adv.suggest(REQUEST, ACCOUNTS)
        elapsed = time.monotonic() - start
        assert 0.9 < elapsed < 1.4
        assert fused.source == "fusion" and fused.models_answered == ("gpt",)
        assert fused.models_failed == ("hung (deadline)",)

    async def test_all_fail_falls_back_to_builtin(self, server: FakeLLMServer) -> None:
        """429s and 500s everywhere: the built-in advisor answers and says why."""
        server.script("gpt", error(429))
        server.script("claude", error(503))
        adv = advisor([openai(server, "gpt"), anthropic(server, "claude")])
        fused = await adv.suggest(REQUEST, ACCOUNTS)
        assert fused.source == "builtin"
        assert fused.fallback_reason is not None and "gpt (temporary)" in fused.fallback_reason
        assert fused.platform_order == ["tiktok", "instagram", "youtube"]


class TestVariantsOverHttp:
    async def test_translation_and_variants(self, server: FakeLLMServer) -> None:
        """A translation via /v1/messages and caption variants via /v1/chat/completions."""
        content = REQUEST.content.model_copy(update={"caption": "Launch day 2026 #ad"})
        server.script(
            "claude",
            reply({"caption": "يوم الإطلاق 2026 #ad", "back_translation": "Launch day 2026 #ad"}),
        )
        server.script(
            "gpt",
            reply(
                {
                    "variants": [
                        {"caption": "Launch day 2026 is here #ad", "hashtags": []},
                        {"caption": "It is launch day 2026 #ad", "hashtags": []},
                    ]
                }
            ),
        )
        (ar,) = await advisor([anthropic(server, "claude")]).translate(content, ["ar"])
        assert (ar.source, ar.agreement, ar.rtl) == ("model:claude", 1.0, True)
        targets = [Account(f"tt-{i}", "tiktok", f"@tt{i}", "UTC") for i in range(2)]
        variants = await advisor([openai(server, "gpt")]).caption_variants(content, targets)
        assert [v.source for v in variants] == ["model:gpt", "model:gpt"]
        assert variants[1].caption == "It is launch day 2026 #ad"


class TestBuildAdvisorSettings:
    def test_extra_hashtags_from_settings(self) -> None:
        """HERALD_LLM_EXTRA_HASHTAGS reaches the variant writer's allowed set."""
        settings = load_settings(
            {
                "HERALD_LLM_MODELS": TestBuildLLMClients.MODELS,
                "HERALD_LLM_EXTRA_HASHTAGS": "#new, launch",
            }
        )
        adv = build_advisor(settings, ManualClock(NOW), {})
        assert adv.writer.extra_hashtags == ("new", "launch")
