"""The engine core imports only the standard library, pydantic and itself."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORE_ALLOWED = {"engine", "pydantic", "pydantic_core", "typing_extensions"}
NEVER_IN_ENGINE = {"slack_bolt", "slack_sdk", "sqlalchemy", "aiosqlite", "asyncpg", "alembic"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _engine_files(core_only: bool) -> list[Path]:
    files = sorted((ROOT / "engine").rglob("*.py"))
    if core_only:
        files = [f for f in files if "adapters" not in f.relative_to(ROOT / "engine").parts]
    return files


class TestEngineImports:
    def test_core_imports_only_stdlib_and_pydantic(self) -> None:
        """Every engine module outside engine/adapters imports stdlib, pydantic or engine only."""
        stdlib = set(sys.stdlib_module_names)
        offenders = {
            str(path.relative_to(ROOT)): sorted(bad)
            for path in _engine_files(core_only=True)
            if (bad := _imports(path) - stdlib - CORE_ALLOWED)
        }
        assert offenders == {}

    def test_no_engine_module_imports_slack_or_sql(self) -> None:
        """Not even the adapters under engine/ import Slack or SQL libraries."""
        offenders = {
            str(path.relative_to(ROOT)): sorted(bad)
            for path in _engine_files(core_only=False)
            if (bad := _imports(path) & NEVER_IN_ENGINE)
        }
        assert offenders == {}

    def test_core_never_imports_adapters(self) -> None:
        """The core does not reach into engine.adapters (adapters are wired in bot/)."""
        offenders = [
            str(path.relative_to(ROOT))
            for path in _engine_files(core_only=True)
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.ImportFrom)
            and (node.module or "").startswith("engine.adapters")
        ]
        assert offenders == []
