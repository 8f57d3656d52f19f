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


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_imports(path: Path, known: set[str]) -> set[str]:
    """Modules of ours `path` imports at run time, lazy imports included (a function-level
    import still closes a circle); `if TYPE_CHECKING:` blocks are left out."""
    tree = ast.parse(path.read_text(), filename=str(path))
    typing_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for inner in ast.walk(node)
    }
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module in known:
                found.add(node.module)
            found.update(
                f"{node.module}.{alias.name}"
                for alias in node.names
                if f"{node.module}.{alias.name}" in known
            )
    return found


def _import_graph() -> dict[str, set[str]]:
    files = {
        _module_name(path): path
        for package in ("engine", "storage", "bot")
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
    }
    known = set(files)
    return {name: _runtime_imports(path, known) - {name} for name, path in files.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


FILE_IO_CALLS = {"open", "os.open", "os.write", "os.read", "io.open", ".read_text", ".write_text"}
FILE_IO_CALLS |= {".read_bytes", ".write_bytes"}
WALL_TIME_CALLS = {"time.monotonic", "time.time", "time.perf_counter", "datetime.now"}
WALL_TIME_CALLS |= {"datetime.utcnow", "date.today"}


def _calls(path: Path) -> set[str]:
    """What `path` calls: `open`, `os.write`, `time.monotonic`, `.read_text` (any object)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name):
            names.add(func.id)
        elif isinstance(func, ast.Attribute):
            names.add(f".{func.attr}")
            if isinstance(func.value, ast.Name):
                names.add(f"{func.value.id}.{func.attr}")
    return names


class TestCoreHygiene:
    def test_core_does_no_file_io(self) -> None:
        """The pure core opens, reads and writes no files (adapters in engine/adapters do)."""
        offenders = {
            str(path.relative_to(ROOT)): sorted(bad)
            for path in _engine_files(core_only=True)
            if (bad := _calls(path) & FILE_IO_CALLS)
        }
        assert offenders == {}

    def test_core_reads_time_only_from_the_clock(self) -> None:
        """Outside engine/clock.py the core never reads the wall clock itself."""
        offenders = {
            str(path.relative_to(ROOT)): sorted(bad)
            for path in _engine_files(core_only=True)
            if path.name != "clock.py" and (bad := _calls(path) & WALL_TIME_CALLS)
        }
        assert offenders == {}


class TestWiring:
    def test_no_import_circle(self) -> None:
        """No two modules of engine, storage or bot import each other, even lazily."""
        assert _cycles(_import_graph()) == []

    def test_cycle_finder_finds_a_circle(self) -> None:
        """The circle check itself reports a two-module circle."""
        assert _cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]

    def test_only_the_composition_root_touches_storage(self) -> None:
        """Outside bot/bootstrap.py nothing in bot/ imports storage (implementations,
        migrations): every entry point gets its adapters from build_herald."""
        graph = _import_graph()
        offenders = {
            name: sorted(d for d in deps if d.split(".")[0] == "storage")
            for name, deps in graph.items()
            if name.startswith("bot") and name != "bot.bootstrap"
        }
        assert {k: v for k, v in offenders.items() if v} == {}

    def test_bot_layout_separates_slack_cli_and_root(self) -> None:
        """Slack listeners live in bot/slack, CLI commands in bot/cli; bot/ itself keeps
        only the composition root and what both share (settings, platforms, metrics, logs,
        operations)."""
        flat = sorted(p.name for p in (ROOT / "bot").glob("*.py"))
        assert flat == [
            "__init__.py",
            "bootstrap.py",
            "logs.py",
            "metrics.py",
            "ops.py",
            "platforms_file.py",
            "settings.py",
        ]

    def test_test_modules_do_not_import_each_other(self) -> None:
        """Shared test helpers live in support modules, never in another test_*.py."""
        offenders = {
            str(path.relative_to(ROOT)): sorted(bad)
            for path in sorted((ROOT / "tests").rglob("test_*.py"))
            if (
                bad := {
                    node.module
                    for node in ast.walk(ast.parse(path.read_text()))
                    if isinstance(node, ast.ImportFrom)
                    and (node.module or "").rsplit(".", 1)[-1].startswith("test_")
                }
            )
        }
        assert offenders == {}
