"""`LiteLLMClient`: one configured model behind litellm, and the factory reading the config.

litellm is imported lazily (it costs seconds and ~150 MB) and only when a model is
configured, with `LITELLM_LOCAL_MODEL_COST_MAP=True` so its import never fetches anything.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engine.errors import InvalidInput, LLMError, LLMTemporaryError
from engine.platforms import DEFAULT_PLATFORMS, PlatformTable
from engine.ports import LLMCall, LLMCallLog, LLMReply

if TYPE_CHECKING:
    from engine.advisor import Advisor
    from engine.llm_gateway import LLMGateway
    from engine.ports import Clock

log = logging.getLogger(__name__)

# HTTP statuses where the same request may succeed later.
TEMPORARY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 529})


class LLMSettings(Protocol):
    """The settings this module reads (`bot.settings.Settings` has them)."""

    llm_models: str
    llm_deadline_seconds: float
    llm_plan_budget_usd: float


def import_litellm() -> Any:
    """Import litellm once, offline: no price-table download, no telemetry, no retries."""
    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    try:
        import litellm
    except ModuleNotFoundError:
        # litellm is the optional `llm` extra (~200 MB), installed only when models are used.
        raise InvalidInput(
            "HERALD_LLM_MODELS names a model but litellm is not installed: "
            "run with `uv run --extra llm herald ...` (or `uv sync --extra llm`)"
        ) from None

    litellm.telemetry = False
    litellm.suppress_debug_info = True
    litellm.num_retries = 0
    return litellm


class ModelSpec(BaseModel):
    """One entry of `HERALD_LLM_MODELS`."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=40)
    model: str = Field(min_length=3, description="litellm model string, e.g. openai/gpt-4o")
    api_base: str | None = None
    api_key_env: str | None = None
    weight: float = Field(default=1.0, gt=0, le=10)
    timeout: float = Field(default=15.0, gt=0, le=300)
    max_tokens: int | None = Field(default=None, gt=0)


class LiteLLMClient:
    """An `LLMClient` calling `litellm.acompletion` with an explicit timeout, a JSON-schema
    `response_format`, and this model's own `api_base` and key.

    Errors become `LLMTemporaryError` (timeouts, connection trouble, 408/429/5xx) or
    `LLMError` (everything else: bad key, bad request, unknown model).
    """

    def __init__(
        self,
        name: str,
        model: str,
        *,
        api_base: str | None = None,
        api_key: str | None = None,
        weight: float = 1.0,
        timeout: float = 15.0,
        max_tokens: int | None = None,
    ) -> None:
        self.name = name
        self.model = model
        self.api_base = api_base
        self._api_key = api_key
        self.weight = weight
        self.timeout = timeout
        self.max_tokens = max_tokens
        self._litellm: Any = None

    def __repr__(self) -> str:  # never show the key
        return f"LiteLLMClient({self.name!r}, {self.model!r}, api_base={self.api_base!r})"

    async def complete(self, call: LLMCall, *, timeout: float) -> LLMReply:
        """Raises LLMTemporaryError (timeout, 429, 5xx, connection) or LLMError."""
        if self._litellm is None:
            self._litellm = import_litellm()
        litellm = self._litellm
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": [
                {"role": "system", "content": call.system},
                {"role": "user", "content": call.user},
            ],
            "timeout": timeout,
            "max_tokens": self.max_tokens or call.max_tokens,
            "num_retries": 0,
            "max_retries": 0,
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": call.schema_name, "schema": call.schema, "strict": False},
            },
        }
        if self.api_base:
            kwargs["api_base"] = self.api_base
        if self._api_key:
            kwargs["api_key"] = self._api_key
        start = time.monotonic()
        try:
            response = await asyncio.wait_for(litellm.acompletion(**kwargs), timeout)
        except TimeoutError:
            raise LLMTemporaryError(f"{self.name}: no answer within {timeout:.1f}s") from None
        except Exception as exc:
            raise _map_error(self.name, exc, litellm) from None
        latency = time.monotonic() - start
        try:
            text = response.choices[0].message.content or ""
        except (AttributeError, IndexError) as exc:
            raise LLMError(f"{self.name}: unexpected response shape ({exc})") from None
        usage = getattr(response, "usage", None)
        return LLMReply(
            model=self.name,
            text=text,
            latency_s=latency,
            prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
            cost_usd=_cost(litellm, response),
        )


def _map_error(name: str, exc: Exception, litellm: Any) -> LLMError:
    errors = litellm.exceptions
    status = getattr(exc, "status_code", None)
    summary = f"{name}: {type(exc).__name__}" + (f" {status}" if status else "")
    temporary = isinstance(
        exc,
        (
            errors.Timeout,
            errors.APIConnectionError,
            errors.RateLimitError,
            errors.ServiceUnavailableError,
            errors.InternalServerError,
            errors.BadGatewayError,
        ),
    ) or (isinstance(status, int) and status in TEMPORARY_STATUSES)
    log.info("%s: %s", summary, str(exc)[:300])
    return LLMTemporaryError(summary) if temporary else LLMError(summary)


def _cost(litellm: Any, response: Any) -> float:
    # completion_cost raises for models litellm has no price for (local servers): cost 0.
    try:
        return float(litellm.completion_cost(completion_response=response) or 0.0)
    except Exception:
        return 0.0


def parse_model_specs(text: str) -> list[ModelSpec]:
    """`HERALD_LLM_MODELS` (a JSON list) as specs. Raises InvalidInput saying what is wrong."""
    if not text.strip():
        return []
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"HERALD_LLM_MODELS: not JSON ({exc.msg} at {exc.pos})") from None
    if not isinstance(raw, list):
        raise InvalidInput("HERALD_LLM_MODELS: expected a JSON list of models")
    specs = []
    for i, item in enumerate(raw):
        try:
            specs.append(ModelSpec.model_validate(item))
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err.get("loc", ())) or "entry"
            raise InvalidInput(f"HERALD_LLM_MODELS[{i}].{where}: {err['msg']}") from None
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise InvalidInput(f"HERALD_LLM_MODELS: model names must be unique ({names})")
    return specs


def build_llm_clients(
    settings: LLMSettings, environ: Mapping[str, str] | None = None
) -> list[LiteLLMClient]:
    """The configured models that can be used: a model is active when its key variable
    (`api_key_env`) is set in `environ` (default: the process environment) or it has an
    `api_base` (a local OpenAI-compatible server needs no key). Keys are read here only.
    litellm is imported here when at least one model is active, never otherwise."""
    env = os.environ if environ is None else environ
    clients: list[LiteLLMClient] = []
    for spec in parse_model_specs(settings.llm_models):
        key = env.get(spec.api_key_env, "") if spec.api_key_env else ""
        if not key and not spec.api_base:
            log.info("llm model %s inactive: %s not set", spec.name, spec.api_key_env or "no key")
            continue
        if not key and spec.model.startswith("anthropic/"):
            key = "local"  # litellm insists on a key for anthropic/; a local server ignores it
        clients.append(
            LiteLLMClient(
                spec.name,
                spec.model,
                api_base=spec.api_base,
                api_key=key or None,
                weight=spec.weight,
                timeout=spec.timeout,
                max_tokens=spec.max_tokens,
            )
        )
    if clients:
        # Import now, at start-up, rather than inside the first fan-out, where its ~5 s
        # would block the loop and eat the deadline of the first plan.
        litellm = import_litellm()
        for client in clients:
            client._litellm = litellm
    return clients


def build_advisor(
    settings: LLMSettings,
    clock: Clock,
    environ: Mapping[str, str] | None = None,
    *,
    platforms: PlatformTable = DEFAULT_PLATFORMS,
    call_log: LLMCallLog | None = None,
) -> Advisor:
    """The `Advisor` the settings describe: models through an `LLMGateway` when any is
    active (calls recorded in `call_log`), else the built-in advisor. litellm is not
    imported here (only on first call)."""
    from engine.advisor import Advisor

    extra = getattr(settings, "llm_extra_hashtags", "") or ""
    tags = [t.strip().lstrip("#") for t in extra.replace(",", " ").split() if t.strip("# ")]
    gateway = build_gateway(settings, clock, environ, call_log=call_log)
    return Advisor(gateway, platforms=platforms, extra_hashtags=tags)


def build_gateway(
    settings: LLMSettings,
    clock: Clock,
    environ: Mapping[str, str] | None = None,
    *,
    call_log: LLMCallLog | None = None,
) -> LLMGateway | None:
    """An `LLMGateway` over the active models (recording calls in `call_log` when given),
    or None when none is active."""
    from engine.llm_gateway import LLMGateway

    clients = build_llm_clients(settings, environ)
    if not clients:
        return None
    return LLMGateway(
        clients,
        clock,
        deadline_s=settings.llm_deadline_seconds,
        budget_usd=settings.llm_plan_budget_usd,
        call_log=call_log,
    )
