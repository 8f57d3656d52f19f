"""`herald content import|list|show|archive`, run through bot.cli.main on a SQLite file."""

from __future__ import annotations

import asyncio
import json
import re
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
    assert "line 3 (item 2): caption: is required" in err
    assert "line 4 (item 3): duplicate id 'ok' (first on line 2)" in err
    assert "line 5 (item 4): hashtags" in err
    assert "line 6 (item 5): colour: is not a content field" in err
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


def _import(path: Path, text: str | bytes) -> int:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return main(["content", "import", str(path)])


class TestHostileFiles:
    def test_spreadsheet_dialects_import(
        self, database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A BOM, semicolons (European spreadsheets), Windows line endings and a quoted
        multi-line caption all import; line breaks are stored as `\\n`."""
        assert _import(tmp_path / "a.csv", "\ufeffid;caption;tags\r\ns1;Hola;Winter\r\n") == 0
        crlf = b'id,caption\r\ncr1,"two\r\nlines"\r\ncr2,plain\r\n'
        assert _import(tmp_path / "b.csv", crlf) == 0
        capsys.readouterr()
        items, _ = _stored(database)
        assert [(i.id, i.content.caption, i.content.tags) for i in items] == [
            ("s1", "Hola", ["winter"]),
            ("cr1", "two\nlines", []),
            ("cr2", "plain", []),
        ]

    @pytest.mark.parametrize(
        ("name", "text", "message"),
        [
            ("nohdr.csv", "n1,hello\n", "line 1: not a header row: expected column"),
            ("extra.csv", "id,caption,colour\ne1,hi,red\n", "line 1: unknown column(s): colour"),
            ("twice.csv", "id,caption,caption\ne1,a,b\n", "column(s) given twice: caption"),
            ("fields.csv", "id,caption\ne2,hi,red\n", "line 2: has 3 fields; the header has 2"),
            ("quote.csv", 'id,caption\nq1,"never closed\n', "a quoted field is never closed"),
            ("nul.csv", "id,caption\nn1,he\0llo\n", "line 2: caption: contains the control"),
            ("space.csv", "id,caption\nmy item,hi\n", "line 2: 'my item' is not a library id"),
            ("obj.json", '{"id": "j1", "caption": "hi"}', "got one object: put it in a list"),
            ("wrap.json", '{"items": [{"id": "j1"}]}', "import the list in its 'items' key"),
            ("open.json", '[{"id": "u1", "caption": "x"}', "the list is never closed"),
            ("comma.json", '[{"id": "a", "caption": "x"} {"id": "b"}]', "expected `,` or `]`"),
            ("trail.json", '[{"id": "a", "caption": "x"}] junk', "text after the list's"),
            ("tagged.json", '[{"id": "t", "caption": "x", "tags": ["Winter Sale"]}]', "not a tag"),
            ("bom.json", '\ufeff[{"id": "ok", "caption": "x"}, 7]', "(item 2): expected a JSON"),
            ("blank.json", '[{"id": "b", "caption": "  \\n "}]', "(item 1): caption: is blank"),
            ("comma.csv", 'id,caption,tags\n"a,b",x,\n', "'a,b' is not a library id"),
        ],
    )
    def test_every_bad_file_says_where_and_changes_nothing(
        self,
        database: str,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
        name: str,
        text: str,
        message: str,
    ) -> None:
        """Each hostile file: exit 2, one line naming the line (and item) and the problem,
        nothing imported."""
        assert _import(tmp_path / name, text) == 2
        err = capsys.readouterr().err
        assert message in err and "nothing imported" in err, err
        assert "Traceback" not in err
        assert _stored(database) == ([], [])

    def test_same_file_twice_is_idempotent_and_says_so(
        self, database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Importing a file again adds nothing and names the rows already there; a row
        whose id is taken by different fields is refused, naming what differs."""
        path = tmp_path / "items.csv"
        assert _import(path, GOOD_CSV) == 0
        assert main(["content", "archive", "w2"]) == 0
        capsys.readouterr()
        assert main(["content", "import", str(path)]) == 0
        out = capsys.readouterr().out
        assert "imported 0 item(s)" in out
        assert (
            "2 already in the library exactly as given, left as they are (w1, w2; 1 of them" in out
        )
        assert _import(path, GOOD_CSV + "w3,New,,,,\n") == 0
        assert "imported 1 item(s)" in capsys.readouterr().out
        assert _import(path, "id,caption\nw1,Changed\n") == 2
        taken = "id 'w1' is already in the library with different caption, hashtags"
        assert taken in capsys.readouterr().err
        items, events = _stored(database)
        assert [i.id for i in items] == ["w1", "w2", "w3"] and len(events) == 4

    def test_archive_twice_and_unknown_tag(
        self, database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Archiving twice says nothing changed; a list with no match says so on stderr; a
        two-word tag is refused."""
        _import(tmp_path / "items.csv", GOOD_CSV)
        assert main(["content", "archive", "w1"]) == 0
        assert main(["content", "archive", "w1"]) == 0
        assert "w1 was already archived on" in capsys.readouterr().out
        assert main(["content", "list", "--tag", "nothing"]) == 0
        assert capsys.readouterr().err == "herald content: no items with tag 'nothing'\n"
        assert main(["content", "list", "--tag", "Winter Sale"]) == 2
        assert "'Winter Sale' is not a tag" in capsys.readouterr().err


class TestShowMedia:
    def test_show_lists_media_facts_and_each_platform(
        self,
        database: str,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """An item naming a stored clip, a URL not fetched yet: `show` gives the clip's type,
        size, duration and dimensions, and per platform what it posts or why it refuses."""
        from bot.bootstrap import build_herald
        from bot.settings import load_settings
        from tests.media_samples import make_video

        monkeypatch.setenv("HERALD_MEDIA_DIR", str(tmp_path / "media"))
        clip = make_video(tmp_path / "clip.mp4", width=90, height=160, seconds=2.0)

        async def store() -> str:
            herald = build_herald(load_settings())
            try:
                return str((await herald.media.ingest_path(clip)).id)
            finally:
                await herald.stop()

        media_id = asyncio.run(store())
        csv = f'id,caption,media\nc1,Clip,{media_id}\nc2,Later,"https://cdn.example/x.mp4"\n'
        assert _import(tmp_path / "m.csv", csv) == 0
        capsys.readouterr()
        assert main(["content", "show", "c1"]) == 0
        shown = json.loads(capsys.readouterr().out)
        [file] = shown["media_files"]
        assert file["mime_type"] == "video/mp4" and (file["width"], file["height"]) == (90, 160)
        assert file["duration_s"] == pytest.approx(2.0, abs=0.2) and file["size_bytes"] > 0
        fits = {p["platform"]: p for p in shown["platforms"]}
        assert fits["tiktok"]["takes"] and fits["tiktok"]["content_type"] == "video"
        assert not fits["instagram"]["takes"]
        assert "under instagram's 3s minimum" in fits["instagram"]["problems"][0]
        assert main(["content", "show", "c2"]) == 0
        later = json.loads(capsys.readouterr().out)
        assert later["media_files"][0]["stored"] is False
        assert "not stored yet" in later["media_files"][0]["text"]
        assert "1 media file(s) not stored yet, not checked" in later["platforms"][0]["notes"]


class TestLargeImports:
    def test_ten_thousand_rows_import_with_distinct_wide_event_ids(
        self, database: str, tmp_path: Path
    ) -> None:
        """A 10 000-row file imports whole; each audit event id carries 64 random bits (with
        32, a database past ~77 000 events more likely than not holds a clash, and the write
        that draws one fails: a 200 000-row import did, on `UNIQUE constraint failed`)."""
        rows = "".join(f"i{n},caption number {n},tag\n" for n in range(10_000))
        assert _import(tmp_path / "big.csv", "id,caption,hashtags\n" + rows) == 0
        items, _ = _stored(database)
        assert len(items) == 10_000
        ids = _event_ids(database)
        assert len(set(ids)) == len(ids) == 10_000
        assert all(re.fullmatch(r"e-[0-9a-f]{16}", i) for i in ids)


def _event_ids(url: str) -> list[str]:
    async def read() -> list[str]:
        repo = SQLAlchemyRepository(url)
        try:
            async with repo.unit_of_work() as uow:
                return [e.id for e in await uow.list_events(limit=1_000_000)]
        finally:
            await repo.close()

    return asyncio.run(read())


def test_file_over_the_import_cap_is_refused_unread(
    database: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A file over HERALD_CONTENT_IMPORT_MAX_MB is refused with its size and the setting's
    name; nothing is imported."""
    monkeypatch.setenv("HERALD_CONTENT_IMPORT_MAX_MB", "1")
    path = tmp_path / "big.csv"
    rows = "".join(f"i{n},{'x' * 100}\n" for n in range(12_000))
    path.write_text("id,caption\n" + rows)
    assert main(["content", "import", str(path)]) == 2
    err = capsys.readouterr().err
    assert "big.csv: 1.2 MB is over the 1 MB import cap (HERALD_CONTENT_IMPORT_MAX_MB" in err
    assert _stored(database) == ([], [])
