"""Local fake LLM providers for tests and the benchmark: one aiohttp app on 127.0.0.1.

It speaks OpenAI's `/v1/chat/completions` and Anthropic's `/v1/messages`. What each model
answers is scripted per model name: JSON, garbage, a delay, a hang, or an HTTP status.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web


@dataclass(frozen=True)
class Behaviour:
    """One scripted answer: `body` (a dict is sent as JSON text), or an HTTP `status`
    error, after `delay` seconds; `hang` never answers."""

    body: Any = None
    status: int = 200
    delay: float = 0.0
    hang: bool = False
    retry_after: int | None = None


def reply(body: Any, delay: float = 0.0) -> Behaviour:
    return Behaviour(body=body, delay=delay)


def error(status: int, retry_after: int | None = None) -> Behaviour:
    return Behaviour(status=status, retry_after=retry_after)


def hang() -> Behaviour:
    return Behaviour(hang=True)


class FakeLLMServer:
    """Scripted per model name; the last behaviour of a script repeats.

    Every request body is kept in `requests` (model, path, payload) for assertions.
    """

    def __init__(self) -> None:
        self.scripts: dict[str, list[Behaviour]] = {}
        self.counts: dict[str, int] = {}
        self.requests: list[tuple[str, str, dict[str, Any]]] = []
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.port = 0

    def script(self, model: str, *behaviours: Behaviour) -> None:
        self.scripts[model] = list(behaviours)
        self.counts[model] = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> FakeLLMServer:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._openai)
        app.router.add_post("/chat/completions", self._openai)
        app.router.add_post("/v1/messages", self._anthropic)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _next(self, path: str, request: web.Request) -> tuple[str, dict[str, Any], Any]:
        payload = await request.json()
        model = str(payload.get("model", ""))
        self.requests.append((model, path, payload))
        script = self.scripts.get(model) or [error(404)]
        index = min(self.counts.get(model, 0), len(script) - 1)
        self.counts[model] = self.counts.get(model, 0) + 1
        behaviour = script[index]
        if behaviour.hang:
            await asyncio.sleep(3600)
        if behaviour.delay:
            await asyncio.sleep(behaviour.delay)
        return model, payload, behaviour

    @staticmethod
    def _error(behaviour: Behaviour) -> web.Response:
        headers = {"Retry-After": str(behaviour.retry_after)} if behaviour.retry_after else None
        body = {"error": {"message": f"scripted {behaviour.status}", "type": "scripted"}}
        return web.json_response(body, status=behaviour.status, headers=headers)

    @staticmethod
    def _text(body: Any) -> str:
        return body if isinstance(body, str) else json.dumps(body)

    async def _openai(self, request: web.Request) -> web.Response:
        model, _, behaviour = await self._next("openai", request)
        if behaviour.status != 200:
            return self._error(behaviour)
        text = self._text(behaviour.body)
        return web.json_response(
            {
                "id": f"chatcmpl-{next(self._ids)}",
                "object": "chat.completion",
                "created": 1764000000,
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 120, "completion_tokens": 80, "total_tokens": 200},
            }
        )

    async def _anthropic(self, request: web.Request) -> web.Response:
        model, payload, behaviour = await self._next("anthropic", request)
        if behaviour.status != 200:
            return self._error(behaviour)
        tools = payload.get("tools") or []
        if tools and not isinstance(behaviour.body, str):
            # litellm sends response_format as a tool; a real Claude answers by calling it.
            content = [
                {
                    "type": "tool_use",
                    "id": f"toolu_{next(self._ids)}",
                    "name": tools[0]["name"],
                    "input": behaviour.body,
                }
            ]
            stop = "tool_use"
        else:
            content = [{"type": "text", "text": self._text(behaviour.body)}]
            stop = "end_turn"
        return web.json_response(
            {
                "id": f"msg_{next(self._ids)}",
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": content,
                "stop_reason": stop,
                "stop_sequence": None,
                "usage": {"input_tokens": 110, "output_tokens": 70},
            }
        )
