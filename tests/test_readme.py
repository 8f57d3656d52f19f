"""The README tells the truth: its commands are CI's, and every setting is documented."""

from __future__ import annotations

import re
from pathlib import Path

from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _env_name(field: str) -> str:
    info = Settings.model_fields[field]
    if info.validation_alias is not None:
        return str(info.validation_alias.choices[0])  # type: ignore[union-attr]
    return f"HERALD_{field.upper()}"


class TestReadme:
    def test_ci_runs_the_readme_test_command(self) -> None:
        """.ci/run ends with the README's test command, verbatim."""
        commands = re.findall(
            r"^(python3 -m venv \.uv && \.uv/bin/pip install uv && \.uv/bin/uv run .*)$",
            README,
            re.M,
        )
        assert len(commands) == 2, commands
        test_command = next(c for c in commands if "pytest" in c)
        ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()
        assert ci[-1] == test_command

    def test_ci_runs_the_main_command_on_debian_python(self) -> None:
        """.ci/run also runs the README's main command verbatim in a fresh copy with Debian's
        /usr/bin/python3 first on PATH, and checks the .venv is built on it."""
        ci = (ROOT / ".ci" / "run").read_text()
        block = ci[ci.index("export PATH=/usr/bin:/bin") :]
        main = "python3 -m venv .uv && .uv/bin/pip install uv && .uv/bin/uv run herald demo"
        assert f"    {main}\n" in block and 'sys.base_prefix == "/usr"' in block
        assert "python3-venv" in ci and "python3-venv" in README

    def test_main_command_runs_the_demo(self) -> None:
        """The README's main command is `herald demo` on the embedded defaults."""
        assert (
            "python3 -m venv .uv && .uv/bin/pip install uv && .uv/bin/uv run herald demo" in README
        )

    def test_every_setting_is_documented(self) -> None:
        """Each environment variable the settings object reads appears in the README."""
        missing = [
            _env_name(field) for field in Settings.model_fields if _env_name(field) not in README
        ]
        assert missing == []
