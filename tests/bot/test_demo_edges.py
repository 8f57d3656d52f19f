"""`herald demo` at its edges: bad options, an ABORT plan, a timeout, and its temp folder."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest

from bot.cli import main

HEADER = (
    "id,platform,handle,timezone,language,followers,health,state,last_posted_at,"
    "rate_limited_until\n"
)


@pytest.fixture
def tmpdir_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The demo's temp directory is `tmp_path` (so what it leaves behind is visible)."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    return temp


def leftovers(temp: Path) -> list[str]:
    return [p.name for p in temp.iterdir() if p.name.startswith("herald-demo-")]


class TestOptions:
    @pytest.mark.parametrize("speed", ["-5", "0", "abc", "nan", "inf", "1e308", ""])
    def test_bad_speed_is_a_clear_error(
        self, speed: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """--speed must be a positive finite number: otherwise exit 2 naming --speed."""
        with pytest.raises(SystemExit) as exit_info:
            main(["demo", "--speed", speed])
        assert exit_info.value.code == 2
        err = capsys.readouterr().err
        assert "--speed" in err and "Traceback" not in err

    @pytest.mark.parametrize("timeout", ["-1", "0", "x"])
    def test_bad_timeout_is_a_clear_error(
        self, timeout: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """--timeout must be positive too."""
        with pytest.raises(SystemExit) as exit_info:
            main(["demo", "--timeout", timeout])
        assert exit_info.value.code == 2 and "--timeout" in capsys.readouterr().err


class TestOutcomes:
    def test_empty_accounts_is_not_approved(
        self, tmp_path: Path, tmpdir_only: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """An accounts CSV with no rows: the simulation says ABORT, exit 1, nothing approved."""
        empty = tmp_path / "empty.csv"
        empty.write_text(HEADER)
        code = main(["demo", "--accounts", str(empty), "--speed", "1000"])
        out = capsys.readouterr()
        text = out.out + out.err
        assert code != 0
        assert "ABORT" in text and "Nothing was approved" in text
        assert "approved by" not in text.lower()
        assert leftovers(tmpdir_only) == []

    def test_timeout_says_so_and_cleans_up(
        self, tmpdir_only: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """An expired --timeout exits 1 with a message; failures are called simulated; the
        bar counts the planned posts; no herald-demo-* folder is left."""
        code = main(["demo", "--speed", "1", "--timeout", "0.5"])
        out = capsys.readouterr()
        text = out.out
        assert code == 1
        assert "gave up after --timeout 0.5" in out.err
        assert "Simulated failures" in text and "nothing real" in text
        planned = int(re.search(r"(\d+) slots planned", text).group(1))  # type: ignore[union-attr]
        bars = re.findall(r"(\d+)/(\d+)", text)
        assert bars and all(int(total) == planned for _, total in bars), (planned, bars)
        assert leftovers(tmpdir_only) == []

    def test_error_midway_cleans_up(
        self, tmp_path: Path, tmpdir_only: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A bad request file fails clearly (exit 2) and still leaves no temp folder."""
        bad = tmp_path / "request.json"
        bad.write_text("{not json")
        assert main(["demo", "--request", str(bad)]) == 2
        assert "demo input" in capsys.readouterr().err
        assert leftovers(tmpdir_only) == []
