"""Outbound webhooks: signed deliveries a receiver verifies, at least once through the
persisted outbox (a receiver down for a while gets everything after), and an endpoint
failing for a day is disabled with one Slack alert."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.cli.api import webhooks as webhooks_cli
from engine.models import SYSTEM
from storage.outbox import WEBHOOK_KIND
from tests.api.conftest import REQUEST, Api, idle_deliverer, running_app
from tests.api.receiver import Receiver
from tests.bot.conftest import ALERTS, APPROVER
from tests.bot.fake_slack import FakeSlack


@pytest.fixture
async def hooked(fake: FakeSlack, tmp_path: Path) -> AsyncIterator[Api]:
    """An app whose background deliverer stays idle: tests drive rounds themselves."""
    async with running_app(fake, tmp_path, **idle_deliverer()) as api:
        yield api


async def _subscribe(api: Api, receiver: Receiver, events: list[str]) -> str:
    status, hook, _ = await api.call(
        "POST", "/webhooks", who="approver", json={"url": receiver.url, "events": events}
    )
    assert status == 201, hook
    receiver.secret = hook["secret"]
    return str(hook["id"])


class TestDelivery:
    async def test_signed_deliveries_of_subscribed_kinds(
        self, hooked: Api, receiver: Receiver
    ) -> None:
        """Only subscribed kinds are delivered, each signed; the secret is never listed."""
        await _subscribe(hooked, receiver, ["distribution.created", "distribution.planned"])
        _, d, _ = await hooked.call("POST", "/distributions", json=REQUEST)
        await hooked.call("POST", f"/distributions/{d['id']}/plan")
        await hooked.call("POST", f"/distributions/{d['id']}/simulate")
        assert await hooked.ctx.deliverer.run_once() == 2
        # Deliveries run concurrently, so they may arrive in any order; `seq` orders them.
        delivered = sorted(receiver.received, key=lambda e: e["seq"])
        assert [e["kind"] for e in delivered] == [
            "distribution.created",
            "distribution.planned",
        ]
        assert receiver.bad_signatures == 0
        assert receiver.received[0]["distribution_id"] == d["id"]
        _status, listed, _ = await hooked.call("GET", "/webhooks", who="approver")
        assert listed[0]["delivered"] == 2 and listed[0]["secret"] is None
        assert await hooked.ctx.deliverer.run_once() == 0  # nothing twice

    async def test_concurrent_rounds_post_each_delivery_once(
        self, hooked: Api, receiver: Receiver
    ) -> None:
        """Rounds running at once (replicas) claim deliveries: none is posted twice."""
        await _subscribe(hooked, receiver, ["*"])
        for i in range(5):
            await hooked.call("POST", "/distributions", json={**REQUEST, "name": f"n{i}"})
        rounds = [hooked.ctx.deliverer.run_once() for _ in range(4)]
        assert sum(await asyncio.gather(*rounds)) == 6  # webhook.added and 5 creates
        assert len(receiver.received) == 6 == len(set(receiver.delivery_ids))

    async def test_operator_cannot_manage_webhooks(self, hooked: Api, receiver: Receiver) -> None:
        """Adding an endpoint needs the approve scope (and an approver)."""
        status, _problem, _ = await hooked.call(
            "POST", "/webhooks", json={"url": receiver.url, "events": ["*"]}
        )
        assert status == 403

    async def test_receiver_down_gets_everything_afterwards(
        self, hooked: Api, receiver: Receiver
    ) -> None:
        """Deliveries that failed while the receiver was down are retried with backoff and
        all arrive, in order, once it is back."""
        await _subscribe(hooked, receiver, ["*"])
        receiver.up = False
        _status, d, _ = await hooked.call("POST", "/distributions", json=REQUEST)
        await hooked.call("POST", f"/distributions/{d['id']}/plan")
        assert await hooked.ctx.deliverer.run_once() == 0
        for _ in range(3):  # down for a while: every attempt fails, backing off
            hooked.clock.advance(timedelta(minutes=5))
            await hooked.call("POST", f"/distributions/{d['id']}/simulate")
            assert await hooked.ctx.deliverer.run_once() == 0
        receiver.up = True
        hooked.clock.advance(timedelta(hours=1))
        delivered = 0
        for _ in range(5):
            delivered += await hooked.ctx.deliverer.run_once()
        kinds = [e["kind"] for e in receiver.received]
        history = [e.kind for e in reversed(await hooked.service.history(limit=100))]
        expected = history[history.index("webhook.added") :]  # from the subscription on
        assert delivered == len(expected) == len(kinds)
        assert sorted(kinds) == sorted(expected)
        assert len(set(receiver.delivery_ids)) == len(receiver.delivery_ids)
        seqs = sorted(e["seq"] for e in receiver.received)
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))

    async def test_failing_for_a_day_is_disabled_with_one_alert(
        self, hooked: Api, receiver: Receiver, fake: FakeSlack
    ) -> None:
        """After a day of failures the endpoint is disabled once, with one alert in Slack."""
        hook_id = await _subscribe(hooked, receiver, ["*"])
        receiver.up = False
        await hooked.call("POST", "/distributions", json=REQUEST)
        for _ in range(30):
            hooked.clock.advance(timedelta(hours=1))
            await hooked.call(
                "POST", "/distributions", json={**REQUEST, "name": f"n{time.time_ns()}"}
            )
            await hooked.ctx.deliverer.run_once()
        _status, listed, _ = await hooked.call("GET", "/webhooks", who="approver")
        assert listed[0]["id"] == hook_id and listed[0]["enabled"] is False
        alerts = [m for m in fake.channel_messages(ALERTS) if hook_id in m.text]
        assert len(alerts) == 1 and "disabled" in alerts[0].text
        kinds = [e.kind for e in await hooked.service.history(limit=200)]
        assert kinds.count("webhook.disabled") == 1
        disabled = next(
            e for e in await hooked.service.history(limit=200) if e.kind == "webhook.disabled"
        )
        assert disabled.actor == SYSTEM.id and disabled.data["error"] == "HTTP 503"
        assert disabled.data["parked"] >= 1
        # Fixed and enabled again (the CLI): every delivery kept meanwhile arrives.
        receiver.up = True
        await _cli(hooked, "enable", hook_id, user=APPROVER)
        await _drain(hooked)
        _assert_everything_since_subscription(hooked_history := await _history(hooked), receiver)
        assert "webhook.enabled" in [e["kind"] for e in hooked_history]


async def _cli(api: Api, action: str, hook_id: str, *, user: str) -> None:
    args = argparse.Namespace(action=action, webhook_id=hook_id, user=user)
    await webhooks_cli(args, api.ctx.webhooks, api.clock.now())


async def _drain(api: Api) -> int:
    delivered = 0
    for _ in range(10):
        api.clock.advance(timedelta(minutes=1))
        delivered += await api.ctx.deliverer.run_once()
    return delivered


async def _history(api: Api) -> list[dict[str, Any]]:
    return [
        {"kind": e.kind, "actor": e.actor, "data": e.data}
        for e in reversed(await api.service.history(limit=500))
    ]


def _assert_everything_since_subscription(
    history: list[dict[str, Any]], receiver: Receiver
) -> None:
    """Every event from the subscription on arrived once (seq contiguous), verified."""
    kinds = [e["kind"] for e in history]
    expected = kinds[kinds.index("webhook.added") :]
    got = sorted(receiver.received, key=lambda e: e["seq"])
    assert receiver.bad_signatures == 0
    assert len(set(receiver.delivery_ids)) == len(receiver.delivery_ids)
    seqs = [e["seq"] for e in got]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    assert [e["kind"] for e in got] == expected


class TestDisableEnable:
    async def test_deliveries_kept_while_disabled_all_arrive_after_enable(
        self, hooked: Api, receiver: Receiver
    ) -> None:
        """Pending deliveries are parked by a disable, events meanwhile are kept too, and
        the enable sends them all, due in their original (seq) order, to a receiver that
        verifies every signature."""
        hook_id = await _subscribe(hooked, receiver, ["*"])
        _status, d, _ = await hooked.call("POST", "/distributions", json=REQUEST)
        assert await hooked.ctx.deliverer.run_once() == 2  # webhook.added, the create
        receiver.up = False
        await hooked.call("POST", f"/distributions/{d['id']}/plan")
        assert await hooked.ctx.deliverer.run_once() == 0  # failed: waiting for its retry
        status, changed, _ = await hooked.call(
            "POST", f"/webhooks/{hook_id}/disable", who="approver"
        )
        assert status == 200 and changed["changed"] is True
        for _ in range(3):  # while disabled: kept, never attempted
            await hooked.call("POST", f"/distributions/{d['id']}/simulate")
        asked = receiver.requests
        assert await _drain(hooked) == 0 and receiver.requests == asked
        receiver.up = True
        status, changed, _ = await hooked.call(
            "POST", f"/webhooks/{hook_id}/enable", who="approver"
        )
        assert status == 200 and changed["requeued"] >= 5
        due = await hooked.ctx.stores.outbox.due(
            hooked.clock.now(), kind_prefix=WEBHOOK_KIND + hook_id
        )
        seqs = [item.payload["event"]["seq"] for item in due]
        assert seqs == sorted(seqs) and len(seqs) == changed["requeued"]
        await _drain(hooked)
        _assert_everything_since_subscription(await _history(hooked), receiver)

    async def test_enable_of_an_enabled_endpoint_changes_nothing(
        self, hooked: Api, receiver: Receiver
    ) -> None:
        """Enabling an enabled endpoint (or disabling a disabled one) writes no event."""
        hook_id = await _subscribe(hooked, receiver, ["*"])
        _, changed, _ = await hooked.call("POST", f"/webhooks/{hook_id}/enable", who="approver")
        assert changed["changed"] is False
        await hooked.call("POST", f"/webhooks/{hook_id}/disable", who="approver")
        _, again, _ = await hooked.call("POST", f"/webhooks/{hook_id}/disable", who="approver")
        assert again["changed"] is False
        kinds = [e["kind"] for e in await _history(hooked)]
        assert kinds.count("webhook.enabled") == 0 and kinds.count("webhook.disabled") == 1

    async def test_unknown_endpoint_is_404(self, hooked: Api) -> None:
        """Enabling, disabling or removing an unknown endpoint is a 404 naming it."""
        for method, path in (
            ("POST", "/webhooks/wh-nope/enable"),
            ("POST", "/webhooks/wh-nope/disable"),
            ("DELETE", "/webhooks/wh-nope"),
        ):
            status, problem, _ = await hooked.call(method, path, who="approver")
            assert status == 404 and "wh-nope" in problem["detail"], (path, problem)


class TestAudit:
    async def test_every_change_is_audited_with_its_actor_never_a_secret(
        self, hooked: Api, receiver: Receiver
    ) -> None:
        """Add, disable, enable and remove each write one event naming the approver and
        the token they used; no event carries the signing secret or the URL's password
        or query."""
        url = receiver.url.replace("http://", "http://hook:s3cr3t-pw@") + "?key=q-s3cr3t"
        status, hook, _ = await hooked.call(
            "POST", "/webhooks", who="approver", json={"url": url, "events": ["*"]}
        )
        assert status == 201
        hook_id = hook["id"]
        await hooked.call("POST", f"/webhooks/{hook_id}/disable", who="approver")
        await hooked.call("POST", f"/webhooks/{hook_id}/enable", who="approver")
        await hooked.call("DELETE", f"/webhooks/{hook_id}", who="approver")
        token_id = hooked.tokens["approver"].split("_")[1]
        changes = [e for e in await _history(hooked) if e["kind"].startswith("webhook.")]
        assert [e["kind"] for e in changes] == [
            "webhook.added",
            "webhook.disabled",
            "webhook.enabled",
            "webhook.removed",
        ]
        for change in changes:
            assert change["actor"] == APPROVER and change["data"]["via"] == token_id
            assert change["data"]["webhook"] == hook_id
        text = json.dumps(changes)
        for secret in (hook["secret"], "s3cr3t-pw", "q-s3cr3t", "whsec_"):
            assert secret not in text
        assert changes[0]["data"]["url"].endswith("/…?key=…")

    async def test_cli_changes_are_audited(self, hooked: Api, receiver: Receiver) -> None:
        """`herald webhooks disable|enable|remove --as U...` records that user."""
        hook_id = await _subscribe(hooked, receiver, ["*"])
        for action in ("disable", "enable", "remove"):
            await _cli(hooked, action, hook_id, user="U_CLI")
        changes = [e for e in await _history(hooked) if e["kind"].startswith("webhook.")][1:]
        assert [(e["kind"], e["actor"]) for e in changes] == [
            ("webhook.disabled", "U_CLI"),
            ("webhook.enabled", "U_CLI"),
            ("webhook.removed", "U_CLI"),
        ]
