"""`herald db upgrade|check` and `herald accounts import|list`, run through bot.cli.main."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from storage.sqlalchemy_repository import SQLAlchemyRepository

HEADER = (
    "id,platform,handle,timezone,language,followers,health,state,"
    "last_posted_at,rate_limited_until\n"
)
GOOD_1 = "tt-1,tiktok,@one,Europe/Paris,fr,100,0.9,ACTIVE,2026-11-20T10:00:00Z,\n"
GOOD_2 = "ig-1,instagram,@two,America/New_York,en,200,1.0,ACTIVE,,\n"
BAD_TZ = "tt-2,tiktok,@three,Mars/Olympus,en,5,1.0,ACTIVE,,\n"
BAD_PLATFORM = "xx-1,myspace,@four,UTC,en,5,1.0,ACTIVE,,\n"


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """HERALD_DATABASE_URL pointing at a new SQLite file."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'admin.db'}"
    monkeypatch.setenv("HERALD_DATABASE_URL", url)
    return url


def _stored(url: str) -> tuple[list[Any], list[Any]]:
    async def read() -> tuple[list[Any], list[Any]]:
        repo = SQLAlchemyRepository(url)
        try:
            async with repo.unit_of_work() as uow:
                return await uow.list_accounts(), await uow.list_events()
        finally:
            await repo.close()

    return asyncio.run(read())


class TestDbCommands:
    def test_upgrade_then_check(self, database: str, capsys: pytest.CaptureFixture[str]) -> None:
        """`db check` refuses a fresh database, `db upgrade` fixes it, `db check` then passes."""
        assert main(["db", "check"]) == 2
        assert "run `herald db upgrade`" in capsys.readouterr().err
        assert main(["db", "upgrade"]) == 0
        assert "is at revision" in capsys.readouterr().out
        assert main(["db", "check"]) == 0
        assert "is current" in capsys.readouterr().out


class TestAccountsImport:
    def test_imports_good_rows_and_reports_bad_lines(
        self, database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Good rows are upserted; each bad row is named by line; one audit event is written."""
        main(["db", "upgrade"])
        csv_file = tmp_path / "accounts.csv"
        csv_file.write_text(HEADER + GOOD_1 + BAD_TZ + GOOD_2 + BAD_PLATFORM)
        capsys.readouterr()
        assert main(["accounts", "import", str(csv_file)]) == 1
        out, err = capsys.readouterr()
        assert "imported 2 account(s)" in out
        assert "line 3" in err and "line 5" in err
        accounts, events = _stored(database)
        assert [a.id for a in accounts] == ["ig-1", "tt-1"]
        assert [e.kind for e in events] == ["account.imported"]
        assert events[0].data["imported"] == 2
        assert events[0].data["lines"] == [3, 5]

    def test_reimport_upserts(
        self, database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Importing a changed row replaces the stored account; a clean file exits 0."""
        main(["db", "upgrade"])
        csv_file = tmp_path / "accounts.csv"
        csv_file.write_text(HEADER + GOOD_1)
        assert main(["accounts", "import", str(csv_file)]) == 0
        csv_file.write_text(HEADER + GOOD_1.replace(",100,", ",555,"))
        assert main(["accounts", "import", str(csv_file)]) == 0
        accounts, _ = _stored(database)
        assert [(a.id, a.followers) for a in accounts] == [("tt-1", 555)]

    def test_refuses_unmigrated_database(
        self, database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Importing into a database that was never migrated changes nothing and says why."""
        csv_file = tmp_path / "accounts.csv"
        csv_file.write_text(HEADER + GOOD_1)
        assert main(["accounts", "import", str(csv_file)]) == 2
        assert "herald db upgrade" in capsys.readouterr().err
        assert not Path(database.split("///", 1)[1]).exists()

    def test_missing_file(self, database: str, capsys: pytest.CaptureFixture[str]) -> None:
        """A file that does not exist is a one-line error, exit 2."""
        assert main(["accounts", "import", "/nonexistent/accounts.csv"]) == 2
        assert "no such file" in capsys.readouterr().err


class TestAccountsList:
    def test_lists_table_and_json(
        self, database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`accounts list` prints every account; --platform filters; --json prints JSON lines."""
        main(["db", "upgrade"])
        csv_file = tmp_path / "accounts.csv"
        csv_file.write_text(HEADER + GOOD_1 + GOOD_2)
        main(["accounts", "import", str(csv_file)])
        capsys.readouterr()
        assert main(["accounts", "list"]) == 0
        out = capsys.readouterr().out
        assert "@one" in out and "@two" in out and "2 account(s)" in out
        assert main(["accounts", "list", "--platform", "tiktok", "--json"]) == 0
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert [(x["id"], x["followers"]) for x in lines] == [("tt-1", 100)]
