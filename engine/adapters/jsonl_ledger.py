"""`JsonlLedger`: the simulated publisher's call log as a JSON-lines file, shareable by processes.

Every call appends one JSON line (slot, account, platform, caption, key, time, outcome, pid)
with a single O_APPEND write, so several processes can share one ledger file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path


class JsonlLedger:
    """A ledger file: `records()` reads what is there, `append(record)` adds one line."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    def records(self) -> Iterator[dict[str, object]]:
        """Every whole line written so far (a torn last line from a killed process is skipped)."""
        if self.path.exists():
            yield from read_ledger(self.path)

    def append(self, record: Mapping[str, object]) -> None:
        """Write one line, tagged with this process's pid."""
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        line = json.dumps({**record, "pid": os.getpid()}, ensure_ascii=False) + "\n"
        # One write() of one line on an O_APPEND descriptor: lines from several processes
        # interleave whole, and the kernel has the bytes before the receipt is returned.
        os.write(self._fd, line.encode())

    def close(self) -> None:
        """Close the file."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def read_ledger(path: Path | str) -> list[dict[str, object]]:
    """Every whole line of a ledger file, parsed (torn lines are skipped)."""
    out: list[dict[str, object]] = []
    with Path(path).open(encoding="utf-8") as handle:
        for line in handle:
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
    return out
