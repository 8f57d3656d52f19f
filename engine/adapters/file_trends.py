"""`FileTrendSource`: trends read from a JSON or CSV file (the file I/O kept out of the core)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from engine.errors import InvalidInput
from engine.trends import Trend, parse_trends


class FileTrendSource:
    """Trends from a JSON or CSV file, re-read on every call (so edits take effect)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    async def trends(self, platforms: Sequence[str]) -> list[Trend]:
        """Trends for `platforms`. Raises InvalidInput when the file is missing or broken."""
        try:
            text = await asyncio.to_thread(self.path.read_text, encoding="utf-8")
        except OSError as exc:
            raise InvalidInput(f"trends file {self.path}: {exc.strerror or exc}") from None
        wanted = {p.lower() for p in platforms}
        return [t for t in parse_trends(text, source=str(self.path)) if t.platform in wanted]
