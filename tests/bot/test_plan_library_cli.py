"""`herald plan` with content library references: `--library FILE` or HERALD_DATABASE_URL."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main

ROOT = Path(__file__).resolve().parents[2]
ACCOUNTS = ROOT / "examples" / "accounts.csv"
ITEMS_CSV = (
    "id,caption,hashtags,tags,translation_es\n"
    "w1,Winter is here,snow ski,winter,Llega el invierno\n"
    "w2,Cosy evenings by the fire,cosy fire,winter,Tardes junto al fuego\n"
    "w3,Spring preview,spring,spring,Avance de primavera\n"
)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def calendar(tmp_path: Path, **fields: Any) -> Path:
    """A two-day calendar request naming library items, written to a file."""
    data = {
        "name": "week",
        "platforms": ["tiktok", "instagram", "twitter"],
        "languages": ["en", "es"],
        "mode": "calendar",
        "start": "2026-11-23T00:00:00Z",
        "days": 2,
        "seed": 3,
    } | fields
    path = tmp_path / "request.json"
    path.write_text(json.dumps(data))
    return path


@pytest.fixture
def library(tmp_path: Path) -> Path:
    path = tmp_path / "items.csv"
    path.write_text(ITEMS_CSV)
    return path


@pytest.fixture
def database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Path:
    """HERALD_DATABASE_URL at a migrated SQLite file holding ITEMS_CSV, w3 archived."""
    db = tmp_path / "herald.db"
    monkeypatch.setenv("HERALD_DATABASE_URL", f"sqlite+aiosqlite:///{db}")
    assert main(["db", "upgrade"]) == 0
    items = tmp_path / "import.csv"
    items.write_text(ITEMS_CSV)
    assert main(["content", "import", str(items)]) == 0
    assert main(["content", "archive", "w3"]) == 0
    capsys.readouterr()
    return db


def plan_json(capsys: pytest.CaptureFixture[str], request: Path, *extra: str) -> dict[str, Any]:
    code, out, err = run(
        capsys, "plan", str(request), "--accounts", str(ACCOUNTS), "--json", *extra
    )
    assert code == 0, err
    data: dict[str, Any] = json.loads(out)
    return data


class TestPlanWithLibraryFile:
    def test_queue_of_ids_is_planned_from_the_file(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path, library: Path
    ) -> None:
        """Queue ids come from --library: each item once per account, in its own words."""
        data = plan_json(capsys, calendar(tmp_path, queue=["w1", "w3"]), "--library", str(library))
        assert {i["content_id"] for i in data["items"]} == {"w1", "w3"}
        per = Counter((s["account_id"], s["content_id"]) for s in data["slots"])
        assert per and max(per.values()) == 1
        for slot in data["slots"]:
            assert slot["caption"] in {
                "Winter is here",
                "Llega el invierno",
                "Spring preview",
                "Avance de primavera",
            }

    def test_tag_and_window_content_id(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path, library: Path
    ) -> None:
        """`queue_tag` takes every item with the tag; `"content": "<id>"` one item in a window."""
        data = plan_json(capsys, calendar(tmp_path, queue_tag="winter"), "--library", str(library))
        assert sorted(i["content_id"] for i in data["items"]) == ["w1", "w2"]
        window = calendar(tmp_path, mode="window", content="w2", spread_hours=6)
        data = plan_json(capsys, window, "--library", str(library))
        assert {s["content_id"] for s in data["slots"]} == {"w2"}

    def test_unknown_ids_and_empty_tags_are_named(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path, library: Path
    ) -> None:
        """Every unknown id is named on one line (exit 2); a tag with no item too."""
        request = calendar(tmp_path, queue=["w1", "nope", "w2", "gone"])
        code, out, err = run(
            capsys, "plan", str(request), "--accounts", str(ACCOUNTS), "--library", str(library)
        )
        assert code == 2 and out == ""
        assert err == "herald plan: queue: no library items 'nope', 'gone'\n"
        request = calendar(tmp_path, queue_tag="summer")
        code, _, err = run(
            capsys, "plan", str(request), "--accounts", str(ACCOUNTS), "--library", str(library)
        )
        assert code == 2 and "queue_tag: no active library item has tag 'summer'" in err

    def test_bad_library_rows_are_each_reported(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """A library file with bad rows: each printed with its line, nothing planned."""
        bad = tmp_path / "items.json"
        bad.write_text(
            '[\n{"id": "w1", "caption": "ok"},\n{"id": "w2"},\n{"id": "w1", "caption": "x"}\n]'
        )
        request = calendar(tmp_path, queue=["w1"])
        code, out, err = run(
            capsys, "plan", str(request), "--accounts", str(ACCOUNTS), "--library", str(bad)
        )
        assert code == 2 and out == ""
        assert "line 3 (item 2): caption: is required" in err
        assert "line 4 (item 3): duplicate id 'w1' (first on line 2)" in err
        code, _, err = run(
            capsys,
            "plan",
            str(request),
            "--accounts",
            str(ACCOUNTS),
            "--library",
            str(tmp_path / "missing.csv"),
        )
        assert code == 2 and "--library" in err and "no such file" in err

    def test_library_the_request_does_not_use_is_still_checked(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path, library: Path
    ) -> None:
        """An inline request with --library: a missing or broken file is an error, a good one
        is planned with a warning that it was not used (never silently skipped)."""
        inline = ROOT / "examples" / "request.json"
        base = ("plan", str(inline), "--accounts", str(ACCOUNTS), "--json", "--library")
        code, out, err = run(capsys, *base, str(tmp_path / "missing.csv"))
        assert (code, out) == (2, "") and "--library" in err and "no such file" in err
        code, out, err = run(capsys, *base, str(ACCOUNTS))
        assert (code, out) == (2, "") and "header lacks column(s): caption" in err
        data = plan_json(capsys, inline, "--library", str(library))
        assert data["slots"]
        assert any(w.startswith(f"--library {library}: not used") for w in data["warnings"])


class TestPlanWithDatabaseLibrary:
    def test_ids_are_read_from_the_configured_database(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path, database: Path
    ) -> None:
        """Without --library the ids resolve from HERALD_DATABASE_URL's library."""
        data = plan_json(capsys, calendar(tmp_path, queue="w2,w1"))
        assert sorted(i["content_id"] for i in data["items"]) == ["w1", "w2"]

    def test_archived_item_is_refused_by_name(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path, database: Path
    ) -> None:
        """An archived id is refused naming it; a tag whose items are archived says so."""
        code, _, err = run(
            capsys, "plan", str(calendar(tmp_path, queue=["w1", "w3"])), "--accounts", str(ACCOUNTS)
        )
        assert code == 2
        assert err == "herald plan: queue: library item 'w3' is archived (never posted again)\n"
        code, _, err = run(
            capsys, "plan", str(calendar(tmp_path, queue_tag="spring")), "--accounts", str(ACCOUNTS)
        )
        assert code == 2 and "no active library item has tag 'spring' (1 archived)" in err

    def test_missing_database_suggests_library_file(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """No library database: one line naming `herald db upgrade` and --library; no file made."""
        db = tmp_path / "none.db"
        monkeypatch.setenv("HERALD_DATABASE_URL", f"sqlite+aiosqlite:///{db}")
        request = calendar(tmp_path, queue=["w1"])
        code, _, err = run(capsys, "plan", str(request), "--accounts", str(ACCOUNTS))
        assert code == 2 and len(err.splitlines()) == 1
        assert "herald db upgrade" in err and "--library FILE" in err
        assert not db.exists()

    def test_inline_request_reads_no_database(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """An inline request plans without opening (or creating) the configured database."""
        db = tmp_path / "untouched.db"
        monkeypatch.setenv("HERALD_DATABASE_URL", f"sqlite+aiosqlite:///{db}")
        plan_json(capsys, ROOT / "examples" / "request.json")
        assert not db.exists()


class TestPlanItemReport:
    def test_items_that_get_no_slot_are_shown_and_warned(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """Two accounts and one day cannot reach a 5-item queue: the table, --json and
        simulate list every item in queue order, the unused ones as such, with a warning."""
        accounts = tmp_path / "accounts.csv"
        accounts.write_text(
            "id,platform,handle,timezone,language,followers,health,state,last_posted_at,"
            "rate_limited_until\n"
            "a,twitter,@a,UTC,en,100,1,ACTIVE,,\n"
            "b,twitter,@b,UTC,en,100,1,ACTIVE,,\n"
        )
        items = [{"id": f"q{k}", "caption": f"Queue item {k}"} for k in range(5)]
        request = calendar(tmp_path, queue=items, platforms=["twitter"], days=1, velocity=1)
        args = ["plan", str(request), "--accounts", str(accounts)]
        code, out, _ = run(capsys, *args, "--json")
        data = json.loads(out)
        assert code == 0 and [i["content_id"] for i in data["items"]] == [f"q{k}" for k in range(5)]
        assert sum(1 for i in data["items"] if i["slots"] == 0) == 3
        assert any("3 of 5 queue items got no slot" in w for w in data["warnings"])
        code, out, _ = run(capsys, *args)
        assert code == 0 and out.count(": no slot") == 3
        code, out, _ = run(capsys, "simulate", *args[1:])
        assert code == 0 and out.count(": no slot") == 3


class TestPastStartWarning:
    def test_simulate_names_itself_in_the_past_start_warning(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`herald simulate` on a past start says `herald simulate`, not `herald plan`."""
        request = str(ROOT / "examples" / "request.json")
        code, _, err = run(capsys, "simulate", request, "--accounts", str(ACCOUNTS))
        assert code == 0
        assert "is in the past: `herald simulate` shows it as asked" in err


class TestBundledExamples:
    @pytest.mark.parametrize("name", ["request.json", "calendar-request.json"])
    def test_examples_plan_without_a_warning_about_the_request(
        self, capsys: pytest.CaptureFixture[str], name: str
    ) -> None:
        """A newcomer's first plans warn only about the bundled accounts and the fixed
        start date: never about trends, languages or queue items the request got wrong."""
        data = plan_json(capsys, ROOT / "examples" / name)
        assert data["slots"]
        for warning in data["warnings"]:
            assert "trend" not in warning and "language" not in warning
            assert "queue items" not in warning

    def test_trend_weighting_uses_the_bundled_trends_file(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """With trend_weighted and --trends examples/trends.json, slots carry trend scores."""
        data = json.loads((ROOT / "examples" / "calendar-request.json").read_text())
        request = tmp_path / "trending.json"
        request.write_text(json.dumps(data | {"trend_weighted": True, "days": 2}))
        trends = str(ROOT / "examples" / "trends.json")
        planned = plan_json(capsys, request, "--trends", trends)
        assert not any("trend" in w for w in planned["warnings"])
        assert any(s["trend_score"] > 0 for s in planned["slots"])
