"""`herald accounts connect` (loopback redirect), `set-token` (stdin, OAuth 1.0a), `disconnect`,
`list` with connections, and `herald secrets generate-key|rotate`."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.bootstrap import build_oauth
from bot.cli import main
from bot.cli.oauth import connect_loopback
from bot.settings import load_settings
from engine.adapters.oauth_platforms import XOAuthClient
from engine.clock import SystemClock
from engine.errors import InvalidInput
from storage.secret_box import generate_key
from storage.sqlalchemy_repository import SQLAlchemyRepository
from tests.engine.execution_support import RecordingNotifier
from tests.fakes.x_api import FakeX

KEY = generate_key()
HEADER = (
    "id,platform,handle,timezone,language,followers,health,state,"
    "last_posted_at,rate_limited_until\n"
)


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A migrated SQLite file with one X account, and HERALD_SECRET_KEY set."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("HERALD_DATABASE_URL", url)
    monkeypatch.setenv("HERALD_SECRET_KEY", KEY)
    csv = tmp_path / "accounts.csv"
    csv.write_text(HEADER + "x-1,twitter,@herald_dev,UTC,en,10,1.0,ACTIVE,,\n")
    assert main(["db", "upgrade"]) == 0
    assert main(["accounts", "import", str(csv)]) == 0
    return url


class TestLoopbackConnect:
    async def test_connect_through_a_loopback_redirect(self, tmp_path: Path) -> None:
        """The CLI prints the consent URL, gets the browser's redirect on 127.0.0.1, connects."""
        from storage.migrate import upgrade

        url = f"sqlite+aiosqlite:///{tmp_path / 'loop.db'}"
        await upgrade(url)
        fake = FakeX()
        fake.users["2244994945"] = "herald_dev"
        fake.oauth.consent_user = "2244994945"
        served = await fake.serve()
        repository = SQLAlchemyRepository(url)
        settings = load_settings({"HERALD_SECRET_KEY": KEY, "HERALD_DATABASE_URL": url})
        client = XOAuthClient(
            fake.oauth.client_id, fake.oauth.client_secret, SystemClock(), base_url=served.url
        )
        oauth = build_oauth(
            settings,
            repository,
            SystemClock(),
            RecordingNotifier(),
            worker_id="cli",
            clients={"x": client},
        )
        out = io.StringIO()

        async def browser(consent_url: str) -> None:
            async def visit() -> None:
                async with aiohttp.ClientSession() as session, session.get(consent_url) as r:
                    assert r.status == 200

            asyncio.get_running_loop().create_task(visit())

        try:
            code = await connect_loopback(oauth, "x", port=0, out=out, on_url=browser, timeout=10)
            assert code == 0, out.getvalue()
            assert "Connected @herald_dev on X" in out.getvalue()
            assert "http://127.0.0.1:" in out.getvalue()
            creds = await oauth.store.get("twitter-herald_dev")
            assert creds.access_token == fake.oauth.issued_access[-1]
            assert creds.access_token not in out.getvalue()
        finally:
            await repository.close()
            await served.close()


class TestSetToken:
    def test_oauth1_token_from_stdin(
        self, database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """An X OAuth 1.0a token and secret come from stdin, are stored marked, never echoed."""
        monkeypatch.setattr("sys.stdin", io.StringIO("12345-usertoken\nusersecret\n"))
        assert main(["accounts", "set-token", "x-1", "--platform", "x", "--oauth1"]) == 0
        out = capsys.readouterr().out
        assert "OAuth 1.0a" in out and "usertoken" not in out and "usersecret" not in out
        assert main(["accounts", "list", "--json"]) == 0
        row = json.loads(capsys.readouterr().out.strip().splitlines()[0])
        assert (row["publisher"], row["connected"]) == ("x", True)

        async def stored() -> Any:
            from storage.credential_store import SQLAlchemyCredentialStore
            from storage.secret_box import FernetSecretBox

            store = SQLAlchemyCredentialStore(database, FernetSecretBox(KEY))
            try:
                return await store.get("x-1")
            finally:
                await store.close()

        creds = asyncio.run(stored())
        assert creds.extra == {"oauth1": True} and creds.token_secret == "usersecret"
        assert creds.platform_user_id == "12345"
        assert main(["accounts", "disconnect", "x-1"]) == 0
        assert "disconnected x-1" in capsys.readouterr().out
        assert main(["accounts", "list"]) == 0
        assert "simulated" in capsys.readouterr().out  # back to the default publisher

    def test_refuses_without_key(
        self, database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Without HERALD_SECRET_KEY the token is refused and the message says so."""
        monkeypatch.delenv("HERALD_SECRET_KEY")
        monkeypatch.setattr("sys.stdin", io.StringIO("sometoken\n"))
        assert main(["accounts", "set-token", "x-1", "--platform", "x"]) == 2
        err = capsys.readouterr().err
        assert "HERALD_SECRET_KEY is not set" in err and "sometoken" not in err


class TestSecrets:
    def test_generate_and_rotate(
        self, database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A new key put first + `secrets rotate` lets the old key be dropped."""
        monkeypatch.setattr("sys.stdin", io.StringIO("tok\n"))
        assert main(["accounts", "set-token", "x-1", "--platform", "x"]) == 0
        assert main(["secrets", "generate-key"]) == 0
        new = capsys.readouterr().out.strip().splitlines()[-1]
        monkeypatch.setenv("HERALD_SECRET_KEY", f"{new},{KEY}")
        assert main(["secrets", "rotate"]) == 0
        assert "re-encrypted 1 connection(s)" in capsys.readouterr().out
        monkeypatch.setenv("HERALD_SECRET_KEY", new)
        monkeypatch.setattr("sys.stdin", io.StringIO("tok2\n"))
        assert main(["accounts", "set-token", "x-1", "--platform", "x"]) == 0

    def test_bad_key_is_named(self) -> None:
        """A malformed HERALD_SECRET_KEY is refused naming the setting."""
        with pytest.raises(InvalidInput, match="HERALD_SECRET_KEY"):
            from storage.secret_box import FernetSecretBox

            FernetSecretBox("short")
