"""Hostile and odd input on SQLite and PostgreSQL: every refusal is a problem naming the
field, with nothing changed, never a 500 or a database error; unicode round-trips and is
searchable."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from engine.models import SYSTEM
from tests.api.conftest import REQUEST, Api, make_tokens, start_api, stop_api
from tests.bot.conftest import ACCOUNTS_CSV
from tests.bot.fake_slack import FakeSlack
from tests.conftest import SQL_BACKENDS, empty_postgres

UNICODE_NAME = "Ünïcødé launch 💥 中文 עברית"


@pytest.fixture(params=SQL_BACKENDS)
async def any_api(
    request: pytest.FixtureRequest, fake: FakeSlack, tmp_path: Path
) -> AsyncIterator[Api]:
    """The app on a migrated SQLite file, then on PostgreSQL."""
    from storage.migrate import upgrade

    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'herald.db'}"
        await upgrade(url)
    else:
        url = str(request.getfixturevalue("migrated_postgres_url"))
        await empty_postgres(url)
    running = await start_api(fake, url)
    await running.service.import_accounts(SYSTEM, ACCOUNTS_CSV)
    await make_tokens(running)
    yield running
    await stop_api(running)


async def _raw(api: Api, method: str, path: str, body: bytes, content_type: str) -> Any:
    headers = {**api.auth("operator"), "Content-Type": content_type}
    async with api.session.request(
        method, f"{api.url}/api/v1{path}", data=body, headers=headers
    ) as resp:
        return resp.status, await resp.json(content_type=None), resp.headers


class TestHostileInput:
    async def test_refusals_name_the_field_and_change_nothing(self, any_api: Api) -> None:
        """NUL characters (in body, query or path), deep nesting, non-JSON bodies and
        content types, and a 2 MB body are each a 4xx problem naming what is wrong."""
        api = any_api
        cases: list[tuple[str, str, bytes, str, int, str | None]] = [
            ("POST", "/distributions", b'{"name": "a\\u0000b"}', "application/json", 422, "name"),
            (
                "POST",
                "/distributions",
                b'{"name": "x", "content": {"caption": "c\\u0000"}}',
                "application/json",
                422,
                "content.caption",
            ),
            (
                "POST",
                "/distributions",
                b"[" * 50_000 + b"]" * 50_000,
                "application/json",
                422,
                "body",
            ),
            (
                "POST",
                "/distributions",
                b"name=x&caption=y",
                "application/x-www-form-urlencoded",
                422,
                "body",
            ),
            ("POST", "/distributions", b"\xff\xfe{}", "application/json", 422, "body"),
            (
                "POST",
                "/distributions",
                b'{"name": "' + b"x" * 2_000_000 + b'"}',
                "application/json",
                413,
                "body",
            ),
            ("GET", "/distributions/a%00b/status", b"", "application/json", 422, "id"),
            (
                "POST",
                "/content/import",
                b'[{"id": "w1", "caption": "a\\u0000b"}]',
                "application/json",
                422,
                "0.caption",
            ),
            ("POST", "/content/import", b"id,caption\nw1,a\x00b\n", "text/csv", 422, "body"),
            ("GET", "/events/search?query=a%00b", b"", "application/json", 422, "query"),
        ]
        for method, path, body, content_type, status, field in cases:
            got, problem, headers = await _raw(api, method, path, body, content_type)
            assert (got, problem.get("field")) == (status, field), (path, body[:40], problem)
            assert headers["Content-Type"].startswith("application/problem+json")
            assert len(problem["detail"]) <= 300
        assert await api.service.list() == []
        assert (await api.call("GET", "/content"))[1]["items"] == []

    async def test_bogus_ids_and_paging(self, any_api: Api) -> None:
        """Unknown, unicode and 5 000-character ids are 404s with a short detail;
        negative or huge paging is a 422 naming the parameter."""
        api = any_api
        for key in ("d-nope", "%F0%9F%92%A5", "x" * 5000, "..%2F..%2Fhealth"):
            status, problem, _ = await api.call("GET", f"/distributions/{key}/status")
            assert status == 404 and len(problem["detail"]) <= 300, (key[:20], problem)
        _, d, _ = await api.call("POST", "/distributions", json=REQUEST)
        for query, field in (
            ("limit=-1", "limit"),
            ("offset=-5", "offset"),
            ("limit=99999999999999999999", "limit"),
            ("status=NOPE", "status"),
            ("bogus=1", "bogus"),
        ):
            status, problem, _ = await api.call("GET", f"/distributions/{d['id']}/slots?{query}")
            assert (status, problem["field"]) == (422, field), (query, problem)

    async def test_unicode_round_trips_and_is_searchable(self, any_api: Api) -> None:
        """A name and caption in several scripts come back as sent, and the audit log
        finds the distribution by a non-ASCII word."""
        api = any_api
        body = {
            **REQUEST,
            "name": UNICODE_NAME,
            "content": {**REQUEST["content"], "caption": "Héllo 👋🏽 wörld — “quotes”"},
        }
        status, created, _ = await api.call("POST", "/distributions", json=body)
        assert status == 201
        _, got, _ = await api.call("GET", f"/distributions/{created['id']}")
        assert got["name"] == UNICODE_NAME
        assert got["request"]["content"]["caption"] == body["content"]["caption"]
        status, found, _ = await api.call("GET", "/events/search?query=Ünïcødé")
        assert status == 200 and [e["distribution_id"] for e in found] == [created["id"]]
        status, found, _ = await api.call("GET", "/events/search?query=中文")
        assert status == 200 and found

    async def test_csv_import_replays_by_idempotency_key(self, any_api: Api) -> None:
        """A CSV body (not JSON) under an Idempotency-Key replays its first answer."""
        headers = {"Content-Type": "text/csv", "Idempotency-Key": "csv-1"}
        csv = "id,caption\nw1,Winter\n"
        first = await any_api.call("POST", "/content/import", data=csv, headers=headers)
        again = await any_api.call("POST", "/content/import", data=csv, headers=headers)
        assert first[0] == again[0] == 201 and again[2]["Idempotent-Replayed"] == "true"
        other = await any_api.call("POST", "/content/import", data=csv + "w2,X\n", headers=headers)
        assert other[0] == 422 and other[1]["field"] == "Idempotency-Key"
