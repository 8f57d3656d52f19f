"""The "will be PRIVATE" plan notes (TikTok's unaudited client, YouTube's unverified project)
through the real bolt app with HERALD_SECRET_KEY set: only for slots whose account posts
through that platform's own API client, never for simulated accounts."""

from __future__ import annotations

from engine.models import Account
from storage.secret_box import generate_key
from tests.bot.conftest import OPERATOR, Harness, start_harness, stop_harness
from tests.bot.fake_slack import FakeSlack

CREATE = (
    "create name=n caption=Hi platforms=tiktok,youtube window=2h start=2026-12-01T11:00Z accounts=4"
)


async def _plan_card(fake: FakeSlack, accounts: list[Account]) -> str:
    h: Harness
    h, runner = await start_harness(fake, HERALD_SECRET_KEY=generate_key())
    try:
        async with h.deps.herald.repository.unit_of_work() as uow:
            await uow.upsert_accounts(accounts)
        await h.driver.command(CREATE, user=OPERATOR)
        await h.settle(until=lambda: "Created draft" in h.fake.responses_text())
        await h.driver.command("plan n", user=OPERATOR)
        await h.settle(until=lambda: "Planned" in h.fake.responses_text())
        return h.card().all_text()
    finally:
        await stop_harness(h, runner)


def _accounts(*, connected: bool) -> list[Account]:
    return [
        Account(f"{p[:2]}-{i}", p, f"@{p}{i}", "UTC", publisher=p if connected and i == 1 else "")
        for p in ("tiktok", "youtube")
        for i in (1, 2)
    ]


class TestPrivateNotes:
    async def test_simulated_accounts_get_no_private_note(self, fake: FakeSlack) -> None:
        """With a secret key set but every account simulated, the card says nothing private."""
        text = await _plan_card(fake, _accounts(connected=False))
        assert "PRIVATE" not in text

    async def test_connected_accounts_get_the_note_for_their_posts_only(
        self, fake: FakeSlack
    ) -> None:
        """One connected account per platform: each note counts that account's post only."""
        text = await _plan_card(fake, _accounts(connected=True))
        assert "tiktok: 1 post will be PRIVATE" in text
        assert "youtube: 1 post will be PRIVATE" in text
