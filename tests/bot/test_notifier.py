"""SlackNotifier: one status message edited in place, failure replies, alerts, 429s, outbox."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from bot.slack import ids
from engine.models import SYSTEM, DistributionStatus, Event, SlotStatus
from tests.bot.conftest import ALERTS, APPROVER, CHANNEL, Harness, start_harness
from tests.bot.fake_slack import FakeSlack
from tests.bot.support import create_and_plan, risk_alert, run_spring


class TestStatusLine:
    async def test_edits_are_throttled_and_coalesced(self, fake: FakeSlack) -> None:
        """A burst of slot events within the interval becomes at most two edits; the
        coalesced one goes out when the injected clock passes the interval."""
        h, runner = await start_harness(fake)
        try:
            await run_spring(h)
            # Measured on the injected clock: wall time alone never lets an edit through.
            h.notifier.status_interval = 30.0
            before = fake.count("chat.update")
            # A plan without gaps, so its late posts may go out in one burst (catch-up
            # spacing keeps gaps only where the plan has them).
            spring = await h.service.resolve("spring")
            async with h.deps.herald.repository.unit_of_work() as uow:
                d = await uow.get_distribution(spring.id)
                d.request = d.request.model_copy(
                    update={"min_gap_minutes": 0.0, "duplicate_gap_minutes": 0.0}
                )
                await uow.save_distribution(d)
            h.clock.advance(timedelta(hours=12))  # every slot is due: one burst
            for _ in range(20):
                await h.deps.herald.dispatcher.tick()
                if await h.deps.herald.repository.next_due_at() is None:
                    break
            await h.notifier.idle(timeout=10, edits=False)
            status = await h.service.status("spring")
            assert status.published == 12, status.counts
            # The last events of the burst wait for the interval, still unsent.
            assert fake.count("chat.update") - before <= 2
            h.clock.advance(timedelta(seconds=31))
            await h.settle()
            edits = fake.count("chat.update") - before
            status_lines = [
                m for m in fake.thread(CHANNEL, h.card().ts) if ids.STATUS_BLOCK in str(m.blocks)
            ]
            assert len(status_lines) == 1 and "COMPLETED" in status_lines[0].all_text()
            assert 1 <= edits <= 3, f"{edits} chat.update calls for 12 slot events"
        finally:
            await h.driver.close()
            await h.notifier.close()
            await runner.cleanup()


class TestFailures:
    async def test_failed_slot_gets_a_reply_with_retry_and_skip(self, fake: FakeSlack) -> None:
        """A permanently failing post gets a thread reply; Skip marks it skipped."""
        h, runner = await start_harness(
            fake, HERALD_SIMULATED_FAILURE_RATES="unknown=1.0", HERALD_MAX_REDISTRIBUTIONS="0"
        )
        try:
            await run_spring(h)
            h.clock.advance(timedelta(hours=3))
            await h.deps.herald.dispatcher.tick()
            await h.settle(until=lambda: any(ids.SKIP_SLOT in m.all_text() for m in fake.messages))
            reply = next(m for m in fake.messages if ids.SKIP_SLOT in m.all_text())
            assert (
                reply.thread_ts == h.card().ts and "failed" in reply.text.lower() + reply.all_text()
            )
            slot_id = json.loads(reply.action_values(ids.SKIP_SLOT)[0])["s"]
            await h.driver.click(reply, ids.SKIP_SLOT, user=APPROVER)
            await h.settle(until=lambda: "Skipped by" in fake.get(CHANNEL, reply.ts).all_text())
            slots = {s.id: s for s in await h.service.progress("spring")}
            assert slots[slot_id].status == SlotStatus.SKIPPED
        finally:
            await h.driver.close()
            await h.notifier.close()
            await runner.cleanup()


class TestAutoPause:
    async def test_auto_pause_alert_then_continue(self, fake: FakeSlack) -> None:
        """When every publish fails the run auto-pauses and alerts; Continue resumes it."""
        h, runner = await start_harness(
            fake, HERALD_SIMULATED_FAILURE_RATES="unknown=1.0", HERALD_MAX_REDISTRIBUTIONS="0"
        )
        try:
            dist_id = await run_spring(h)
            # A plan without gaps, so the late posts may all go out in one tick (catch-up
            # spacing keeps gaps only where the plan has them; tests/engine/test_catch_up.py).
            async with h.deps.herald.repository.unit_of_work() as uow:
                d = await uow.get_distribution(dist_id)
                d.request = d.request.model_copy(
                    update={"min_gap_minutes": 0.0, "duplicate_gap_minutes": 0.0}
                )
                await uow.save_distribution(d)
            h.clock.advance(timedelta(hours=3))
            await h.deps.herald.dispatcher.tick()
            await h.settle(until=lambda: fake.channel_messages(ALERTS))
            await h.settle()
            assert (await h.service.resolve(dist_id)).status == DistributionStatus.PAUSED
            alert = fake.thread(ALERTS, fake.channel_messages(ALERTS)[0].ts)[0]
            assert "paused automatically" in alert.all_text()
            await h.driver.click(alert, ids.CONTINUE, user=APPROVER)
            await h.settle(until=lambda: "Continued by" in fake.get(ALERTS, alert.ts).all_text())
            assert (await h.service.resolve(dist_id)).status != DistributionStatus.PAUSED
        finally:
            await h.driver.close()
            await h.notifier.close()
            await runner.cleanup()


class TestAlerts:
    async def test_risk_alert_threads_in_alerts_channel_and_halt(self, harness: Harness) -> None:
        """A risk alert opens a thread per distribution in the alerts channel; Halt halts."""
        h = harness
        dist_id = await run_spring(h)
        await h.notifier.notify(risk_alert(dist_id))
        await h.notifier.notify(risk_alert(dist_id))
        await h.settle()
        parents = fake_parents = h.fake.channel_messages(ALERTS)
        assert len(parents) == 1, "one thread per distribution"
        alerts = h.fake.thread(ALERTS, fake_parents[0].ts)
        assert len(alerts) == 2 and "Critical risk" in alerts[0].all_text()
        await h.driver.click(alerts[0], ids.HALT, user="U_OP")  # operators may not halt
        await h.settle(until=lambda: "cannot" in h.fake.responses_text())
        assert (await h.service.resolve(dist_id)).status == DistributionStatus.EXECUTING
        await h.driver.click(alerts[0], ids.HALT, user=APPROVER)
        await h.settle(until=lambda: "Halted by" in h.fake.get(ALERTS, alerts[0].ts).all_text())
        assert (await h.service.resolve(dist_id)).status == DistributionStatus.HALTED
        assert "Halted" in h.card().all_text()


class TestDelivery:
    async def test_429_retry_after_is_honoured(self, harness: Harness) -> None:
        """A 429 with Retry-After is retried after the wait and the message arrives once."""
        h = harness
        h.fake.fail("chat.postMessage", times=1, retry_after=1)
        started = asyncio.get_running_loop().time()
        await h.notifier.post(channel=CHANNEL, text="hello")
        waited = asyncio.get_running_loop().time() - started
        assert waited >= 0.9
        assert [m.text for m in h.fake.messages] == ["hello"]

    async def test_undeliverable_goes_to_outbox_and_is_resent(self, harness: Harness) -> None:
        """While Slack is down messages wait in the outbox; they go out when it is back."""
        h = harness
        h.fake.down = True
        assert await h.notifier.post(channel=CHANNEL, text="during outage") is None
        assert h.fake.messages == []
        assert await h.notifier.drain_outbox() == 0  # still down: kept, retried later
        h.fake.down = False
        h.clock.advance(timedelta(minutes=5))
        assert await h.notifier.drain_outbox() == 1
        assert [m.text for m in h.fake.messages] == ["during outage"]
        assert await h.notifier.drain_outbox() == 0  # sent once only

    async def test_card_edit_is_rerendered_not_replayed(self, harness: Harness) -> None:
        """A card edit that failed during an outage is re-rendered from the current state
        when Slack is back, so a stale edit never overwrites a newer decision."""
        h = harness
        dist_id = await create_and_plan(h)
        await h.settle()
        h.fake.down = True
        await h.service.simulate(h.deps.actor("U_OP"), dist_id)  # card edit fails: kept
        await h.settle()
        h.fake.down = False
        await h.service.approve(h.deps.actor(APPROVER), dist_id)  # newer edit goes out
        await h.settle()
        assert "Approved" in h.card().all_text()
        h.clock.advance(timedelta(minutes=1))
        assert await h.notifier.drain_outbox() >= 1
        assert "Approved" in h.card().all_text()  # still the newest state
        assert ids.APPROVE not in h.card().all_text()

    async def test_permanent_errors_are_not_retried(self, harness: Harness) -> None:
        """A message Slack refuses for good (invalid_blocks) is not queued forever."""
        h = harness
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]
        assert await h.notifier.post(channel=CHANNEL, text="t", blocks=blocks) is None
        assert ("chat.postMessage", "invalid_blocks") in h.fake.rejected
        assert await h.notifier.outbox.due(h.clock.now(), 10) == []  # type: ignore[union-attr]


class TestTimelinePicture:
    async def test_not_in_channel_is_told_in_the_thread(self, harness: Harness) -> None:
        """When Slack refuses the picture because the bot is not in the channel (the card
        went out through chat:write.public), the card's thread says how to invite it."""
        h = harness
        h.fake.fail(
            "files.completeUploadExternal", status=200, retry_after=None, error="not_in_channel"
        )
        await create_and_plan(h)
        card = h.card()
        await h.settle(until=lambda: "/invite" in str(h.fake.thread(CHANNEL, card.ts)))
        told = [m for m in h.fake.thread(CHANNEL, card.ts) if "/invite" in m.all_text()]
        assert len(told) == 1 and f"<#{CHANNEL}>" in told[0].all_text()
        assert not [f for f in h.fake.files.values() if f.get("shared")]


class TestRestart:
    async def test_a_restarted_notifier_edits_the_same_status_message(
        self, fake: FakeSlack
    ) -> None:
        """The status line's place is kept in the outbox store: after a restart it is edited,
        not posted again."""
        from bot.slack.app import build_client
        from bot.slack.notifier import SlackNotifier

        h, runner = await start_harness(fake)
        restarted = None
        try:
            dist_id = await run_spring(h)
            await h.settle()
            card = h.card()

            def status_messages() -> list[object]:
                return [
                    m for m in fake.thread(CHANNEL, card.ts) if ids.STATUS_BLOCK in str(m.blocks)
                ]

            assert len(status_messages()) == 1
            restarted = SlackNotifier(
                build_client(h.deps.settings),
                h.deps.settings,
                queries=h.deps.herald.queries,
                outbox=h.notifier.outbox,
                clock=h.clock,
                status_interval=0,
            )
            edits = fake.count("chat.update")
            event = Event("e-restart", h.clock.now(), "slot.published", SYSTEM.id, dist_id)
            await restarted.notify(event)
            await restarted.idle(timeout=5)
            assert len(status_messages()) == 1
            assert fake.count("chat.update") > edits
        finally:
            if restarted is not None:
                await restarted.close()
            await h.driver.close()
            await h.notifier.close()
            await runner.cleanup()
