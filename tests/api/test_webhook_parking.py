"""A disabled endpoint keeps at most HERALD_EVENT_WEBHOOK_PARKED_MAX deliveries: the oldest
beyond go, and its enable reports how many in one audit event."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from storage.outbox import WEBHOOK_KIND
from tests.api.conftest import REQUEST, Api, idle_deliverer, running_app
from tests.api.receiver import Receiver
from tests.bot.fake_slack import FakeSlack

CAP = 3


@pytest.fixture
async def capped(fake: FakeSlack, tmp_path: Path) -> AsyncIterator[Api]:
    """An app whose disabled endpoints keep three deliveries; tests drive rounds."""
    extra = idle_deliverer(HERALD_EVENT_WEBHOOK_PARKED_MAX=str(CAP))
    async with running_app(fake, tmp_path, **extra) as api:
        yield api


async def _events(api: Api) -> list[Any]:
    return list(reversed(await api.service.history(limit=500)))


class TestParkedCap:
    async def test_oldest_dropped_counted_once_at_enable(
        self, capped: Api, receiver: Receiver, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Over the cap the oldest parked go (a warning once), the enable writes one
        `webhook.parked_dropped` with how many, and the newest kept arrive in order."""
        _, hook, _ = await capped.call(
            "POST", "/webhooks", who="approver", json={"url": receiver.url, "events": ["*"]}
        )
        receiver.secret, hook_id = hook["secret"], hook["id"]
        await capped.ctx.deliverer.run_once()
        await capped.call("POST", f"/webhooks/{hook_id}/disable", who="approver")
        with caplog.at_level(logging.WARNING, logger="herald.webhooks"):
            for _ in range(3):  # several rounds, each parking more than the cap allows
                for _ in range(2):
                    name = f"n{time.time_ns()}"
                    await capped.call("POST", "/distributions", json={**REQUEST, "name": name})
                await capped.ctx.deliverer.run_once()
        assert sum("dropped from now" in r.getMessage() for r in caplog.records) == 1
        parked = await capped.ctx.stores.outbox.due(
            capped.clock.now() + timedelta(days=3651), kind_prefix=WEBHOOK_KIND + hook_id
        )
        assert len(parked) == CAP
        events = await _events(capped)
        disabled = next(i for i, e in enumerate(events) if e.kind == "webhook.disabled")
        meanwhile = events[disabled:]
        kept = [e.id for e in meanwhile[-CAP:]]
        assert [item.payload["event"]["id"] for item in parked] == kept
        assert "webhook.parked_dropped" not in {e.kind for e in events}

        _, enabled, _ = await capped.call("POST", f"/webhooks/{hook_id}/enable", who="approver")
        assert enabled["requeued"] == CAP
        dropped = [e for e in await _events(capped) if e.kind == "webhook.parked_dropped"]
        assert len(dropped) == 1
        assert dropped[0].data["dropped"] == len(meanwhile) - CAP
        for _ in range(5):
            capped.clock.advance(timedelta(minutes=1))
            await capped.ctx.deliverer.run_once()
        got = [e["id"] for e in sorted(receiver.received, key=lambda e: e["seq"])]
        assert got[-CAP - 2 : -2] == kept  # then webhook.enabled and webhook.parked_dropped

    async def test_count_starts_over_after_enable(self, capped: Api, receiver: Receiver) -> None:
        """A second disable reports only what it dropped, not the first one's count."""
        _, hook, _ = await capped.call(
            "POST", "/webhooks", who="approver", json={"url": receiver.url, "events": ["*"]}
        )
        receiver.secret, hook_id = hook["secret"], hook["id"]
        for rounds in (2, 1):
            await capped.call("POST", f"/webhooks/{hook_id}/disable", who="approver")
            for _ in range(rounds * 4):
                name = f"n{time.time_ns()}"
                await capped.call("POST", "/distributions", json={**REQUEST, "name": name})
            await capped.ctx.deliverer.run_once()
            await capped.call("POST", f"/webhooks/{hook_id}/enable", who="approver")
            for _ in range(3):
                capped.clock.advance(timedelta(minutes=1))
                await capped.ctx.deliverer.run_once()
        counts = [
            e.data["dropped"] for e in await _events(capped) if e.kind == "webhook.parked_dropped"
        ]
        assert len(counts) == 2 and counts[0] > counts[1] > 0
