"""A short-lived, single-flight cache of status reads shared by every Slack surface.

`/herald status`, the Home tab, plain-language questions and the status line all ask
`service.status(key)`, which counts a distribution's slots: on a 10 000-slot run that is
~100 ms of CPU on the event loop. Chat views can be a second or two old, so one read per
distribution per `ttl` seconds serves everyone, and concurrent askers share one read.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any


class StatusCache:
    """`status(key)` through `service.status`, reused for `ttl` seconds."""

    def __init__(self, service: Any, *, ttl: float = 2.0) -> None:
        self._service = service
        self.ttl = ttl
        self._values: dict[str, tuple[float, Any]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def status(self, key: str, *, fresh: bool = False) -> Any:
        """The StatusView of `key` (id or name), at most `ttl` seconds old unless `fresh`."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            cached = self._values.get(key)
            if not fresh and cached is not None and time.monotonic() - cached[0] < self.ttl:
                return cached[1]
            view = await self._service.status(key)
            self._values[key] = (time.monotonic(), view)
            if len(self._values) > 1000:  # forget the oldest half; keys are few in practice
                for old in sorted(self._values, key=lambda k: self._values[k][0])[:500]:
                    self._values.pop(old, None)
            return view

    def forget(self, key: str) -> None:
        """Drop `key` (after a change the asker must see at once)."""
        self._values.pop(key, None)
