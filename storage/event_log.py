"""The audit log read by sequence (SSE streams, webhook fan-out) and searched in full text.

Events are read by `seq`, the log's monotonically increasing insertion number: a reader that
remembers the last seq it saw misses nothing. Units of work are serialised across replicas
(BEGIN IMMEDIATE on SQLite, an advisory lock on PostgreSQL), so a seq is visible only after
every smaller one is. Search uses the database's own index: SQLite FTS5 (`events_fts`),
PostgreSQL a GIN index over a tsvector (both made by migration 0002_api).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy import text as sql_text
from sqlalchemy.ext.asyncio import AsyncEngine

from engine.errors import InvalidInput
from engine.models import Event
from storage import tables as t
from storage.database import UTCDateTime, create_read_engine, safe_url
from storage.sqlalchemy_repository import row_to_event, translate_errors

# The indexed expression of migration 0002_api (the query must repeat it to use the index).
PG_DOCUMENT = (
    "to_tsvector('simple', translate(CAST(e.kind AS TEXT) || ' ' || CAST(e.actor AS TEXT) || ' ' "
    "|| coalesce(CAST(e.distribution_id AS TEXT), '') || ' ' || "
    "coalesce(CAST(e.slot_id AS TEXT), '') || ' ' || coalesce(CAST(e.account_id AS TEXT), '') "
    "|| ' ' || coalesce(CAST(e.data AS TEXT), ''), '._-/:@', '      '))"
)
WORD = re.compile(r"[^\W_]+", re.UNICODE)  # letters and digits, as both tokenizers see words


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    """An audit event with its place in the log."""

    seq: int
    event: Event

    def to_json(self) -> dict[str, Any]:
        e = self.event
        return {
            "seq": self.seq,
            "id": e.id,
            "at": e.at.isoformat(),
            "kind": e.kind,
            "actor": e.actor,
            "distribution_id": e.distribution_id,
            "slot_id": e.slot_id,
            "account_id": e.account_id,
            "before": e.before,
            "after": e.after,
            "data": e.data,
        }


def search_words(query: str) -> list[str]:
    """The words of a free-text query (operators and punctuation are not syntax here)."""
    return [w.lower() for w in WORD.findall(query)][:20]


class EventLog:
    """Reads of the `events` table by seq, and full-text search."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._url = safe_url(engine.url)
        self.dialect = engine.dialect.name
        # Herald's SQLite engine starts every transaction with BEGIN IMMEDIATE (the write
        # lock); these reads need none, and in WAL mode plain reads never wait for writers.
        self.engine = create_read_engine(engine)
        self._own: AsyncEngine | None = self.engine if self.engine is not engine else None

    async def close(self) -> None:
        """Release the read engine this log made (SQLite)."""
        if self._own is not None:
            await self._own.dispose()

    async def after(
        self, seq: int, *, distribution_id: str | None = None, limit: int = 500
    ) -> list[LoggedEvent]:
        """Events with a seq above `seq`, oldest first (of one distribution, if given)."""
        e = t.events
        query = select(e).where(e.c.seq > seq).order_by(e.c.seq).limit(limit)
        if distribution_id is not None:
            query = query.where(e.c.distribution_id == distribution_id)
        with translate_errors(self._url):
            async with self.engine.connect() as conn:
                rows = (await conn.execute(query)).mappings().all()
        return [LoggedEvent(r["seq"], row_to_event(r)) for r in rows]

    async def last_seq(self) -> int:
        """The newest seq (0 for an empty log)."""
        with translate_errors(self._url):
            async with self.engine.connect() as conn:
                value = (await conn.execute(select(func.max(t.events.c.seq)))).scalar()
        return int(value or 0)

    async def search(
        self,
        query: str,
        *,
        kinds: Sequence[str] = (),
        distribution_id: str | None = None,
        account_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 50,
    ) -> list[LoggedEvent]:
        """Events containing every word of `query` (newest first), filtered. An empty query
        lists by the filters alone. Raises InvalidInput for a query with no words."""
        words = search_words(query)
        if query.strip() and not words:
            raise InvalidInput("query: has no words to search for")
        clauses: list[str] = []
        params: dict[str, Any] = {"limit": limit}
        join = ""
        if words and self.dialect == "postgresql":
            clauses.append(f"{PG_DOCUMENT} @@ plainto_tsquery('simple', :words)")
            params["words"] = " ".join(words)
        elif words:
            join = "JOIN events_fts f ON f.rowid = e.seq"
            clauses.append("events_fts MATCH :words")
            params["words"] = " ".join(f'"{w}"' for w in words)
        if kinds:
            names = [f":kind{i}" for i in range(len(kinds))]
            clauses.append(f"e.kind IN ({', '.join(names)})")
            params.update({f"kind{i}": k for i, k in enumerate(kinds)})
        for column, value in (("distribution_id", distribution_id), ("account_id", account_id)):
            if value is not None:
                clauses.append(f"e.{column} = :{column}")
                params[column] = value
        if since is not None:
            clauses.append("e.at >= :since")
            params["since"] = since
        if until is not None:
            clauses.append("e.at < :until")
            params["until"] = until
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        raw = sql_text(f"SELECT e.* FROM events e {join} {where} ORDER BY e.seq DESC LIMIT :limit")
        # Times bound as the column's type (SQLite keeps them as text in one format).
        typed = [bindparam(n, type_=UTCDateTime()) for n in ("since", "until") if n in params]
        statement = (raw.bindparams(*typed) if typed else raw).columns(*t.events.c)
        with translate_errors(self._url):
            async with self.engine.connect() as conn:
                rows = (await conn.execute(statement, params)).mappings().all()
        return [LoggedEvent(r["seq"], row_to_event(r)) for r in rows]
