"""The HTTP API over real loopback HTTP: `herald serve`'s aiohttp app (bolt + /api/v1) on a
migrated SQLite file or the session's PostgreSQL, a fake Slack, and tokens made in the DB."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.cli.serve import build_web_app
from bot.slack.app import build_client, create_app, deps_of_app
from engine.clock import ManualClock
from engine.models import SYSTEM
from storage.api_store import ApiStore
from storage.outbox import MemoryOutbox
from storage.sqlalchemy_repository import SQLAlchemyRepository
from tests.api.receiver import Receiver, running_receiver
from tests.bot.conftest import (
    ACCOUNTS_CSV,
    APPROVER,
    OPERATOR,
    T0,
    VIEWER,
    bot_settings,
    make_herald,
)
from tests.bot.fake_slack import FakeSlack

# A Fernet key, as HERALD_SECRET_KEY needs.
SECRET_KEY = (
    "OGqc8w6zTIECcyD318XLCE1Fbu9tYrdlZL3sh0lBio8="  # a Fernet key, as HERALD_SECRET_KEY needs
)
REQUEST = {
    "name": "spring launch",
    "content": {"id": "c-1", "caption": "Spring is here", "hashtags": ["spring"], "type": "video"},
    "platforms": ["tiktok", "instagram"],
    "start": "2026-12-01T11:00:00Z",
    "spread_hours": 6,
}


@dataclass
class Api:
    """One running app (a replica) and what a test needs to drive it."""

    url: str
    clock: ManualClock
    deps: Any
    ctx: Any  # bot.api.ApiContext
    runner: web.AppRunner
    session: aiohttp.ClientSession
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def service(self) -> Any:
        return self.deps.service

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    async def call(
        self, method: str, path: str, who: str | None = "operator", **kwargs: Any
    ) -> tuple[int, Any, Any]:
        headers = dict(kwargs.pop("headers", {}))
        if who is not None:
            headers.update(self.auth(who))
        async with self.session.request(
            method, f"{self.url}/api/v1{path}", headers=headers, **kwargs
        ) as resp:
            text = await resp.text()
            try:
                body: Any = await resp.json(content_type=None)
            except ValueError:
                body = text
            return resp.status, body, resp.headers


async def start_api(
    fake: FakeSlack, url: str, clock: ManualClock | None = None, **extra: str
) -> Api:
    settings = bot_settings(
        fake.api_url, HERALD_DATABASE_URL=url, HERALD_SECRET_KEY=SECRET_KEY, **extra
    )
    clock = clock or ManualClock(T0)
    client = build_client(settings)
    herald = make_herald(
        settings, clock=clock, repository=SQLAlchemyRepository(url), outbox=MemoryOutbox(clock)
    )
    app = create_app(settings, herald=herald, client=client, status_interval=0)
    deps = deps_of_app(app)
    web_app = build_web_app(app)
    from bot.api.app import API

    ctx = web_app[API]
    runner = web.AppRunner(web_app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return Api(f"http://127.0.0.1:{port}", clock, deps, ctx, runner, aiohttp.ClientSession())


async def stop_api(api: Api) -> None:
    await api.session.close()
    await api.deps.notifier.close()
    await api.runner.cleanup()
    await api.deps.herald.repository.close()


async def make_tokens(api: Api) -> None:
    store = ApiStore(api.deps.herald.repository.engine)
    now = api.clock.now()
    for who, user, scopes in (
        ("operator", OPERATOR, ("read", "operate")),
        ("approver", APPROVER, ("read", "operate", "approve")),
        ("viewer", VIEWER, ("read", "operate", "approve")),
        ("reader", APPROVER, ("read",)),
    ):
        api.tokens[who] = (await store.create_token(user, scopes, now, None))[1]
    await store.close()


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    slack = FakeSlack()
    await slack.start()
    yield slack
    await slack.stop()


@asynccontextmanager
async def running_app(fake: FakeSlack, tmp_path: Path, **extra: str) -> AsyncIterator[Api]:
    """One app on a migrated SQLite file, accounts imported, a token per role; `extra`
    settings as HERALD_* variables."""
    from storage.migrate import upgrade

    url = f"sqlite+aiosqlite:///{tmp_path / 'herald.db'}"
    await upgrade(url)
    running = await start_api(fake, url, **extra)
    await running.service.import_accounts(SYSTEM, ACCOUNTS_CSV)
    await make_tokens(running)
    try:
        yield running
    finally:
        await stop_api(running)


def idle_deliverer(**extra: str) -> dict[str, str]:
    """Settings whose background webhook deliverer stays idle: tests drive its rounds.
    The receivers listen on loopback, so webhook targets may be private here."""
    return {
        "HERALD_EVENT_WEBHOOK_INTERVAL_SECONDS": "3600",
        "HERALD_WEBHOOK_ALLOW_PRIVATE_URLS": "true",
        **extra,
    }


@pytest.fixture
async def api(fake: FakeSlack, tmp_path: Path) -> AsyncIterator[Api]:
    """One app on a migrated SQLite file, accounts imported, a token per role."""
    async with running_app(fake, tmp_path) as running:
        yield running


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A webhook receiver on loopback (tests/api/receiver.py)."""
    async with running_receiver() as r:
        yield r
