"""The code stays as the README promises: ruff clean and formatted, the engine type-checked."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


class TestCodeQuality:
    def test_ruff_finds_nothing(self) -> None:
        """`ruff check` passes on the whole tree with the project's rule set."""
        result = _run("ruff", "check", "--quiet", ".")
        assert result.returncode == 0, result.stdout + result.stderr

    def test_ruff_format_is_applied(self) -> None:
        """Every file is formatted as `ruff format` would."""
        result = _run("ruff", "format", "--check", "--quiet", ".")
        assert result.returncode == 0, result.stdout + result.stderr

    def test_mypy_passes_on_the_engine(self) -> None:
        """mypy (config in pyproject.toml) finds no error in engine/, storage/ and bot/."""
        result = _run("mypy")
        assert result.returncode == 0, result.stdout + result.stderr
