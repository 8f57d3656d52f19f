"""`herald serve`: settings checked at start, /health and /metrics, and Socket Mode."""

from __future__ import annotations

import asyncio
import socket

import aiohttp
import pytest

from bot.cli.serve import serve
from bot.settings import load_settings
from bot.slack.app import build_client, check_settings
from engine.clock import ManualClock
from engine.errors import InvalidInput
from storage.outbox import MemoryOutbox
from tests.bot.conftest import T0, Harness, bot_settings, make_herald
from tests.bot.fake_slack import FakeSlack


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TestSettings:
    def test_missing_bot_token_names_the_variable(self) -> None:
        """Without SLACK_BOT_TOKEN the start fails with a message naming it."""
        with pytest.raises(InvalidInput, match="SLACK_BOT_TOKEN"):
            check_settings(load_settings({"SLACK_SIGNING_SECRET": "s"}))

    def test_missing_signing_secret_in_http_mode(self) -> None:
        """HTTP mode needs SLACK_SIGNING_SECRET."""
        with pytest.raises(InvalidInput, match="SLACK_SIGNING_SECRET"):
            check_settings(load_settings({"SLACK_BOT_TOKEN": "xoxb-1"}))

    def test_wrong_app_token(self) -> None:
        """A bot token given as SLACK_APP_TOKEN is named as wrong."""
        settings = load_settings({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xoxb-2"})
        with pytest.raises(InvalidInput, match="SLACK_APP_TOKEN"):
            check_settings(settings, socket_mode=True)

    def test_api_url_must_end_in_slash(self) -> None:
        """SLACK_API_URL without its trailing slash is refused (the SDK would drop the path)."""
        settings = load_settings(
            {
                "SLACK_BOT_TOKEN": "xoxb-1",
                "SLACK_SIGNING_SECRET": "s",
                "SLACK_API_URL": "http://127.0.0.1:9/api",
            }
        )
        with pytest.raises(InvalidInput, match="SLACK_API_URL"):
            check_settings(settings)


class TestStartChecks:
    async def test_refused_bot_token_fails_the_start(self, fake: FakeSlack) -> None:
        """A token Slack refuses stops `serve` before anything runs, naming the variable."""
        settings = bot_settings(fake.api_url, SLACK_BOT_TOKEN="xoxb-wrong")
        clock = ManualClock(T0)
        herald = make_herald(settings, clock=clock)
        with pytest.raises(InvalidInput, match="SLACK_BOT_TOKEN was refused by Slack"):
            await serve(settings, port=free_port(), herald=herald, client=build_client(settings))

    async def test_unreachable_api_url_fails_the_start(self) -> None:
        """An SLACK_API_URL nobody answers on is named at start."""
        settings = bot_settings(f"http://127.0.0.1:{free_port()}/api/")
        herald = make_herald(settings, clock=ManualClock(T0))
        with pytest.raises(InvalidInput, match=r"SLACK_API_URL .* is unreachable"):
            await serve(settings, port=free_port(), herald=herald, client=build_client(settings))


class TestHealth:
    async def test_health_reflects_the_dispatcher(self, harness: Harness) -> None:
        """/health is 503 until the dispatcher ticks, 200 while it does, 503 once stopped."""
        herald = harness.deps.herald
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{harness.url}/health") as resp:
                assert resp.status == 503
            await herald.start()
            try:
                for _ in range(100):
                    if herald.runner.last_tick_at is not None:
                        break
                    await asyncio.sleep(0.02)
                async with session.get(f"{harness.url}/health") as resp:
                    assert resp.status == 200 and (await resp.json())["status"] == "ok"
            finally:
                await herald.runner.stop()
            async with session.get(f"{harness.url}/health") as resp:
                assert resp.status == 503
                assert "stopped" in (await resp.json())["dispatcher"]

    async def test_metrics_are_prometheus_text(self, harness: Harness) -> None:
        """/metrics counts Slack requests by kind in Prometheus' text format."""
        await harness.driver.command("help")
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{harness.url}/metrics") as resp,
        ):
            text = await resp.text()
        assert "# TYPE herald_slack_requests_total counter" in text
        assert 'herald_slack_requests_total{kind="command"} 1.0' in text
        assert "herald_dispatcher_healthy" in text
        assert "herald_slack_ack_seconds_bucket" in text


class TestServeHttp:
    async def test_production_wiring_over_http(self, fake: FakeSlack, tmp_path) -> None:  # type: ignore[no-untyped-def]
        """`serve` as `herald serve` runs it (bootstrap, SQLite, SQL outbox, HTTP mode):
        a signed command is answered, /health turns 200 once the dispatcher ticks, a
        redelivered event is recognised through the SQL seen-event log, and the start-up
        heap is frozen (out of full collections' reach) and full collections are rarer."""
        import gc

        from bot.cli.serve import FULL_COLLECTION_THRESHOLDS
        from storage.migrate import upgrade
        from tests.bot.conftest import SECRET
        from tests.bot.driver import SlackDriver

        thresholds = gc.get_threshold()
        url = f"sqlite+aiosqlite:///{tmp_path}/herald.db"
        await upgrade(url)
        settings = bot_settings(fake.api_url, HERALD_DATABASE_URL=url)
        port = free_port()
        stop, started = asyncio.Event(), asyncio.Event()
        task = asyncio.create_task(serve(settings, port=port, stop=stop, started=started))
        driver = SlackDriver(f"http://127.0.0.1:{port}/slack/events", SECRET, fake)
        try:
            await asyncio.wait_for(started.wait(), 10)
            assert gc.get_freeze_count() > 0
            assert gc.get_threshold() == FULL_COLLECTION_THRESHOLDS
            reply = await driver.command("help")
            assert reply.status == 200 and "Herald commands" in reply.text
            async with aiohttp.ClientSession() as session:
                for _ in range(100):
                    async with session.get(f"http://127.0.0.1:{port}/health") as resp:
                        if resp.status == 200:
                            break
                    await asyncio.sleep(0.05)
                assert resp.status == 200
            for attempt in (None, 1):
                await driver.dm("help", event_id="EvHTTP1", retry_num=attempt)
            for _ in range(100):
                if fake.messages:
                    break
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.2)
            assert len(fake.messages) == 1
        finally:
            await driver.close()
            stop.set()
            await asyncio.wait_for(task, 10)
            gc.unfreeze()  # the test process collects as usual again
            gc.set_threshold(*thresholds)


class TestSocketMode:
    async def test_slash_command_and_dm_over_socket_mode(self, fake: FakeSlack) -> None:
        """With SLACK_APP_TOKEN the bot connects over a websocket and answers envelopes; each
        envelope's ack time is in /metrics as in HTTP mode."""
        settings = bot_settings(fake.api_url, SLACK_APP_TOKEN="xapp-test-token")
        clock = ManualClock(T0)
        client = build_client(settings)
        herald = make_herald(settings, clock=clock, outbox=MemoryOutbox(clock))
        stop, started = asyncio.Event(), asyncio.Event()
        port = free_port()
        task = asyncio.create_task(
            serve(settings, port=port, stop=stop, started=started, herald=herald, client=client)
        )
        try:
            await asyncio.wait_for(started.wait(), 10)
            await fake.wait_socket()
            command = {
                "command": "/herald",
                "text": "help",
                "user_id": "U_OP",
                "channel_id": "C_OPS",
                "team_id": "T0001",
                "trigger_id": fake.issue_trigger(),
                "response_url": fake.response_url(),
            }
            ack = await fake.socket_send("slash_commands", command)
            assert "Herald commands" in str(ack.get("payload"))
            event = {
                "type": "event_callback",
                "event_id": "EvS1",
                "team_id": "T0001",
                "event": {
                    "type": "message",
                    "channel_type": "im",
                    "channel": "D_OP",
                    "user": "U_OP",
                    "text": "help",
                    "ts": "5.5",
                },
            }
            ack = await fake.socket_send("events_api", event)
            assert "payload" not in ack
            for _ in range(200):
                if fake.messages:
                    break
                await asyncio.sleep(0.02)
            assert fake.messages and fake.messages[0].channel == "D_OP", fake.ephemerals
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"http://127.0.0.1:{port}/metrics") as resp,
            ):
                text = await resp.text()
            assert "herald_slack_ack_seconds_count 2.0" in text
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)
