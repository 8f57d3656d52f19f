"""Async engines for Herald's two databases: SQLite (aiosqlite, embedded) and PostgreSQL.

SQLite gets WAL, a busy timeout, foreign keys and SQLAlchemy's documented pysqlite recipe
so every transaction starts with `BEGIN IMMEDIATE`: the default deferred BEGIN lets two
processes read the same due slots, then fail to upgrade their locks. Reads that change
nothing go through `create_read_engine` instead: a plain `BEGIN` on a `query_only`
connection, which in WAL mode reads a snapshot without ever waiting for the writer.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, event
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.engine.url import URL
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.types import TypeDecorator

from engine.errors import InvalidInput, StorageError

SQLITE_BUSY_TIMEOUT_MS = 30_000


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as UTC and always read back tz-aware UTC.

    SQLite has no time zones and returns naive values; PostgreSQL stores `timestamptz`.
    Naive input is refused: Herald never guesses a time zone.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValueError(f"{value!r} has no time zone; Herald stores UTC only")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            # Stored as text: one format and one zone keep comparisons (due_at <= now) right.
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def normalise_url(url: str | URL) -> URL:
    """The async driver URL: `sqlite:///x` -> aiosqlite, `postgresql://` -> asyncpg."""
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except ArgumentError:
        raise InvalidInput(f"HERALD_DATABASE_URL: {url!r} is not a database URL") from None
    backend = parsed.get_backend_name()
    if backend == "postgres":
        backend = "postgresql"
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite")
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+asyncpg")
    raise InvalidInput(
        f"HERALD_DATABASE_URL: {parsed.drivername!r} is not supported (use sqlite or postgresql)"
    )


def safe_url(url: str | URL) -> str:
    """The URL with its password hidden, fit for messages and logs."""
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except ArgumentError:
        return "<invalid database URL>"
    return parsed.render_as_string(hide_password=True)


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def create_engine(url: str | URL, **options: Any) -> AsyncEngine:
    """An AsyncEngine for `url`, configured for Herald's transaction rules."""
    parsed = normalise_url(url)
    # JSON as UTF-8 text, not \u escapes: the audit log's full-text index reads the
    # stored text, and "Ünïcødé" must be a word in it, not "u00dcn u00efc".
    options.setdefault("json_serializer", _json_text)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, **options)
    options.setdefault("pool_pre_ping", True)
    options.setdefault("pool_size", 10)
    try:
        return create_async_engine(parsed, **options)
    except ImportError as exc:  # pragma: no cover - dependency missing
        raise StorageError(f"cannot open {safe_url(parsed)}: {exc}") from None


def _sqlite_engine(url: URL, **options: Any) -> AsyncEngine:
    engine = create_async_engine(url, **options)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Stop the driver's own (deferred) BEGIN; `_on_begin` emits BEGIN IMMEDIATE instead.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def create_read_engine(engine: AsyncEngine) -> AsyncEngine:
    """An engine for read-only transactions on `engine`'s database. On SQLite, a second
    engine whose transactions are a deferred `BEGIN` (one consistent snapshot for every
    statement inside; in WAL mode it never waits for `BEGIN IMMEDIATE` writers) on
    `query_only` connections (a write fails at once instead of taking the lock). Other
    databases: `engine` itself (the caller makes its transactions read-only). The caller
    disposes of a returned engine that is not `engine`."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return engine  # an in-memory SQLite database exists only on its own connections
    # Reads come in bursts (status, SSE catch-ups, Slack cards): connections beyond the
    # pool are opened and closed per use (a thread and the PRAGMAs each), so keep more.
    reader = create_async_engine(url, pool_size=20, max_overflow=20)

    @event.listens_for(reader.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # WAL readers wait only in rare cases (the log being recovered or reset).
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA query_only = ON")
        cursor.close()

    @event.listens_for(reader.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN")

    return reader


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded values after commit (no lazy loads in async code)."""
    return async_sessionmaker(engine, expire_on_commit=False)
