"""The bot's view of the persisted outbox (implemented in `storage.outbox`).

Slack messages that could not be delivered wait there and are re-sent when Slack is back;
the same store remembers Events API `event_id`s so a redelivered event runs only once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol


class Outbox(Protocol):
    """A durable queue of undelivered Slack calls, plus a seen-event log."""

    async def enqueue(self, kind: str, payload: dict[str, Any]) -> int:
        """Store one call (`kind` is the Web API method); returns its id."""
        ...

    async def due(self, now: datetime, limit: int) -> Sequence[Any]:
        """Entries whose next attempt is due, oldest first (each has id, kind, payload)."""
        ...

    async def mark_sent(self, id: int, now: datetime) -> None:
        """The entry was delivered."""
        ...

    async def mark_failed(self, id: int, error: str, next_attempt_at: datetime) -> None:
        """The entry failed again; try it next at `next_attempt_at`."""
        ...

    async def seen_event(self, event_id: str, now: datetime) -> bool:
        """Record `event_id`; True when it had been seen before (a redelivery)."""
        ...

    async def remember_message(self, key: str, channel: str, ts: str) -> None:
        """Keep where a long-lived message (status line, alert thread) is."""
        ...

    async def prune(self, before: datetime) -> int:
        """Forget delivered entries and seen event ids older than `before`; how many."""
        ...

    async def close(self) -> None:
        """Release connections (an in-memory outbox has none)."""
        ...

    async def find_message(self, key: str) -> tuple[str, str] | None:
        """(channel, ts) remembered under `key`, if any."""
        ...

    async def find_key(self, channel: str, ts: str, *, prefix: str) -> str | None:
        """The key starting with `prefix` under which (channel, ts) is remembered, if any
        (which distribution a thread belongs to)."""
        ...


def entry_field(entry: Any, name: str) -> Any:
    """Read `name` from an outbox entry, whether it is a mapping or an object."""
    if isinstance(entry, dict):
        return entry[name]
    return getattr(entry, name)
