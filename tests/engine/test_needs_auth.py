"""A revoked token end to end in the engine: the refresher marks the account NEEDS_AUTH once,
its slot follows the suspended-account fallback, and the planner never selects it again."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from engine.clock import ManualClock
from engine.credentials import Credentials, Profile, TokenSet
from engine.dispatcher import Dispatcher, DispatcherConfig
from engine.errors import AuthExpired
from engine.models import AccountState, SlotStatus
from engine.ports import PublishReceipt, PublishRequest
from engine.selection import ineligible_reason
from engine.token_refresh import NEEDS_AUTH_EVENT, LeasedTokenRefresher
from storage.memory_credentials import MemoryCredentialStore
from storage.secret_box import FernetSecretBox, generate_key
from tests.engine.execution_support import (
    T0,
    RecordingNotifier,
    make_accounts,
    memory_repository,
    seed_run,
    slots_of,
)


class RevokedClient:
    """An OAuth client whose token endpoint answers invalid_grant (the user revoked Herald)."""

    publisher = "tiktok"
    platform = "tiktok"
    calls = 0

    def authorization_url(self, *, state: str, redirect_uri: str) -> object:
        raise NotImplementedError

    async def exchange_code(self, code: str, **_: object) -> TokenSet:
        raise NotImplementedError

    async def refresh(self, credentials: Credentials) -> TokenSet:
        self.calls += 1
        raise AuthExpired("TikTok refused the refresh token (invalid_grant)")

    async def profile(self, access_token: str) -> Profile:
        raise NotImplementedError


class TokenPublisher:
    """A publisher that asks the refresher for a usable token before every post."""

    supports_idempotency = False

    def __init__(self, refresher: LeasedTokenRefresher) -> None:
        self.refresher = refresher
        self.posted: list[str] = []

    async def publish(self, request: PublishRequest) -> PublishReceipt:
        await self.refresher.credentials(request.account.id)
        self.posted.append(request.account.id)
        return PublishReceipt(f"post-{request.slot_id}")


class TestNeedsAuth:
    async def test_revoked_account_falls_back_and_alerts_once(self) -> None:
        """Revoked refresh -> NEEDS_AUTH, slots move to another account, one needs_auth event."""
        repository = memory_repository()
        clock = ManualClock(T0)
        notifier = RecordingNotifier()
        accounts = make_accounts(3, ["tiktok"])
        store = MemoryCredentialStore(FernetSecretBox(generate_key()), repository=repository)
        client = RevokedClient()
        refresher = LeasedTokenRefresher(store, {"tiktok": client}, clock, notifier)
        # tiktok-00 has two slots in two runs; its token is about to expire.
        distribution, _ = await seed_run(repository, accounts[:1])
        second, later = await seed_run(repository, accounts[:1], name="second")
        async with repository.unit_of_work() as uow:
            await uow.upsert_accounts(accounts)
        for account in accounts:
            await store.save(
                Credentials(
                    account.id,
                    "tiktok",
                    account.id,
                    access_token=f"at-{account.id}",
                    refresh_token=f"rt-{account.id}",
                    expires_at=T0
                    + (timedelta(minutes=1) if account.id == "tiktok-00" else timedelta(hours=20)),
                )
            )
        publisher = TokenPublisher(refresher)
        dispatcher = Dispatcher(
            repository,
            publisher,
            clock,
            notifier,
            config=DispatcherConfig(worker_id="w", lease=timedelta(minutes=5)),
        )
        for _ in range(4):
            await dispatcher.tick()

        async with repository.unit_of_work() as uow:
            assert (await uow.get_account("tiktok-00")).state == AccountState.NEEDS_AUTH
        for run in (distribution, second):
            stored = await slots_of(repository, run.id)
            moved = [s for s in stored if s.redistributed_from]
            assert {s.status for s in stored if not s.redistributed_from} == {SlotStatus.SKIPPED}
            assert moved and moved[0].account_id != "tiktok-00"
            assert moved[0].status == SlotStatus.PUBLISHED
        assert notifier.kinds().count(NEEDS_AUTH_EVENT) == 1
        assert client.calls == 1
        assert "tiktok-00" not in publisher.posted
        # The planner leaves it out until someone reconnects it.
        account = next(a for a in accounts if a.id == "tiktok-00")
        needs_auth = replace(account, state=AccountState.NEEDS_AUTH)
        assert "NEEDS_AUTH" in (ineligible_reason(needs_auth, window_end=T0) or "")
        assert len(later) == 1
