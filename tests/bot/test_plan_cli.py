"""`herald plan` / `herald simulate`: the JSON contract, the table, and bad input (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main

ROOT = Path(__file__).resolve().parents[2]
REQUEST = ROOT / "examples" / "request.json"
ACCOUNTS = ROOT / "examples" / "accounts.csv"
HEADER = (
    "id,platform,handle,timezone,language,followers,health,state,last_posted_at,rate_limited_until"
)
SLOT_KEYS = {
    "account_id",
    "platform",
    "language",
    "scheduled_at",
    "local_time",
    "caption",
    "hashtags",
    "risk_score",
    "risk_level",
    "trend_score",
}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def write_request(tmp_path: Path, **changes: Any) -> Path:
    data = json.loads(REQUEST.read_text())
    data.update(changes)
    path = tmp_path / "request.json"
    path.write_text(json.dumps(data))
    return path


def write_csv(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "accounts.csv"
    path.write_text("\n".join((HEADER, *rows)) + "\n")
    return path


class TestPlanCommand:
    def test_json_contract(self, capsys: pytest.CaptureFixture[str]) -> None:
        """--json prints slots, unscheduled, warnings and captions with the contract's fields."""
        code, out, err = run(capsys, "plan", str(REQUEST), "--accounts", str(ACCOUNTS), "--json")
        assert code == 0
        data = json.loads(out)
        assert set(data) == {
            "slots",
            "unscheduled",
            "warnings",
            "captions",
            "items",
            "media_issues",
        }
        assert data["items"][0]["accounts"] == len(data["slots"])  # one item, once per account
        # Every warning is in the JSON and on stderr (stdout stays pure JSON).
        assert err.splitlines() == [f"herald plan: warning: {w}" for w in data["warnings"]]
        assert any("is in the past" in w for w in data["warnings"])
        assert len(data["slots"]) > 100
        assert set(data["slots"][0]) >= SLOT_KEYS
        assert data["slots"][0]["scheduled_at"].endswith("Z")
        assert all(set(u) == {"account_id", "reason"} for u in data["unscheduled"])
        times = [s["scheduled_at"] for s in data["slots"]]
        assert times == sorted(times)

    def test_table_and_summary(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Without --json a table and a summary are printed."""
        code, out, _ = run(capsys, "plan", str(REQUEST), "--accounts", str(ACCOUNTS))
        assert code == 0
        assert "Plan: winter-launch" in out and "Summary" in out
        assert "on local peak hours" in out and "not scheduled" in out

    def test_simulate(self, capsys: pytest.CaptureFixture[str]) -> None:
        """`herald simulate --json` prints the simulation report."""
        code, out, _ = run(capsys, "simulate", str(REQUEST), "--accounts", str(ACCOUNTS), "--json")
        assert code == 0
        report = json.loads(out)
        assert report["recommended_action"] in {
            "PROCEED",
            "PROCEED_WITH_CAUTION",
            "REVIEW",
            "ABORT",
        }
        assert report["total_slots"] == report["safe_slots"] + report["risky_slots"]
        code, out, _ = run(capsys, "simulate", str(REQUEST), "--accounts", str(ACCOUNTS))
        assert "recommended action" in out


class TestPlanBadInput:
    @pytest.mark.parametrize(
        ("changes", "message"),
        [
            ({"platforms": ["tiktok", "myspace"]}, "platforms: unknown platform 'myspace'"),
            ({"min_gap_minutes": 20, "max_gap_minutes": 10}, "min_gap (20 min) is larger"),
            ({"spread_hours": 0}, "spread_hours"),
            ({"start": "2026-11-23T13:00:00+02:00"}, "start: "),
            ({"start": "tomorrow"}, "start: "),
        ],
    )
    def test_bad_request(
        self,
        capsys: pytest.CaptureFixture[str],
        tmp_path: Path,
        changes: dict[str, Any],
        message: str,
    ) -> None:
        """A bad request field exits 2 with one line naming the field."""
        request = write_request(tmp_path, **changes)
        code, out, err = run(capsys, "plan", str(request), "--accounts", str(ACCOUNTS), "--json")
        assert code == 2 and out == ""
        assert message in err
        assert err.count("\n") == 1 and "Traceback" not in err

    @pytest.mark.parametrize(
        ("rows", "message"),
        [
            (["a,tiktok,@a,Mars/Base,en,1,1,ACTIVE,,"], "line 2: timezone 'Mars/Base'"),
            (
                ["a,tiktok,@a,UTC,en,1,1,ACTIVE,,", "a,twitter,@b,UTC,en,1,1,ACTIVE,,"],
                "line 3: duplicate account id 'a' (first on line 2)",
            ),
            (["a,tiktok,@a,UTC,en,1"], "line 2: has 6 fields"),
            (["a,tiktok,@a,UTC,en,1,1,ACTIVE,2026-11-20 10:00,"], "line 2: last_posted_at"),
            (["a,tiktok,@a,UTC,en,1,1,ACTIVE,,nope"], "line 2: rate_limited_until 'nope'"),
        ],
    )
    def test_bad_csv(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path, rows: list[str], message: str
    ) -> None:
        """A broken CSV row exits 2 with one line naming the line."""
        accounts = write_csv(tmp_path, *rows)
        code, _, err = run(capsys, "plan", str(REQUEST), "--accounts", str(accounts))
        assert code == 2
        assert message in err
        assert err.count("\n") == 1

    def test_broken_json_and_missing_files(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """Unparsable JSON and missing files are one-line errors, not tracebacks."""
        bad = tmp_path / "bad.json"
        bad.write_text("{ nope")
        code, _, err = run(capsys, "plan", str(bad), "--accounts", str(ACCOUNTS))
        assert code == 2 and "not valid JSON" in err and "line 1" in err
        code, _, err = run(capsys, "plan", str(tmp_path / "x.json"), "--accounts", str(ACCOUNTS))
        assert code == 2 and "no such file" in err
        code, _, err = run(capsys, "plan", str(REQUEST), "--accounts", str(tmp_path / "x.csv"))
        assert code == 2 and "accounts" in err and "no such file" in err


class TestPlanMedia:
    def test_rejected_media_is_shown_before_approval(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """A 2 s landscape clip: the table, --json and simulate all name the reel's reason."""
        from tests.media_samples import make_video

        make_video(tmp_path / "clip.mp4", width=160, height=90, seconds=2)
        request = write_request(
            tmp_path,
            content={
                "id": "c1",
                "caption": "Winter is here",
                "type": "video",
                "media": ["clip.mp4"],
            },
            platforms=["instagram", "tiktok"],
        )
        code, out, _ = run(
            capsys, "plan", str(request), "--accounts", str(ACCOUNTS), "--limit", "1"
        )
        assert code == 0
        assert "media rejected by instagram reel" in out and "under instagram's 3s minimum" in out
        code, out, _ = run(capsys, "plan", str(request), "--accounts", str(ACCOUNTS), "--json")
        data = json.loads(out)
        [issue] = data["media_issues"]
        assert issue["platform"] == "instagram" and issue["content_type"] == "reel"
        flagged = [s for s in data["slots"] if s["media_problems"]]
        assert {s["platform"] for s in flagged} == {"instagram"}
        assert len(flagged) == len(issue["slots"])
        code, out, _ = run(capsys, "simulate", str(request), "--accounts", str(ACCOUNTS))
        assert "recommended action: ABORT" in out and "instagram reel" in out

    def test_missing_media_file_is_one_line(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """A media path that does not exist: exit 2 and one line naming it."""
        request = write_request(
            tmp_path, content={"id": "c1", "caption": "x", "media": ["nope.mp4"]}
        )
        code, _, err = run(capsys, "plan", str(request), "--accounts", str(ACCOUNTS))
        assert code == 2 and "nope.mp4" in err and len(err.strip().splitlines()) == 1

    @pytest.mark.parametrize(
        ("ref", "says"),
        [
            ("ftp://example.com/a.mp4", "reads local files and http(s) URLs"),
            ("slack:F123", "reads local files and http(s) URLs"),
            ("http://10.0.0.5/a.mp4", "private address 10.0.0.5; Herald only fetches public"),
        ],
    )
    def test_references_it_cannot_read_are_one_line(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path, ref: str, says: str
    ) -> None:
        """Another scheme, a Slack file or a private address: exit 2, one line saying why."""
        request = write_request(tmp_path, content={"id": "c1", "caption": "x", "media": [ref]})
        code, _, err = run(capsys, "plan", str(request), "--accounts", str(ACCOUNTS))
        assert code == 2 and says in err and len(err.strip().splitlines()) == 1


class TestPlanPicture:
    def test_png_draws_the_plan_picture(self, tmp_path: Path) -> None:
        """`herald plan --png FILE` writes the plan picture Slack shows (a PNG)."""
        out = tmp_path / "plan.png"
        root = Path(__file__).resolve().parents[2] / "examples"
        args = ["plan", str(root / "calendar-request.json"), "--accounts"]
        assert main([*args, str(root / "accounts.csv"), "--json", "--png", str(out)]) == 0
        assert out.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
