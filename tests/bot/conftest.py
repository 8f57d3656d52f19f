"""Fixtures for the Slack bot: a fake Slack, the real bolt app served over loopback HTTP,
the real engine (MemoryRepository, SimulatedPublisher, ManualClock), and a signing driver."""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.cli.serve import build_web_app
from bot.settings import Settings, load_settings
from bot.slack.app import build_client, create_app, deps_of_app
from bot.slack.context import BotDeps
from bot.slack.notifier import SlackNotifier
from engine.advisor import Advisor
from engine.clock import ManualClock
from engine.llm_gateway import LLMGateway
from engine.models import SYSTEM
from storage.memory_repository import MemoryRepository
from storage.outbox import MemoryOutbox
from tests.bot.driver import SlackDriver
from tests.bot.fake_slack import FakeSlack, Message

SECRET = "test-signing-secret"
T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
OPERATOR, APPROVER, VIEWER = "U_OP", "U_BOSS", "U_VIEW"
CHANNEL, ALERTS = "C_OPS", "C_ALERTS"

ACCOUNTS_CSV = (
    "id,platform,handle,timezone,language,followers,health,state,last_posted_at,rate_limited_until\n"
    + "".join(
        f"{p[:2]}-{i},{p},@{p}{i},UTC,en,{1000 * i},0.95,ACTIVE,,\n"
        for p in ("tiktok", "instagram")
        for i in range(1, 7)
    )
)


TEST_MEDIA_DIR = Path(tempfile.gettempdir()) / "herald-tests-media"


def bot_settings(api_url: str, **extra: str) -> Settings:
    env = {
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": api_url,
        "HERALD_APPROVERS": APPROVER,
        "HERALD_OPERATORS": f"{OPERATOR},{APPROVER}",
        "HERALD_ALERTS_CHANNEL": ALERTS,
        "HERALD_SLACK_STATUS_INTERVAL_SECONDS": "0",
        # Not ./media: `herald serve` creates HERALD_MEDIA_DIR at start.
        "HERALD_MEDIA_DIR": str(TEST_MEDIA_DIR),
        **extra,
    }
    return load_settings(env)


def make_herald(
    settings: Settings,
    *,
    clock: Any,
    repository: Any = None,
    outbox: Any = None,
    llm_clients: Sequence[Any] = (),
    token_refresher: Any = None,
) -> Any:
    """The engine through the composition root (bot.bootstrap.build_herald); with
    `llm_clients` (in-process fakes) its advisor asks them through a real LLMGateway."""
    from bot.bootstrap import build_herald

    repository = repository or MemoryRepository()
    advisor = None
    if llm_clients:
        advisor = Advisor(LLMGateway(llm_clients, clock, deadline_s=5.0))
    return build_herald(
        settings,
        repository=repository,
        clock=clock,
        advisor=advisor,
        outbox=outbox or MemoryOutbox(clock),
        token_refresher=token_refresher,
    )


@dataclass
class Harness:
    """Everything a bot test touches."""

    fake: FakeSlack
    driver: SlackDriver
    app: Any
    deps: BotDeps
    clock: ManualClock
    url: str

    @property
    def service(self) -> Any:
        return self.deps.service

    @property
    def notifier(self) -> SlackNotifier:
        assert self.deps.notifier is not None
        return self.deps.notifier

    async def settle(self, *, until: Any = None, timeout: float = 5.0) -> None:
        """Let bolt's background listeners and the notifier finish (and `until()` hold)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            await asyncio.sleep(0.02)
            await self.notifier.idle(timeout=timeout)
            if until is None or until():
                if until is None:
                    await asyncio.sleep(0.05)
                    await self.notifier.idle(timeout=timeout)
                return
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError("condition not reached in time")

    def card(self, channel: str = CHANNEL) -> Message:
        cards = [m for m in self.fake.channel_messages(channel) if "header" in str(m.blocks)]
        assert cards, f"no plan card in {channel}: {self.fake.messages}"
        return cards[-1]

    async def import_accounts(self) -> None:
        await self.service.import_accounts(SYSTEM, ACCOUNTS_CSV)

    async def run_until_done(
        self, step: timedelta = timedelta(minutes=1), limit: int = 600
    ) -> None:
        """Advance the clock and tick the dispatcher until nothing is left to publish.

        Ticks as often as posts are due: coarser ticks make every post late, and late posts
        are re-spaced by the plan's gaps (engine.catch_up), not published in a burst."""
        dispatcher = self.deps.herald.dispatcher
        for _ in range(limit):
            self.clock.advance(step)
            await dispatcher.tick()
            if await self.deps.herald.repository.next_due_at() is None:
                break
        await dispatcher.tick()


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    slack = FakeSlack()
    await slack.start()
    yield slack
    await slack.stop()


async def start_harness(
    fake: FakeSlack, *, llm_clients: Sequence[Any] = (), token_refresher: Any = None, **extra: str
) -> tuple[Harness, web.AppRunner]:
    """The bot on loopback; `token_refresher` (in-memory, tests) wires the platform
    publishers as connected accounts would."""
    settings = bot_settings(fake.api_url, **extra)
    clock = ManualClock(T0)
    client = build_client(settings)
    herald = make_herald(
        settings, clock=clock, llm_clients=llm_clients, token_refresher=token_refresher
    )
    app = create_app(settings, herald=herald, client=client, status_interval=0)
    runner = web.AppRunner(build_web_app(app))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    url = f"http://127.0.0.1:{port}"
    driver = SlackDriver(f"{url}/slack/events", SECRET, fake)
    return Harness(fake, driver, app, deps_of_app(app), clock, url), runner


async def stop_harness(h: Harness, runner: web.AppRunner) -> None:
    await h.settle()
    await h.driver.close()
    await h.notifier.close()
    await runner.cleanup()


@pytest.fixture
async def harness(fake: FakeSlack) -> AsyncIterator[Harness]:
    h, runner = await start_harness(fake)
    yield h
    await stop_harness(h, runner)


@pytest.fixture
async def llm_harness(fake: FakeSlack) -> AsyncIterator[Callable[..., Awaitable[Harness]]]:
    """Starts a harness whose advisor (and so the intent parser) asks `llm_clients`."""
    started: list[tuple[Harness, web.AppRunner]] = []

    async def start(*llm_clients: Any) -> Harness:
        started.append(await start_harness(fake, llm_clients=llm_clients))
        return started[-1][0]

    yield start
    for h, runner in started:
        await stop_harness(h, runner)


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Put the root logger back as it was (tests that configure logging)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.captureWarnings(False)
