"""Logging for `herald`: one line per state change and publish outcome at INFO, noisy
libraries (APScheduler, Alembic) at WARNING, and `HERALD_LOG_FORMAT=json` for one JSON
object per line with the ids as fields.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

# The ids a line may carry (`log.info(..., extra={"distribution_id": ...})`).
ID_FIELDS = ("distribution_id", "slot_id", "account_id", "worker_id", "slack_request", "event")
# Chatty at INFO: APScheduler logs every job run (2 lines a second), Alembic 7 lines a start.
QUIET = ("apscheduler", "alembic", "aiosqlite", "slack_bolt", "slack_sdk", "asyncio")


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, ids, exception."""

    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for name in ID_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                body[name] = value
        if record.exc_info:
            body["exc"] = self.formatException(record.exc_info)
        return json.dumps(body, default=str)


class TextFormatter(logging.Formatter):
    """`time LEVEL logger message key=value…` with the ids that are set."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        ids = [f"{n}={getattr(record, n)}" for n in ID_FIELDS if getattr(record, n, None)]
        return f"{line} {' '.join(ids)}" if ids else line


class _OverlapFilter(logging.Filter):
    """Drop APScheduler's "skipped: maximum number of running instances" and "was missed"
    warnings: the runner lets a slow tick finish on purpose, and /health reports a wedge."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return "maximum number of running instances" not in message and (
            "was missed by" not in message
        )


def configure_logging(level: str = "INFO", fmt: str = "text", stream: TextIO | None = None) -> None:
    """Install one stderr handler on the root logger (replacing earlier ones)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    handler.addFilter(_OverlapFilter())
    root.addHandler(handler)
    root.setLevel(level)
    numeric = logging.getLevelName(level)
    for name in QUIET:
        # DEBUG still shows everything; at INFO and above these say only what is wrong.
        logging.getLogger(name).setLevel(max(logging.WARNING, numeric) if numeric > 10 else level)
