"""Risk alerts in the alerts channel: one thread per distribution and cause, in words."""

from __future__ import annotations

import re
from datetime import timedelta

from tests.bot.conftest import ALERTS, start_harness
from tests.bot.fake_slack import FakeSlack
from tests.bot.support import run_spring

INTERNAL = re.compile(
    r"\{'|\"kind\"|account\.rate_limited|account\.suspended|risk\.alert|rate_limits\b"
)


def alerts_text(fake: FakeSlack) -> list[str]:
    return [m.all_text() for m in fake.messages if m.channel == ALERTS]


class TestAlertWording:
    async def test_rate_limited_accounts_share_one_thread_in_words(self, fake: FakeSlack) -> None:
        """Every account rate-limited: one thread per cause, no raw dicts or event names."""
        h, runner = await start_harness(
            fake, HERALD_SIMULATED_FAILURE_RATES="rate_limit=1.0", HERALD_MAX_REDISTRIBUTIONS="0"
        )
        try:
            await run_spring(h)
            for _ in range(4):
                h.clock.advance(timedelta(minutes=40))
                await h.deps.herald.dispatcher.tick()
            await h.settle(until=lambda: fake.channel_messages(ALERTS))
            await h.settle()
            parents = fake.channel_messages(ALERTS)
            texts = [p.all_text() for p in parents]
            assert len(parents) <= 2, texts  # rate limits, and the monitor's risk alert
            assert sum("rate-limited" in t or "rate limit" in t for t in texts) == 1, texts
            for text in alerts_text(fake):
                assert not INTERNAL.search(text), text
            limited = next(p for p in parents if "rate" in p.all_text())
            # Named by distribution and by handle (which account is hit first depends on the plan).
            assert "spring" in limited.all_text()
            assert re.search(r"@(tiktok|instagram|youtube|x|linkedin)\w*", limited.all_text())
        finally:
            await h.driver.close()
            await h.notifier.close()
            await runner.cleanup()

    async def test_risk_alert_lists_anomalies_as_sentences(self, fake: FakeSlack) -> None:
        """A monitor alert's anomalies read as sentences with their level, not dicts."""
        from bot.slack.blocks.alerts import build_risk_alert
        from engine.models import Event
        from tests.bot.support import BLOCKS_T0 as T0
        from tests.bot.support import sample_distribution as distribution

        event = Event(
            "e1",
            T0,
            "risk.alert",
            "system",
            "d-1",
            data={
                "level": "HIGH",
                "reason": "4 accounts rate-limited in 30 min",
                "anomalies": [
                    {
                        "kind": "rate_limits",
                        "level": "HIGH",
                        "reason": "4 accounts rate-limited in 30 min",
                        "count": 4,
                    }
                ],
                "paused": True,
            },
        )
        blocks = build_risk_alert(event, distribution())
        text = "\n".join(b["text"]["text"] for b in blocks if b["type"] == "section")
        assert "4 accounts rate-limited in 30 min" in text
        assert not INTERNAL.search(text), text
