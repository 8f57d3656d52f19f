"""A minimal server-sent events reader for tests and the bench (the wire format of the
WHATWG spec: `id:`, `event:`, `data:` lines, a blank line ends an event, `:` a comment)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import aiohttp


@dataclass
class SseEvent:
    id: str | None
    event: str
    data: Any


@dataclass
class SseReader:
    response: aiohttp.ClientResponse
    comments: list[str] = field(default_factory=list)

    async def next(self, timeout: float = 5.0) -> SseEvent:
        """The next event (comments are kept in `comments`)."""
        fields: dict[str, str] = {}
        while True:
            raw = await asyncio.wait_for(self.response.content.readline(), timeout)
            if not raw:
                raise EOFError("stream ended")
            line = raw.decode().rstrip("\n")
            if not line:
                if "data" in fields or "event" in fields:
                    data = fields.get("data", "")
                    return SseEvent(
                        fields.get("id"),
                        fields.get("event", "message"),
                        json.loads(data) if data else None,
                    )
                continue
            if line.startswith(":"):
                self.comments.append(line[1:].strip())
                continue
            name, _, value = line.partition(":")
            fields[name] = value[1:] if value.startswith(" ") else value

    async def take(self, count: int, timeout: float = 5.0) -> list[SseEvent]:
        """`count` events, or fewer when a `dropped` event ends the stream."""
        out: list[SseEvent] = []
        while len(out) < count:
            event = await self.next(timeout)
            out.append(event)
            if event.event == "dropped":
                break
        return out
