"""Alerts that cannot reach HERALD_ALERTS_CHANNEL (Herald was never invited): the
approvers get one DM saying what to do, once a day, not one per alert."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.api.conftest import REQUEST, Api, idle_deliverer, running_app
from tests.api.receiver import Receiver, running_receiver
from tests.bot.conftest import ALERTS, APPROVER, Harness
from tests.bot.fake_slack import FakeSlack
from tests.bot.support import risk_alert, run_spring

DM = "D" + APPROVER  # the fake's DM channel with the approver


def _told(fake: FakeSlack) -> list[str]:
    return [m.text for m in fake.channel_messages(DM) if "/invite @Herald" in m.text]


class TestAlertsChannelAccess:
    async def test_approver_told_once_a_day_not_per_alert(
        self, fake: FakeSlack, harness: Harness
    ) -> None:
        """Two risk alerts refused with not_in_channel: one DM naming the channel and the
        fix; the next day's refusal tells again."""
        h = harness
        dist_id = await run_spring(h)
        fake.not_member.add(ALERTS)
        await h.notifier.notify(risk_alert(dist_id))
        await h.notifier.notify(risk_alert(dist_id))
        await h.settle()
        assert not fake.channel_messages(ALERTS)
        assert fake.rejected.count(("chat.postMessage", "not_in_channel")) >= 2
        told = _told(fake)
        assert len(told) == 1 and f"<#{ALERTS}>" in told[0]
        assert "Risk alerts for" in told[0]  # the alert that was lost
        h.clock.advance(timedelta(days=1))
        await h.notifier.notify(risk_alert(dist_id))
        await h.settle()
        assert len(_told(fake)) == 2

    async def test_member_channel_tells_nobody(self, harness: Harness, fake: FakeSlack) -> None:
        """Alerts that reach the channel send no DM."""
        dist_id = await run_spring(harness)
        await harness.notifier.notify(risk_alert(dist_id))
        await harness.settle()
        assert fake.channel_messages(ALERTS) and not _told(fake)


@pytest.fixture
async def hooked(fake: FakeSlack, tmp_path: Path) -> AsyncIterator[Api]:
    """An app on a SQLite file (alerts claimed there); webhooks disabled after an hour."""
    extra = idle_deliverer(HERALD_EVENT_WEBHOOK_DISABLE_AFTER_HOURS="1")
    async with running_app(fake, tmp_path, **extra) as api:
        yield api


class TestWebhookAlert:
    async def test_disabled_webhook_alert_tells_the_approver(
        self, hooked: Api, fake: FakeSlack
    ) -> None:
        """The webhook-disabled alert refused by Slack reaches the approver as one DM (the
        claim in the shared database holds it to one)."""
        async with running_receiver() as receiver:
            await self._fail_a_webhook_for_hours(hooked, receiver, fake)

    async def _fail_a_webhook_for_hours(
        self, hooked: Api, receiver: Receiver, fake: FakeSlack
    ) -> None:
        fake.not_member.add(ALERTS)
        _, hook, _ = await hooked.call(
            "POST", "/webhooks", who="approver", json={"url": receiver.url, "events": ["*"]}
        )
        receiver.secret, receiver.up = hook["secret"], False
        for _ in range(3):
            hooked.clock.advance(timedelta(hours=1))
            name = f"n{time.time_ns()}"
            await hooked.call("POST", "/distributions", json={**REQUEST, "name": name})
            await hooked.ctx.deliverer.run_once()
        told = _told(fake)
        assert len(told) == 1 and hook["id"] in told[0]
        assert not fake.channel_messages(ALERTS)
