"""LeasedTokenRefresher on a real database against the fake X token endpoint: refresh ahead of
expiry, rotation saved, one refresh across two stores, temporary vs dead, NEEDS_AUTH once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from engine.adapters.oauth_platforms import XOAuthClient
from engine.clock import SystemClock
from engine.credentials import Credentials
from engine.errors import AuthExpired, NetworkError, RateLimited
from engine.models import Account, AccountState, Event
from engine.token_refresh import NEEDS_AUTH_EVENT, LeasedTokenRefresher
from storage.credential_store import SQLAlchemyCredentialStore
from storage.secret_box import FernetSecretBox, generate_key
from storage.sqlalchemy_repository import SQLAlchemyRepository
from tests.fakes.oauth import REDIRECT, OAuthProvider, consent
from tests.fakes.x_api import FakeX

KEY = generate_key()


@dataclass
class RecordingNotifier:
    events: list[Event] = field(default_factory=list)

    async def notify(self, event: Event) -> None:
        self.events.append(event)


@dataclass
class World:
    fake: OAuthProvider  # the fake X API's token endpoint
    repository: SQLAlchemyRepository
    store: SQLAlchemyCredentialStore
    client: XOAuthClient
    notifier: RecordingNotifier
    url: str

    def refresher(self, store: Any = None, worker: str = "w1") -> LeasedTokenRefresher:
        return LeasedTokenRefresher(
            store or self.store,
            {"x": self.client},
            SystemClock(),
            self.notifier,
            worker_id=worker,
            poll_seconds=0.02,
        )

    async def connect(self, expires_in: timedelta | None = None) -> Credentials:
        """Connect account x-1 through the fake's consent page; optionally age its token."""
        code, verifier = await consent(self.client)
        tokens = await self.client.exchange_code(
            code, redirect_uri=REDIRECT, code_verifier=verifier
        )
        creds = Credentials(
            account_id="x-1",
            publisher="x",
            platform_user_id="2244994945",
            access_token=tokens.access_token,
            refresh_token=tokens.refresh_token,
            expires_at=tokens.expires_at if expires_in is None else datetime.now(UTC) + expires_in,
            handle="herald_dev",
        )
        account = Account("x-1", "x", "@herald_dev", "UTC", publisher="x")
        await self.store.connect(
            creds, account, Event("e-c", datetime.now(UTC), "account.connected", "U1")
        )
        return creds


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[World]:
    from storage.migrate import upgrade
    from tests.conftest import empty_postgres

    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'herald.db'}"
        await upgrade(url)
    else:
        url = str(request.getfixturevalue("migrated_postgres_url"))
        await empty_postgres(url)
    fake = FakeX()
    fake.users["2244994945"] = "herald_dev"
    fake.oauth.consent_user = "2244994945"
    served = await fake.serve()
    repository = SQLAlchemyRepository(url)
    store = SQLAlchemyCredentialStore(repository.engine, FernetSecretBox(KEY))
    oauth = fake.oauth
    client = XOAuthClient(oauth.client_id, oauth.client_secret, SystemClock(), base_url=served.url)
    yield World(oauth, repository, store, client, RecordingNotifier(), url)
    await repository.close()
    await served.close()


class TestRefresh:
    async def test_fresh_token_is_not_refreshed(self, world: World) -> None:
        """A token with hours left is handed out as stored, with no token call."""
        creds = await world.connect()
        got = await world.refresher().credentials("x-1")
        assert got.access_token == creds.access_token
        assert world.fake.token_calls.get("refresh_token", 0) == 0

    async def test_refresh_ahead_of_expiry_saves_rotation(self, world: World) -> None:
        """Within the margin the token is refreshed; the rotated refresh token is stored."""
        creds = await world.connect(expires_in=timedelta(minutes=2))
        got = await world.refresher().credentials("x-1")
        assert got.access_token != creds.access_token
        assert got.refresh_token == world.fake.issued_refresh[-1] != creds.refresh_token
        stored = await world.store.get("x-1")
        assert (stored.access_token, stored.refresh_token) == (got.access_token, got.refresh_token)
        assert world.fake.token_calls["refresh_token"] == 1

    async def test_one_refresh_across_two_replicas(self, world: World) -> None:
        """Two stores on one database refreshing at once reach the token endpoint once."""
        refused = (await world.connect()).access_token
        other_repo = SQLAlchemyRepository(world.url)
        other = SQLAlchemyCredentialStore(other_repo.engine, FernetSecretBox(KEY))
        # Four workers got a 401 for the same token at about the same time.
        stores = [world.store, other, world.store, other]
        try:
            results = await asyncio.gather(
                *(
                    world.refresher(store, worker=f"w{i}").credentials(
                        "x-1", force_refresh=True, rejected_token=refused
                    )
                    for i, store in enumerate(stores)
                )
            )
        finally:
            await other_repo.close()
        assert world.fake.token_calls["refresh_token"] == 1
        assert len({r.access_token for r in results}) == 1
        assert (await world.store.get("x-1")).refresh_token == world.fake.issued_refresh[-1]

    async def test_temporary_failures_keep_the_token(self, world: World) -> None:
        """5xx and 429 on refresh are temporary: the account stays ACTIVE, nothing alerted."""
        await world.connect()
        refresher = world.refresher()
        world.fake.token_failures.append((503, {"title": "Service Unavailable"}, {}))
        with pytest.raises(NetworkError):
            await refresher.credentials("x-1", force_refresh=True)
        world.fake.token_failures.append((429, {"title": "Too Many Requests"}, {}))
        with pytest.raises(RateLimited):
            await refresher.credentials("x-1", force_refresh=True)
        async with world.repository.unit_of_work() as uow:
            assert (await uow.get_account("x-1")).state == AccountState.ACTIVE
        assert world.notifier.events == []
        # The lease was given back: the next refresh works.
        await refresher.credentials("x-1", force_refresh=True)

    async def test_revoked_goes_needs_auth_once(self, world: World) -> None:
        """invalid refresh -> AuthExpired, account NEEDS_AUTH, one event and one alert."""
        creds = await world.connect()
        world.fake.revoke_all()
        refresher = world.refresher()
        for _ in range(3):
            with pytest.raises(AuthExpired) as caught:
                await refresher.credentials("x-1", force_refresh=True)
            assert creds.refresh_token not in str(caught.value)
        async with world.repository.unit_of_work() as uow:
            assert (await uow.get_account("x-1")).state == AccountState.NEEDS_AUTH
            events = await uow.list_events(kind_prefix=NEEDS_AUTH_EVENT)
        assert len(events) == 1 and [e.kind for e in world.notifier.events] == [NEEDS_AUTH_EVENT]
        assert world.fake.token_calls["refresh_token"] == 1
        # Reconnecting clears it.
        await world.store.save(replace(creds, access_token="new"))
        assert (await world.refresher().credentials("x-1")).access_token == "new"
