"""Connecting an X account end to end: signed `/herald accounts connect x` -> Connect URL ->
the fake X consent page -> Herald's callback -> account stored encrypted; refusals (reused,
expired, denied, wrong user); a revoked token -> NEEDS_AUTH, one alert, Reconnect."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from aiohttp import web

from bot.bootstrap import build_herald
from bot.cli.serve import build_web_app
from bot.slack import ids
from bot.slack.app import build_client, create_app, deps_of_app
from bot.slack.oauth import redacting_access_logger
from engine.adapters.oauth_platforms import XOAuthClient
from engine.clock import ManualClock
from engine.errors import AuthExpired
from engine.models import AccountState
from storage.secret_box import generate_key
from storage.sqlalchemy_repository import SQLAlchemyRepository
from tests.bot.conftest import ALERTS, OPERATOR, T0, VIEWER, bot_settings
from tests.bot.driver import SlackDriver
from tests.bot.fake_slack import FakeSlack, Message
from tests.conftest import _free_port
from tests.fakes.oauth import OAuthProvider
from tests.fakes.x_api import FakeX


@dataclass
class World:
    fake: FakeSlack
    x: OAuthProvider  # the fake X API's OAuth endpoints
    driver: SlackDriver
    deps: Any
    clock: ManualClock
    url: str
    db: Path

    async def settle(self) -> None:
        import asyncio

        for _ in range(5):
            await asyncio.sleep(0.05)
            assert self.deps.notifier is not None
            await self.deps.notifier.idle(timeout=5)

    async def connect_url(self, user: str = OPERATOR) -> str:
        """`/herald accounts connect x`, signed; the Connect button's URL from the answer."""
        before = connect_urls(self.fake)
        reply = await self.driver.command("accounts connect x", user=user)
        assert reply.status == 200
        return await self.new_connect_url(before)

    async def new_connect_url(self, before: list[str], timeout: float = 10.0) -> str:
        """Wait for an answer with a Connect button that was not there `before`."""
        import asyncio

        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            await self.settle()
            urls = connect_urls(self.fake)
            if len(urls) > len(before):
                return urls[-1]
        raise AssertionError(f"no new Connect button in {self.fake.responses_text()}")

    async def follow(self, url: str) -> tuple[int, str]:
        """A browser following every redirect (Herald -> fake X -> Herald's callback)."""
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            return response.status, await response.text()

    async def callback_url(self, connect_url: str) -> str:
        """Follow Herald's start and the fake consent page, stopping before the callback."""
        async with aiohttp.ClientSession() as session:
            async with session.get(connect_url, allow_redirects=False) as start:
                assert start.status == 302, await start.text()
                consent = start.headers["Location"]
            async with session.get(consent, allow_redirects=False) as page:
                assert page.status == 302
                return page.headers["Location"]

    def account(self) -> Any:
        return self.deps.herald

    def secrets(self) -> list[str]:
        return [*self.x.issued_access, *self.x.issued_refresh]


def connect_urls(fake: FakeSlack) -> list[str]:
    """Every Connect button URL Herald answered with, oldest first."""
    return [
        str(element["url"])
        for body in [r for rs in fake.responses.values() for r in rs]
        for block in body.get("blocks") or []
        if block.get("type") == "actions"
        for element in block.get("elements", [])
        if element.get("action_id") == ids.CONNECT_LINK
    ]


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    from storage.migrate import upgrade

    db = tmp_path / "herald.db"
    url = f"sqlite+aiosqlite:///{db}"
    await upgrade(url)
    fake = FakeSlack()
    await fake.start()
    fake_x = FakeX()
    fake_x.users["2244994945"] = "herald_dev"
    fake_x.users["999"] = "someone_else"
    fake_x.oauth.consent_user = "2244994945"
    served_x = await fake_x.serve()
    x = fake_x.oauth
    port = _free_port()
    public = f"http://127.0.0.1:{port}"
    settings = bot_settings(
        fake.api_url,
        HERALD_SECRET_KEY=generate_key(),
        HERALD_PUBLIC_URL=public,
        HERALD_DATABASE_URL=url,
    )
    clock = ManualClock(T0)
    client = build_client(settings)
    repository = SQLAlchemyRepository(url)
    oauth_client = XOAuthClient(x.client_id, x.client_secret, clock, base_url=served_x.url)
    herald = build_herald(
        settings,
        repository=repository,
        clock=clock,
        oauth_clients={"x": oauth_client},
    )
    app = create_app(settings, herald=herald, client=client, status_interval=0)
    runner = web.AppRunner(build_web_app(app), access_log_class=redacting_access_logger())
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    driver = SlackDriver(
        f"{public}/slack/events", settings.slack_signing_secret.get_secret_value(), fake
    )  # type: ignore[union-attr]
    w = World(fake, x, driver, deps_of_app(app), clock, public, db)
    yield w
    await w.settle()
    await driver.close()
    await w.deps.notifier.close()
    await runner.cleanup()
    await repository.close()
    await served_x.close()
    await fake.stop()


async def stored_account(w: World, account_id: str = "twitter-herald_dev") -> Any:
    async with w.deps.herald.repository.unit_of_work() as uow:
        return await uow.get_account(account_id)


class TestConnectFlow:
    async def test_connect_end_to_end_stores_encrypted(
        self, world: World, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Command -> Connect -> consent -> callback: account connected, token never in clear."""
        caplog.set_level(logging.DEBUG)
        url = await world.connect_url()
        assert url.startswith(f"{world.url}/oauth/start?state=")
        status, page = await world.follow(url)
        assert status == 200 and "Connected @herald_dev on X" in page
        await world.settle()
        assert "Connected @herald_dev on X" in world.fake.ephemeral_text()
        account = await stored_account(world)
        assert (account.publisher, account.platform, account.state) == (
            "x",
            "twitter",
            AccountState.ACTIVE,
        )
        creds = await world.deps.herald.oauth.store.get(account.id)
        assert creds.access_token == world.x.issued_access[-1]
        # The token is nowhere in clear: database file, logs, Slack, audit events.
        raw = b"".join(p.read_bytes() for p in sorted(world.db.parent.glob("herald.db*")))
        slack_seen = json.dumps(world.fake.calls) + world.fake.responses_text()
        async with world.deps.herald.repository.unit_of_work() as uow:
            audit = json.dumps([e.data for e in await uow.list_events(limit=500)])
        for secret in world.secrets():
            assert secret.encode() not in raw
            assert secret not in caplog.text and secret not in slack_seen and secret not in audit
        # /herald accounts shows it connected, with its expiry and publisher.
        await world.driver.command("accounts")
        await world.settle()
        answer = world.fake.responses_text()
        assert re.search(r"@herald_dev +twitter +ACTIVE +yes +12-01 12:00 +x", answer), answer

    async def test_state_is_single_use(
        self, world: World, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A callback URL replayed after success is refused, and nothing changes; the access
        log shows the callback's path, never its code or state."""
        caplog.set_level(logging.INFO, logger="aiohttp.access")
        callback = await world.callback_url(await world.connect_url())
        assert (await world.follow(callback))[0] == 200
        query = parse_qs(urlsplit(callback).query)
        access = "\n".join(r.getMessage() for r in caplog.records if r.name == "aiohttp.access")
        assert "/oauth/callback" in access
        assert query["code"][0] not in access and query["state"][0] not in access
        status, page = await world.follow(callback)
        assert status == 400 and "already used" in page
        assert world.x.token_calls["authorization_code"] == 1

    async def test_expired_state_is_refused_and_user_told(self, world: World) -> None:
        """After 10 minutes the link is dead: /oauth/start and the callback both refuse."""
        url = await world.connect_url()
        callback = await world.callback_url(url)
        world.clock.advance(timedelta(minutes=11))
        status, page = await world.follow(url)
        assert status == 400 and "expired" in page
        status, page = await world.follow(callback)
        assert status == 400 and "expired" in page
        await world.settle()
        assert "Not connected" in world.fake.ephemeral_text()
        assert "authorization_code" not in world.x.token_calls

    async def test_denied_consent(self, world: World) -> None:
        """A user who cancels on X gets 'sign-in was denied', and no account is made."""
        world.x.deny = True
        status, page = await world.follow(await world.connect_url())
        assert status == 400 and "denied (access_denied)" in page
        await world.settle()
        assert "denied" in world.fake.ephemeral_text()

    async def test_viewer_cannot_connect(self, world: World) -> None:
        """Viewers are refused before any state is made."""
        await world.driver.command("accounts connect x", user=VIEWER)
        await world.settle()
        assert "only operators" in world.fake.responses_text()

    async def test_token_endpoint_error_is_explained(self, world: World) -> None:
        """A 503 from X's token endpoint is reported as such to the user."""
        world.x.token_failures.append((503, {"title": "Service Unavailable"}, {}))
        status, page = await world.follow(await world.connect_url())
        assert status == 400 and "token endpoint" in page and "503" in page


class TestRevokedAndReconnect:
    async def test_revoked_needs_auth_one_alert_then_reconnect(self, world: World) -> None:
        """Revoked -> NEEDS_AUTH with one Reconnect alert; Reconnect as another X user is
        refused; as the same user it connects again and the account is ACTIVE."""
        await world.follow(await world.connect_url())
        oauth = world.deps.herald.oauth
        world.x.revoke_all()
        for _ in range(2):
            with pytest.raises(AuthExpired):
                await oauth.refresher.credentials("twitter-herald_dev", force_refresh=True)
        await world.settle()
        alerts = [m for m in world.fake.channel_messages(ALERTS) if "needs reconnecting" in m.text]
        assert len(alerts) == 1
        assert (await stored_account(world)).state == AccountState.NEEDS_AUTH
        # An operator clicks Reconnect but signs in to X as someone else.
        world.x.consent_user = "999"
        url = await self._reconnect(world, alerts[0])
        status, page = await world.follow(url)
        assert status == 400 and "this Reconnect is for @herald_dev" in page
        # The right X account this time.
        world.x.consent_user = "2244994945"
        status, page = await world.follow(await self._reconnect(world, alerts[0]))
        assert status == 200 and "reconnected" in page
        assert (await stored_account(world)).state == AccountState.ACTIVE
        creds = await oauth.refresher.credentials("twitter-herald_dev")
        assert creds.access_token == world.x.issued_access[-1]

    async def _reconnect(self, world: World, alert: Message) -> str:
        before = connect_urls(world.fake)
        payload = world.driver.click_payload(alert, ids.RECONNECT, user=OPERATOR)
        payload["response_url"] = world.fake.response_url()
        reply = await world.driver.interact(payload)
        assert reply.status == 200
        url = await world.new_connect_url(before)
        assert parse_qs(urlsplit(url).query)["state"]
        return url

    async def test_alert_from_a_publish_failure_reconnects(self, world: World) -> None:
        """The dispatcher's account.needs_auth (no publisher in it) still offers Reconnect."""
        from engine.models import Event

        await world.follow(await world.connect_url())
        event = Event(
            "e-pub",
            world.clock.now(),
            "account.needs_auth",
            "system",
            account_id="twitter-herald_dev",
            data={"reason": "account needs reconnecting: 401", "platform": "twitter"},
        )
        await world.deps.notifier.notify(event)
        await world.settle()
        alert = next(
            m for m in world.fake.channel_messages(ALERTS) if "needs reconnecting" in m.text
        )
        status, page = await world.follow(await self._reconnect(world, alert))
        assert status == 200 and "reconnected" in page
