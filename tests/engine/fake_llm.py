"""In-process LLM clients for logic tests: scripted answers, delays and errors."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

from engine.ports import LLMCall, LLMReply

Step = str | dict[str, Any] | BaseException


class ScriptedClient:
    """Answers each call with the next step of its script (the last one repeats).

    A step is JSON text, a dict (sent as JSON) or an exception to raise; `delay` is slept
    before every answer. Every call is kept in `calls`.
    """

    def __init__(
        self,
        name: str,
        script: Sequence[Step],
        *,
        weight: float = 1.0,
        delay: float = 0.0,
        cost: float = 0.001,
        timeout: float | None = None,
    ) -> None:
        self.name = name
        self.weight = weight
        self.delay = delay
        self.cost = cost
        self.script = list(script)
        self.calls: list[LLMCall] = []
        if timeout is not None:
            self.timeout = timeout

    async def complete(self, call: LLMCall, *, timeout: float) -> LLMReply:
        self.calls.append(call)
        step = self.script[min(len(self.calls), len(self.script)) - 1]
        await asyncio.sleep(self.delay)
        if isinstance(step, BaseException):
            raise step
        text = step if isinstance(step, str) else json.dumps(step)
        return LLMReply(self.name, text, self.delay, 100, 50, self.cost)
