"""Full-text search over the audit log with the database's own index (SQLite FTS5,
PostgreSQL tsvector + GIN), with kind, distribution, account and time filters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from engine.errors import InvalidInput
from engine.models import SYSTEM, Event, new_event_id
from storage.event_log import EventLog
from storage.sqlalchemy_repository import SQLAlchemyRepository
from tests.api.conftest import Api

T = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
async def repo(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    from tests.conftest import _migrated_url

    if request.param == "postgres":
        request.applymarker(pytest.mark.postgres)
    url = await _migrated_url(request, request.param, tmp_path)
    repository = SQLAlchemyRepository(url)
    yield repository
    await repository.close()


async def _seed(repo: SQLAlchemyRepository) -> None:
    rows = [
        Event(
            new_event_id(), T, "distribution.created", "U_OP", "d-1", data={"name": "spring launch"}
        ),
        Event(
            new_event_id(),
            T + timedelta(hours=1),
            "slot.published",
            "system",
            "d-1",
            "d-1.0",
            "tt-1",
            data={"platform": "tiktok", "post_id": "p-991"},
        ),
        Event(
            new_event_id(),
            T + timedelta(hours=2),
            "slot.failed",
            "system",
            "d-1",
            "d-1.1",
            "ig-1",
            data={"platform": "instagram", "error": "rate limit exceeded"},
        ),
        Event(
            new_event_id(),
            T + timedelta(hours=3),
            "distribution.created",
            "U_OP",
            "d-2",
            data={"name": "winter sale"},
        ),
    ]
    async with repo.unit_of_work() as uow:
        for event in rows:
            await uow.append_event(event)


class TestEventSearch:
    async def test_words_filters_and_time(self, repo: SQLAlchemyRepository) -> None:
        """Every word must match; kind, distribution, account and time narrow the result."""
        await _seed(repo)
        log = EventLog(repo.engine)
        try:
            await self._check_words(log)
        finally:
            await log.close()

    async def _check_words(self, log: EventLog) -> None:
        assert [e.event.data["name"] for e in await log.search("spring launch")] == [
            "spring launch"
        ]
        assert [e.event.kind for e in await log.search("rate limit")] == ["slot.failed"]
        assert len(await log.search("created")) == 2
        assert len(await log.search("published")) == 1  # a word inside a dotted kind
        assert len(await log.search("p-991")) == 1
        assert len(await log.search("instagram", kinds=["slot.published"])) == 0
        assert len(await log.search("", distribution_id="d-2")) == 1
        assert len(await log.search("", account_id="tt-1")) == 1
        found = await log.search("", since=T + timedelta(minutes=30), until=T + timedelta(hours=2))
        assert [e.event.kind for e in found] == ["slot.published"]
        newest_first = await log.search("d")
        assert [e.seq for e in newest_first] == sorted((e.seq for e in newest_first), reverse=True)

    async def test_query_syntax_is_not_sql_or_fts(self, repo: SQLAlchemyRepository) -> None:
        """Quotes, operators and SQL in a query are just words (never an error or injection)."""
        await _seed(repo)
        log = EventLog(repo.engine)
        assert await log.search('spring" OR 1=1; --') == []
        assert len(await log.search("SPRING* ^launch")) == 1
        with pytest.raises(InvalidInput, match="query"):
            await log.search("*** ---")

    async def test_search_uses_the_index(self, repo: SQLAlchemyRepository) -> None:
        """The plan reads the full-text index (FTS5 table / the GIN index)."""
        from sqlalchemy import text

        from storage.event_log import PG_DOCUMENT

        async with repo.engine.connect() as conn:
            if repo.engine.dialect.name == "postgresql":
                await conn.execute(text("SET enable_seqscan = off"))
                plan = await conn.execute(
                    text(
                        f"EXPLAIN SELECT * FROM events e WHERE {PG_DOCUMENT} @@ "
                        "plainto_tsquery('simple', 'spring')"
                    )
                )
                assert "ix_events_search" in "\n".join(r[0] for r in plan)
            else:
                plan = await conn.execute(
                    text(
                        "EXPLAIN QUERY PLAN SELECT e.* FROM events e JOIN events_fts f "
                        "ON f.rowid = e.seq WHERE events_fts MATCH 'spring'"
                    )
                )
                assert "VIRTUAL TABLE INDEX" in "\n".join(str(r[-1]) for r in plan)


class TestSearchEndpoint:
    async def test_search_over_http(self, api: Api) -> None:
        """GET /events/search finds a distribution's events by words and name."""
        from tests.api.conftest import REQUEST

        status, created, _ = await api.call("POST", "/distributions", json=REQUEST)
        await api.call("POST", f"/distributions/{created['id']}/plan")
        status, found, _ = await api.call(
            "GET", "/events/search?query=spring+launch&distribution=spring launch"
        )
        assert status == 200 and {e["kind"] for e in found} >= {"distribution.created"}
        status, found, _ = await api.call(
            "GET", f"/events/search?query={created['id']}&kind=distribution.planned"
        )
        assert status == 200 and [e["kind"] for e in found] == ["distribution.planned"]
        status, problem, _ = await api.call("GET", "/events/search?since=yesterday")
        assert status == 422 and problem["field"] == "since"
        _ = SYSTEM
