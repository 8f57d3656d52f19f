"""`herald content import|list|show|archive`, run through bot.cli.main on a SQLite file."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from storage.sqlalchemy_repository import SQLAlchemyRepository


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """HERALD_DATABASE_URL pointing at a new, migrated SQLite file."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'content.db'}"
    monkeypatch.setenv("HERALD_DATABASE_URL", url)
    assert main(["db", "upgrade"]) == 0
    return url


def _stored(url: str) -> tuple[list[Any], list[Any]]:
    async def read() -> tuple[list[Any], list[Any]]:
        repo = SQLAlchemyRepository(url)
        try:
            async with repo.unit_of_work() as uow:
                return (
                    await uow.list_content_items(include_archived=True),
                    await uow.list_events(),
                )
        finally:
            await repo.close()

    return asyncio.run(read())


GOOD_CSV = (
    "id,caption,hashtags,link,tags,translation_es\n"
    "w1,Winter is here,snow ski,https://example.com/w1,winter launch,Llega el invierno\n"
    "w2,Cosy evenings,,,winter,\n"
)


def test_csv_import_list_show_archive(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A good CSV is imported whole with one audit event per item; list, show, archive work."""
    path = tmp_path / "items.csv"
    path.write_text(GOOD_CSV)
    assert main(["content", "import", str(path)]) == 0
    assert "imported 2 item(s)" in capsys.readouterr().out
    items, events = _stored(database)
    assert [i.id for i in items] == ["w1", "w2"]
    assert items[0].content.translations == {"es": "Llega el invierno"}
    assert items[0].content.tags == ["winter", "launch"]
    assert [e.kind for e in events] == ["content.added", "content.added"]
    assert main(["content", "list", "--tag", "launch", "--json"]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [d["id"] for d in listed] == ["w1"]
    assert main(["content", "show", "w2"]) == 0
    assert json.loads(capsys.readouterr().out)["caption"] == "Cosy evenings"
    assert main(["content", "archive", "w2"]) == 0
    assert capsys.readouterr().out == "archived w2\n"
    assert main(["content", "list"]) == 0
    assert "w2" not in capsys.readouterr().out
    assert main(["content", "show", "nope"]) == 2
    assert "no content item named or numbered 'nope'" in capsys.readouterr().err


def test_bad_rows_are_all_reported_and_nothing_is_imported(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every bad row is named by its line; the good rows are not imported either."""
    path = tmp_path / "items.json"
    path.write_text(
        "[\n"
        '  {"id": "ok", "caption": "Fine"},\n'
        '  {"id": "no-caption"},\n'
        '  {"id": "ok", "caption": "Again"},\n'
        '  {"id": "x", "caption": "Tags", "hashtags": ["bad tag"]},\n'
        '  {"id": "y", "caption": "Extra", "colour": "red"}\n'
        "]\n"
    )
    assert main(["content", "import", str(path)]) == 2
    err = capsys.readouterr().err
    assert "line 3: caption: is required" in err
    assert "line 4: duplicate id 'ok' (first on line 2)" in err
    assert "line 5: hashtags" in err
    assert "line 6: colour: is not a content field" in err
    assert "4 bad row(s); nothing imported" in err
    assert _stored(database) == ([], [])


def test_existing_id_refuses_the_whole_file(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file repeating an id already in the library is refused, naming its line."""
    path = tmp_path / "items.csv"
    path.write_text(GOOD_CSV)
    assert main(["content", "import", str(path)]) == 0
    path.write_text("id,caption\nnew,New one\nw2,Clash\n")
    assert main(["content", "import", str(path)]) == 2
    assert "line 3: id 'w2' is already in the library" in capsys.readouterr().err
    items, _ = _stored(database)
    assert [i.id for i in items] == ["w1", "w2"]
