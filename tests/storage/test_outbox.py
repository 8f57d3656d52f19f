"""The Slack outbox contract, on memory, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from engine.errors import StorageError
from tests.storage.factories import T0


class TestOutbox:
    async def test_enqueue_then_due(self, outbox: Any) -> None:
        """Enqueued items are due at once, oldest first, with their payload intact."""
        first = await outbox.enqueue("chat.postMessage", {"channel": "C1", "text": "a"}, now=T0)
        second = await outbox.enqueue("chat.update", {"ts": "1.2", "blocks": [1, 2]}, now=T0)
        items = await outbox.due(T0, 10)
        assert [i.id for i in items] == [first, second]
        assert items[0].kind == "chat.postMessage"
        assert items[1].payload == {"ts": "1.2", "blocks": [1, 2]}
        assert items[0].created_at == T0
        assert await outbox.due(T0, 1) == items[:1]

    async def test_mark_sent_removes_from_due(self, outbox: Any) -> None:
        """A sent item is never due again."""
        item_id = await outbox.enqueue("chat.postMessage", {"text": "x"}, now=T0)
        await outbox.mark_sent(item_id, T0 + timedelta(seconds=1))
        assert await outbox.due(T0 + timedelta(days=1), 10) == []

    async def test_mark_failed_reschedules(self, outbox: Any) -> None:
        """A failed item counts the attempt, keeps the error and waits until its next time."""
        item_id = await outbox.enqueue("chat.postMessage", {"text": "x"}, now=T0)
        retry_at = T0 + timedelta(minutes=5)
        await outbox.mark_failed(item_id, "ratelimited", retry_at)
        assert await outbox.due(T0 + timedelta(minutes=4), 10) == []
        (item,) = await outbox.due(retry_at, 10)
        assert (item.attempts, item.last_error, item.next_attempt_at) == (
            1,
            "ratelimited",
            retry_at,
        )

    async def test_seen_event_is_atomic(self, outbox: Any) -> None:
        """Of many concurrent deliveries of one event id, exactly one is new."""
        results = await asyncio.gather(*(outbox.seen_event("Ev1", T0) for _ in range(10)))
        assert results.count(False) == 1
        assert await outbox.seen_event("Ev1", T0) is True
        assert await outbox.seen_event("Ev2", T0) is False

    async def test_prune_forgets_old_entries(self, outbox: Any) -> None:
        """prune drops sent items and seen events older than the cut-off, nothing else."""
        sent = await outbox.enqueue("a", {}, now=T0)
        pending = await outbox.enqueue("b", {}, now=T0)
        await outbox.mark_sent(sent, T0)
        await outbox.seen_event("old", T0)
        await outbox.seen_event("new", T0 + timedelta(days=2))
        assert await outbox.prune(T0 + timedelta(days=1)) == 2
        assert [i.id for i in await outbox.due(T0 + timedelta(days=3), 10)] == [pending]
        assert await outbox.seen_event("old", T0) is False
        assert await outbox.seen_event("new", T0) is True

    async def test_payload_must_be_json(self, outbox: Any) -> None:
        """A payload that is not JSON raises StorageError."""
        with pytest.raises(StorageError):
            await outbox.enqueue("a", {"when": T0}, now=T0)


class TestMessageRefs:
    async def test_remember_find_and_replace(self, outbox: Any) -> None:
        """A message's place is found under its key; remembering again replaces it."""
        assert await outbox.find_message("status:d-1") is None
        await outbox.remember_message("status:d-1", "C1", "111.1")
        assert await outbox.find_message("status:d-1") == ("C1", "111.1")
        await outbox.remember_message("status:d-1", "C1", "222.2")
        assert await outbox.find_message("status:d-1") == ("C1", "222.2")
        assert await outbox.find_message("alerts:d-1") is None

    async def test_find_key_by_message(self, outbox: Any) -> None:
        """A thread's parent message leads back to its key (which card a thread is under)."""
        await outbox.remember_message("status:d-1", "C1", "111.1")
        await outbox.remember_message("card:d-1", "C1", "100.1")
        await outbox.remember_message("card:d-2", "C2", "100.1")
        assert await outbox.find_key("C1", "100.1", prefix="card:") == "card:d-1"
        assert await outbox.find_key("C2", "100.1", prefix="card:") == "card:d-2"
        assert await outbox.find_key("C1", "111.1", prefix="card:") is None
        assert await outbox.find_key("C9", "100.1", prefix="card:") is None
