"""Logs: an idle `herald serve` minute is quiet at INFO, state changes carry their ids
(the Slack request's included), and HERALD_LOG_FORMAT=json writes one JSON object per line."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import socket
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp

from bot.bootstrap import LoggingNotifier, build_herald
from bot.cli.serve import serve
from bot.logs import bind_log_ids, configure_logging
from bot.settings import load_settings
from engine.models import Event
from storage.migrate import upgrade
from tests.bot.conftest import OPERATOR, Harness, bot_settings
from tests.bot.fake_slack import FakeSlack
from tests.bot.support import CREATE


class TestVolume:
    async def test_idle_minute_is_at_most_five_lines(self, tmp_path, restore_logging) -> None:  # type: ignore[no-untyped-def]
        """Migrate, start, tick 60 times idle, stop: at most 5 lines at INFO."""
        stream = io.StringIO()
        configure_logging("INFO", "text", stream)
        settings = load_settings(
            {
                "HERALD_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/h.db",
                # 60 ticks in about 3 s stand for a minute at the default 1 s interval
                "HERALD_DISPATCH_INTERVAL_SECONDS": "0.05",
            }
        )
        herald = build_herald(settings)
        await herald.ensure_schema(upgrade=True)
        await herald.start()
        ticks = 0
        for _ in range(500):
            await asyncio.sleep(0.05)
            ticks = herald.runner.ticks if hasattr(herald.runner, "ticks") else ticks + 1
            if ticks >= 60:
                break
        await herald.stop()
        lines = stream.getvalue().splitlines()
        assert len(lines) <= 5, lines

    async def test_idle_serve_minute_with_probes_is_quiet(
        self, fake: FakeSlack, tmp_path: Path, restore_logging: None
    ) -> None:
        """The whole `herald serve` (Slack app, outbox, overdue watch, web server) idles a
        compressed minute, probed by /health and scraped by /metrics, in at most 5 lines."""
        stream = io.StringIO()
        configure_logging("INFO", "text", stream)
        url = f"sqlite+aiosqlite:///{tmp_path}/h.db"
        await upgrade(url)
        settings = bot_settings(
            fake.api_url,
            HERALD_DATABASE_URL=url,
            HERALD_DISPATCH_INTERVAL_SECONDS="0.05",
            HERALD_SLACK_OUTBOX_INTERVAL_SECONDS="0.05",
        )
        herald = build_herald(settings)
        stop, started = asyncio.Event(), asyncio.Event()
        port = free_port()
        task = asyncio.create_task(
            serve(settings, port=port, stop=stop, started=started, herald=herald)
        )
        try:
            await asyncio.wait_for(started.wait(), 10)
            async with aiohttp.ClientSession() as session:
                while herald.dispatcher.ticks < 60:
                    for path in ("/health", "/metrics"):
                        async with session.get(f"http://127.0.0.1:{port}{path}") as resp:
                            assert resp.status in (200, 503)
                    await asyncio.sleep(0.25)
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)
        lines = stream.getvalue().splitlines()
        assert len(lines) <= 5, lines


class TestFormat:
    async def test_json_lines_carry_the_ids(self, restore_logging) -> None:  # type: ignore[no-untyped-def]
        """A state change logs one JSON object with distribution, slot and account ids."""
        stream = io.StringIO()
        configure_logging("INFO", "json", stream)
        from datetime import UTC, datetime

        event = Event(
            "e1",
            datetime(2026, 12, 1, tzinfo=UTC),
            "slot.published",
            "system",
            "d1",
            "s1",
            "a1",
            data={"platform": "tiktok", "worker": "host:1"},
        )
        await LoggingNotifier().notify(event)
        record = json.loads(stream.getvalue().splitlines()[-1])
        assert record["level"] == "INFO" and record["event"] == "slot.published"
        assert (record["distribution_id"], record["slot_id"], record["account_id"]) == (
            "d1",
            "s1",
            "a1",
        )
        assert record["worker_id"] == "host:1"

    def test_python_warnings_are_json_lines(self, restore_logging: None) -> None:
        """A Python warning (a library's deprecation) is one JSON object, not raw text."""
        stream = io.StringIO()
        configure_logging("INFO", "json", stream)
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.warn("old API", DeprecationWarning, stacklevel=1)
        record = json.loads(stream.getvalue().strip())
        assert record["level"] == "WARNING" and "old API" in record["msg"]

    def test_text_lines_append_the_ids(self, restore_logging) -> None:  # type: ignore[no-untyped-def]
        """The text format ends a line with key=value ids."""
        stream = io.StringIO()
        configure_logging("INFO", "text", stream)
        logging.getLogger("herald.x").info("hello", extra={"slot_id": "s9"})
        logging.getLogger("apscheduler.executors").info("Running job")
        assert stream.getvalue().strip().endswith("hello slot_id=s9")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


class TestRequestIds:
    async def _command(self, h: Harness, text: str) -> str:
        body = h.driver.command_body(text, user=OPERATOR)
        await h.driver.post(urlencode(body), "application/x-www-form-urlencoded")
        return str(body["trigger_id"])

    async def test_state_changes_carry_the_slack_request(
        self, harness: Harness, restore_logging: None
    ) -> None:
        """Each command's state change is logged with that command's Slack request id (its
        trigger id) and the replica's worker id; the next command's lines carry the next id."""
        h = harness
        stream = io.StringIO()
        configure_logging("INFO", "json", stream)
        await h.import_accounts()
        created = await self._command(h, CREATE)
        await h.settle(until=lambda: "Created draft" in h.fake.responses_text())
        planned = await self._command(h, "plan spring")
        await h.settle(until=lambda: "Planned" in h.fake.responses_text())
        by_event = {line.get("event"): line for line in json_lines(stream)}
        assert by_event["distribution.created"]["slack_request"] == created
        assert by_event["distribution.planned"]["slack_request"] == planned
        worker = h.deps.herald.dispatcher.worker_id
        assert by_event["distribution.planned"]["worker_id"] == worker

    async def test_background_lines_carry_no_request(self, restore_logging: None) -> None:
        """A task started outside any request logs without a request id; one started while
        handling a request inherits it."""
        stream = io.StringIO()
        configure_logging("INFO", "json", stream)
        log = logging.getLogger("herald.test")

        async def child() -> None:
            log.info("child")

        async def handling() -> None:
            bind_log_ids(slack_request="Ev1")
            await asyncio.create_task(child())
            log.info("handler")

        await asyncio.create_task(handling())
        log.info("idle")
        lines = {line["msg"]: line.get("slack_request") for line in json_lines(stream)}
        assert lines == {"child": "Ev1", "handler": "Ev1", "idle": None}

    def test_text_lines_end_with_the_request(self, restore_logging: None) -> None:
        """The text format appends slack_request=… like the other ids."""
        stream = io.StringIO()
        configure_logging("INFO", "text", stream)

        async def handling() -> None:
            bind_log_ids(slack_request="Ev2")
            logging.getLogger("herald.x").info("hello", extra={"slot_id": "s9"})

        asyncio.run(handling())
        assert stream.getvalue().strip().endswith("hello slot_id=s9 slack_request=Ev2")
