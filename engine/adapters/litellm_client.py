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

from engine.errors import InvalidInput, LLMConfigurationError, LLMError, LLMTemporaryError
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
    max_tokens: int | None = Field(default=None, gt=0, le=100_000)
    # Price for the budget when litellm knows none (local models: set 0 if truly free).
    usd_per_1k_tokens: float | None = Field(default=None, ge=0, le=1000, allow_inf_nan=False)


class LiteLLMClient:
    """An `LLMClient` calling `litellm.acompletion` with an explicit timeout, a JSON-schema
    `response_format`, and this model's own `api_base` and key.

    Errors become `LLMTemporaryError` (timeouts, connection trouble, 408/429/5xx, with a
    429's Retry-After), `LLMConfigurationError` (missing or bad credentials, unknown model,
    401/403/404: never retried) or `LLMError` (everything else).
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
        usd_per_1k_tokens: float | None = None,
    ) -> None:
        self.name = name
        self.usd_per_1k_tokens = usd_per_1k_tokens
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
        elif self.api_base:
            # A local OpenAI-compatible server needs no key, but the OpenAI SDK under litellm
            # refuses to send a request without one ("Missing credentials").
            kwargs["api_key"] = LOCAL_DUMMY_KEY
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
            cost_usd=_cost(litellm, response, self.model, self.usd_per_1k_tokens),
        )

    def estimate_usd(self, call: LLMCall) -> float:
        """The most one `call` may cost: its prompt (about 3 characters a token) and
        `max_tokens` of answer, at litellm's price for the model, or at the configured
        `usd_per_1k_tokens`, or, for a model with no known price, at UNPRICED_USD_PER_1K
        (never free)."""
        if self._litellm is None:
            self._litellm = import_litellm()
        prompt = (len(call.system) + len(call.user)) // 3 + 1
        completion = self.max_tokens or call.max_tokens
        return _price(self._litellm, self.model, self.usd_per_1k_tokens, prompt, completion)


def _retry_after(exc: Exception) -> float | None:
    """A 429's Retry-After in seconds (delta form), when the provider sent one."""
    # litellm keeps the provider's headers on `litellm_response_headers` (its `response`
    # is often a stand-in without them).
    response = getattr(exc, "response", None)
    headers = (
        getattr(exc, "litellm_response_headers", None)
        or getattr(response, "headers", None)
        or getattr(exc, "headers", None)
        or {}
    )
    try:
        value = float(headers.get("retry-after") or headers.get("Retry-After") or "")
    except (TypeError, ValueError, AttributeError):
        return None
    return value if 0 <= value <= 3600 else None


# Messages litellm and the OpenAI SDK give for a setup that can never work as is.
_CONFIG_HINTS = ("credential", "api_key", "api key", "llm provider not provided", "model not found")


def _map_error(name: str, exc: Exception, litellm: Any) -> LLMError:
    errors = litellm.exceptions
    status = getattr(exc, "status_code", None)
    summary = f"{name}: {type(exc).__name__}" + (f" {status}" if status else "")
    text = str(exc).lower()
    config_types = tuple(
        getattr(errors, n)
        for n in ("AuthenticationError", "PermissionDeniedError", "NotFoundError")
        if hasattr(errors, n)
    )
    if (
        isinstance(exc, config_types)
        or status in (401, 403, 404)
        or any(hint in text for hint in _CONFIG_HINTS)
    ):
        log.info("%s: %s", summary, str(exc)[:300])
        return LLMConfigurationError(
            f"{summary}: the model is misconfigured (credentials, model name or api_base): "
            f"{str(exc)[:160]}"
        )
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
    if temporary:
        return LLMTemporaryError(summary, retry_after=_retry_after(exc))
    return LLMError(summary)


LOCAL_DUMMY_KEY = "sk-local-no-key"
# A model litellm has no price for is charged at this rate against the plan budget (a
# conservative list price), unless its spec sets `usd_per_1k_tokens` (0 for a free one).
UNPRICED_USD_PER_1K = 0.015


def _price(
    litellm: Any, model: str, configured: float | None, prompt: int, completion: int
) -> float:
    if configured is not None:
        return configured * (prompt + completion) / 1000
    try:
        cost = litellm.cost_per_token(
            model=model, prompt_tokens=prompt, completion_tokens=completion
        )
        return float(sum(cost))
    except Exception:  # litellm raises for a model it has no price for
        return UNPRICED_USD_PER_1K * (prompt + completion) / 1000


def _cost(litellm: Any, response: Any, model: str, configured: float | None) -> float:
    usage = getattr(response, "usage", None)
    prompt = int(getattr(usage, "prompt_tokens", 0) or 0)
    completion = int(getattr(usage, "completion_tokens", 0) or 0)
    if configured is None:
        try:
            return float(litellm.completion_cost(completion_response=response) or 0.0)
        except Exception:
            pass  # no price known: not free, see UNPRICED_USD_PER_1K
    return _price(litellm, model, configured, prompt, completion)


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
                usd_per_1k_tokens=spec.usd_per_1k_tokens,
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
