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


class TestWebhooksCli:
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
