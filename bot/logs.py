"""Logging for `herald`: one line per state change and publish outcome at INFO, noisy
libraries (APScheduler, Alembic) at WARNING, and `HERALD_LOG_FORMAT=json` for one JSON
object per line with the ids as fields.

Ids come from `extra=` on a call or from `bind_log_ids`, which holds them in a contextvar:
the Slack request id bound when a request arrives reaches every line logged while it is
handled, engine calls and the tasks they start included.
"""

from __future__ import annotations

import json
import logging
import sys
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

# The ids a line may carry (`log.info(..., extra={"distribution_id": ...})`).
ID_FIELDS = ("distribution_id", "slot_id", "account_id", "worker_id", "slack_request", "event")
# Chatty at INFO: APScheduler logs every job run (2 lines a second), Alembic 7 lines a start.
QUIET = ("apscheduler", "alembic", "aiosqlite", "slack_bolt", "slack_sdk", "asyncio")

# Ids bound to the current task (and copied into the tasks it creates).
_BOUND: ContextVar[dict[str, str] | None] = ContextVar("herald_log_ids", default=None)


def bind_log_ids(**ids: str | None) -> None:
    """Put `ids` on every line logged from now on by this task and the tasks it starts
    (a None value unbinds that name)."""
    bound = {**(_BOUND.get() or {}), **{k: v for k, v in ids.items() if v is not None}}
    for name in (k for k, v in ids.items() if v is None):
        bound.pop(name, None)
    _BOUND.set(bound)


def bound_log_ids() -> dict[str, str]:
    """The ids `bind_log_ids` put on this task's lines."""
    return dict(_BOUND.get() or {})


def slack_request_id(body: dict[str, Any]) -> str:
    """The id a Slack request is logged under: Slack's own (`event_id` of an event,
    `trigger_id` of a command or interaction) so it can be matched with Slack's retries,
    else a fresh one."""
    for key in ("event_id", "trigger_id"):
        value = body.get(key)
        if isinstance(value, str) and value:
            return value
    return f"r-{uuid.uuid4().hex[:12]}"


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


class _BoundIds(logging.Filter):
    """Copy the task's bound ids onto each record that does not set them itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in (_BOUND.get() or {}).items():
            if getattr(record, name, None) is None:
                setattr(record, name, value)
        return True


# Library lines that say nothing an operator can act on:
NOISE = (
    # APScheduler: the runner lets a slow tick finish on purpose; /health reports a wedge.
    "maximum number of running instances",
    "was missed by",
    # bolt reads SLACK_BOT_TOKEN itself and warns that the client Herald built wins.
    "As you gave `client` as well, `token` will be unused",
)


class _KnownNoise(logging.Filter):
    """Drop the library lines in NOISE, at every level."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(noise in message for noise in NOISE)


def configure_logging(level: str = "INFO", fmt: str = "text", stream: TextIO | None = None) -> None:
    """Install one stderr handler on the root logger (replacing earlier ones)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    handler.addFilter(_KnownNoise())
    handler.addFilter(_BoundIds())
    root.addHandler(handler)
    root.setLevel(level)
    # Python warnings become records too: one line (one JSON object) each, not raw text.
    logging.captureWarnings(True)
    numeric = logging.getLevelName(level)
    for name in QUIET:
        # DEBUG still shows everything; at INFO and above these say only what is wrong.
        logging.getLogger(name).setLevel(max(logging.WARNING, numeric) if numeric > 10 else level)
