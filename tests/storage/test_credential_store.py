"""The credential store on memory, SQLite and PostgreSQL: encrypted at rest, one refresh lease,
needs-reauth once, key rotation; OAuth states single use."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from engine.credentials import Credentials, PendingAuthorization
from engine.errors import AuthExpired, InvalidInput, StorageError
from engine.models import AccountState
from storage.credential_store import SQLAlchemyCredentialStore
from storage.memory_credentials import MemoryCredentialStore, MemoryOAuthStateStore
from storage.oauth_states import SQLAlchemyOAuthStateStore
from storage.secret_box import FernetSecretBox, generate_key
from tests.storage.factories import account, event

T0 = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
KEY = generate_key()
ACCESS = "AT-sentinel-4f1d9c7e-access"
REFRESH = "RT-sentinel-8b2a6e0d-refresh"


def database_bytes(directory: Path) -> bytes:
    """Every byte of the SQLite database and its WAL/SHM files in `directory`."""
    return b"".join(p.read_bytes() for p in sorted(directory.glob("herald.db*")))


def creds(account_id: str = "x-1", **changes: Any) -> Credentials:
    base = Credentials(
        account_id=account_id,
        publisher="x",
        platform_user_id="2244994945",
        access_token=ACCESS,
        refresh_token=REFRESH,
        expires_at=T0 + timedelta(hours=2),
        scopes=("tweet.read", "tweet.write"),
        handle="herald_dev",
    )
    return replace(base, **changes)


@pytest.fixture
async def store(repository: Any) -> AsyncIterator[Any]:
    """A credential store next to each backend's repository (same database)."""
    box = FernetSecretBox(KEY)
    if repository.backend == "memory":
        yield MemoryCredentialStore(box, repository=repository)
        return
    sql = SQLAlchemyCredentialStore(repository.engine, box)
    sql.backend = repository.backend  # type: ignore[attr-defined]
    yield sql
    await sql.close()


class TestCredentialStore:
    async def test_round_trip(self, store: Any) -> None:
        """Saved credentials come back equal, tokens included; the repr shows no token."""
        await store.save(creds())
        got = await store.get("x-1")
        assert got == creds()
        assert ACCESS not in repr(got) and REFRESH not in repr(got)

    async def test_not_connected_is_auth_expired(self, store: Any) -> None:
        """An account without tokens raises AuthExpired naming how to connect it."""
        with pytest.raises(AuthExpired, match="not connected"):
            await store.get("nobody")

    async def test_refuses_without_key(self, repository: Any) -> None:
        """Without HERALD_SECRET_KEY nothing is stored, and the message says why."""
        box = FernetSecretBox("")
        store: Any = (
            MemoryCredentialStore(box)
            if repository.backend == "memory"
            else SQLAlchemyCredentialStore(repository.engine, box)
        )
        with pytest.raises(InvalidInput, match="HERALD_SECRET_KEY"):
            await store.save(creds())
        assert await store.list_connections() == []

    async def test_connect_sets_publisher_and_audits(self, store: Any, repository: Any) -> None:
        """connect writes the account (publisher set), the tokens and one event together."""
        acc = account("x-1", "x", publisher="x")
        await store.connect(creds(), acc, event("account.connected", account_id="x-1"))
        async with repository.unit_of_work() as uow:
            stored = await uow.get_account("x-1")
            events = await uow.list_events(kind_prefix="account.connected")
            # A later CSV import without a publisher keeps the connection's.
            await uow.upsert_accounts([replace(acc, publisher="", followers=7)])
        assert stored.publisher == "x" and len(events) == 1
        assert ACCESS not in str(events[0].data)
        async with repository.unit_of_work() as uow:
            again = await uow.get_account("x-1")
        assert again.publisher == "x" and again.followers == 7
        infos = await store.list_connections()
        assert [(i.account_id, i.publisher, i.connected) for i in infos] == [("x-1", "x", True)]

    async def test_one_lease_holder(self, store: Any) -> None:
        """While one holder's lease runs, another cannot take it; after finish it is free."""
        await store.save(creds())
        lease = timedelta(seconds=60)
        assert await store.acquire_refresh("x-1", "a", now=T0, lease=lease)
        assert not await store.acquire_refresh("x-1", "b", now=T0, lease=lease)
        # An expired lease (its holder died) can be taken over.
        assert await store.acquire_refresh("x-1", "b", now=T0 + lease, lease=lease)
        await store.finish_refresh(creds(access_token="new", refresh_token="rotated"), "b")
        assert (await store.get("x-1")).refresh_token == "rotated"
        assert await store.acquire_refresh("x-1", "a", now=T0 + lease, lease=lease)
        await store.release_refresh("x-1", "a")
        assert await store.acquire_refresh("x-1", "c", now=T0 + lease, lease=lease)

    async def test_needs_reauth_once(self, store: Any, repository: Any) -> None:
        """Marking needs-reauth moves the account to NEEDS_AUTH with one event, only once."""
        async with repository.unit_of_work() as uow:
            await uow.upsert_accounts([account("x-1", "x", publisher="x")])
        await store.save(creds())
        assert await store.mark_needs_reauth("x-1", event("account.needs_auth", account_id="x-1"))
        assert not await store.mark_needs_reauth(
            "x-1", event("account.needs_auth", id="e-2", account_id="x-1")
        )
        with pytest.raises(AuthExpired, match="needs reconnecting"):
            await store.get("x-1")
        async with repository.unit_of_work() as uow:
            assert (await uow.get_account("x-1")).state == AccountState.NEEDS_AUTH
            assert len(await uow.list_events(kind_prefix="account.needs_auth")) == 1
        # Reconnecting clears the mark.
        await store.save(creds(access_token="fresh"))
        assert (await store.get("x-1")).access_token == "fresh"

    async def test_disconnect(self, store: Any, repository: Any) -> None:
        """disconnect forgets the tokens and the publisher; a second one changes nothing."""
        await store.connect(creds(), account("x-1", "x", publisher="x"), event(account_id="x-1"))
        assert await store.disconnect("x-1", event("account.disconnected", id="e-9"))
        assert not await store.disconnect("x-1", event("account.disconnected", id="e-10"))
        with pytest.raises(AuthExpired):
            await store.get("x-1")
        async with repository.unit_of_work() as uow:
            assert (await uow.get_account("x-1")).publisher == ""


class TestEncryptionAtRest:
    async def test_database_file_has_no_clear_token(self, sqlite_url: str, tmp_path: Path) -> None:
        """The SQLite file (and its WAL) never contains a token in clear."""
        from storage.migrate import upgrade

        await upgrade(sqlite_url)
        store = SQLAlchemyCredentialStore(sqlite_url, FernetSecretBox(KEY))
        await store.save(creds(token_secret="TS-sentinel-secret"))
        assert (await store.get("x-1")).token_secret == "TS-sentinel-secret"
        await store.close()
        raw = database_bytes(tmp_path)
        for secret in (ACCESS, REFRESH, "TS-sentinel-secret"):
            assert secret.encode() not in raw

    async def test_key_rotation(self, sqlite_url: str) -> None:
        """New key first + rotate re-encrypts, so the old key can then be dropped."""
        from storage.migrate import upgrade

        await upgrade(sqlite_url)
        old, new = KEY, generate_key()
        store = SQLAlchemyCredentialStore(sqlite_url, FernetSecretBox(old))
        await store.save(creds())
        await store.close()
        both = SQLAlchemyCredentialStore(sqlite_url, FernetSecretBox(f"{new},{old}"))
        assert (await both.get("x-1")).access_token == ACCESS
        assert await both.rotate_keys() == 1
        await both.close()
        only_new = SQLAlchemyCredentialStore(sqlite_url, FernetSecretBox(new))
        assert (await only_new.get("x-1")).access_token == ACCESS
        await only_new.close()
        only_old = SQLAlchemyCredentialStore(sqlite_url, FernetSecretBox(old))
        with pytest.raises(StorageError, match="does not open") as caught:
            await only_old.get("x-1")
        assert ACCESS not in str(caught.value)
        await only_old.close()

    def test_bad_key_is_named(self) -> None:
        """A malformed key is refused naming the setting and its position, not its value."""
        with pytest.raises(InvalidInput, match="key 2 of 2") as caught:
            FernetSecretBox(f"{KEY},not-a-key")
        assert "not-a-key" not in str(caught.value)


@pytest.fixture
async def states(repository: Any) -> AsyncIterator[Any]:
    box = FernetSecretBox(KEY)
    if repository.backend == "memory":
        yield MemoryOAuthStateStore(box)
        return
    sql = SQLAlchemyOAuthStateStore(repository.engine, box)
    yield sql
    await sql.close()


class TestOAuthStates:
    async def test_single_use(self, states: Any) -> None:
        """A state is taken once, with its PKCE verifier; the second take gets None."""
        pending = PendingAuthorization(
            state="st-123",
            platform="x",
            slack_user="U1",
            slack_team="T1",
            redirect_uri="https://herald.example/oauth/callback",
            created_at=T0,
            expires_at=T0 + timedelta(minutes=10),
            code_verifier="verifier-secret",
            channel="C1",
            authorize_url="https://x.com/i/oauth2/authorize?state=st-123",
        )
        await states.put(pending)
        assert await states.authorize_url("st-123", now=T0) == pending.authorize_url
        assert await states.authorize_url("st-123", now=T0 + timedelta(minutes=10)) is None
        assert await states.take("st-123", now=T0) == pending
        assert await states.authorize_url("st-123", now=T0) is None
        assert await states.take("st-123", now=T0) is None
        assert await states.take("unknown", now=T0) is None

    async def test_refused_without_key(self, repository: Any) -> None:
        """Without HERALD_SECRET_KEY no sign-in starts (its tokens could not be stored)."""
        box = FernetSecretBox(None)
        states: Any = (
            MemoryOAuthStateStore(box)
            if repository.backend == "memory"
            else SQLAlchemyOAuthStateStore(repository.engine, box)
        )
        pending = PendingAuthorization(
            "s", "linkedin", "U1", "T1", "https://h/oauth/callback", T0, T0 + timedelta(minutes=10)
        )
        with pytest.raises(InvalidInput, match="HERALD_SECRET_KEY"):
            await states.put(pending)
