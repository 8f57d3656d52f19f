"""EventKind lists every kind the code writes: webhooks accept only its kinds, so a kind
written but not listed could never be subscribed to."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from engine.event_kinds import EventKind

ROOT = Path(__file__).resolve().parents[2]
KIND = re.compile(r"^[a-z_]+\.[a-z_]+$")
# Calls that write an audit event with a literal kind.
WRITERS = {"Event", "audit_row", "_audit", "_event"}


def _written_kinds() -> dict[str, str]:
    found: dict[str, str] = {}
    for package in ("engine", "storage", "bot"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if not isinstance(node, ast.Call):
                    continue
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name not in WRITERS:
                    continue
                for arg in node.args:
                    text = arg.value if isinstance(arg, ast.Constant) else None
                    if isinstance(text, str) and KIND.match(text):
                        found[text] = f"{path.relative_to(ROOT)}:{node.lineno}"
    return found


class TestEventKinds:
    def test_every_written_kind_is_an_event_kind(self) -> None:
        """Each literal kind passed to Event(...)/audit_row/_audit/_event is in EventKind."""
        written = _written_kinds()
        assert len(written) >= 10, written  # the scan finds the writers
        known = {str(k) for k in EventKind}
        assert {k: at for k, at in written.items() if k not in known} == {}
