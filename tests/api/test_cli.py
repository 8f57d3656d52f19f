"""`herald tokens create|list|revoke` and `herald webhooks add|list|remove` via bot.cli.main."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.cli import main
from storage.api_store import ApiStore
from storage.database import create_engine
from storage.migrate import upgrade


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("HERALD_DATABASE_URL", url)
    asyncio.run(upgrade(url))
    return url


def _hashes(url: str) -> list[str]:
    async def read() -> list[str]:
        from sqlalchemy import select

        from storage import tables as t

        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                rows = await conn.execute(select(t.api_tokens.c.token_hash))
                return [r[0] for r in rows]
        finally:
            await engine.dispose()

    return asyncio.run(read())


class TestTokensCli:
    def test_create_list_revoke(self, database: str, capsys: pytest.CaptureFixture[str]) -> None:
        """The token is printed once; only its hash is stored; list shows it; revoke ends it."""
        assert (
            main(
                [
                    "tokens",
                    "create",
                    "--as",
                    "U_BOSS",
                    "--scopes",
                    "read,approve",
                    "--expires",
                    "90d",
                ]
            )
            == 0
        )
        out = capsys.readouterr().out.splitlines()
        secret = out[0]
        assert secret.startswith("hrd_tok-") and "U_BOSS" in out[1]
        assert secret not in str(_hashes(database)) and len(_hashes(database)[0]) == 64
        token_id = secret.split("_")[1]
        assert main(["tokens", "list"]) == 0
        listed = capsys.readouterr().out
        assert token_id in listed and "active" in listed and secret not in listed

        async def check() -> bool:
            from datetime import UTC, datetime

            engine = create_engine(database)
            try:
                store = ApiStore(engine)
                found = await store.verify(secret, datetime.now(UTC)) is not None
                await store.close()
                return found
            finally:
                await engine.dispose()

        assert asyncio.run(check())
        assert main(["tokens", "revoke", token_id]) == 0
        assert not asyncio.run(check())

    def test_bad_scope_is_named(self, database: str, capsys: pytest.CaptureFixture[str]) -> None:
        """An unknown scope is refused, naming --scopes; nothing stored."""
        assert main(["tokens", "create", "--as", "U1", "--scopes", "read,admin"]) == 2
        assert "--scopes: admin" in capsys.readouterr().err
        assert _hashes(database) == []

    @pytest.mark.parametrize(
        ("argv", "message"),
        [
            (["--as", "nobody"], "--as: 'nobody' is not a Slack user id"),
            (["--as", "S0GROUP"], "--as: 'S0GROUP' is not a Slack user id"),
            (["--as", "U1", "--expires", "0"], "--expires: '0' must be longer than 0"),
            (["--as", "U1", "--expires=-5d"], "--expires: '-5d' is not a duration"),
            (["--as", "U1", "--scopes", ","], "--scopes: empty; give one or more of read"),
        ],
    )
    def test_token_that_could_not_work_is_refused(
        self, database: str, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
    ) -> None:
        """A token for no Slack user, already expired or with no scope is refused by name."""
        assert main(["tokens", "create", *argv]) == 2
        assert message in capsys.readouterr().err
        assert _hashes(database) == []


class TestAccountsListCli:
    def test_unknown_platform_is_refused_not_an_empty_list(
        self, database: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`accounts list --platform tiktk` names the known platforms (no silent "0 accounts")."""
        assert main(["accounts", "list", "--platform", "tiktk"]) == 2
        assert "unknown platform 'tiktk' (known: instagram" in capsys.readouterr().err
        assert main(["accounts", "list", "--platform", "TikTok"]) == 0
        assert "0 account(s)" in capsys.readouterr().out


class TestWebhooksCli:
    def test_unknown_event_kind_is_refused(
        self, database: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A subscription to no event kind (a typo, `slot.*`) is refused, with the likely one;
        such an endpoint would be stored and never receive anything."""
        monkeypatch.setenv("HERALD_SECRET_KEY", "OGqc8w6zTIECcyD318XLCE1Fbu9tYrdlZL3sh0lBio8=")
        url = "https://example.test/h"
        assert main(["webhooks", "add", url, "--events", "slot.published,slot.publishd"]) == 2
        assert "'slot.publishd' is not an event kind (did you mean slot.published?)" in (
            capsys.readouterr().err
        )
        assert main(["webhooks", "add", url, "--events", "slot.*"]) == 2
        assert main(["webhooks", "list"]) == 0
        assert capsys.readouterr().out == ""
        assert main(["webhooks", "add", url, "--events", "token.revoked,slot.rehearsed"]) == 0

    def test_needs_secret_key(self, database: str, capsys: pytest.CaptureFixture[str]) -> None:
        """Without HERALD_SECRET_KEY no webhook is stored (its secret could not be encrypted)."""
        assert main(["webhooks", "add", "https://example.test/h", "--events", "*"]) == 2
        assert "HERALD_SECRET_KEY" in capsys.readouterr().err

    def test_add_list_remove(
        self, database: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The secret is printed once and stored encrypted; list and remove work."""
        monkeypatch.setenv("HERALD_SECRET_KEY", "OGqc8w6zTIECcyD318XLCE1Fbu9tYrdlZL3sh0lBio8=")
        assert (
            main(
                [
                    "webhooks",
                    "add",
                    "https://example.test/h",
                    "--events",
                    "slot.published,distribution.completed",
                ]
            )
            == 0
        )
        secret, line = capsys.readouterr().out.splitlines()[:2]
        assert secret.startswith("whsec_")
        hook_id = line.split()[1]
        db = Path(database.removeprefix("sqlite+aiosqlite:///")).read_bytes()
        assert secret.encode() not in db
        assert main(["webhooks", "list"]) == 0
        assert hook_id in capsys.readouterr().out
        assert main(["webhooks", "remove", hook_id]) == 0
        assert main(["webhooks", "remove", hook_id]) == 2
