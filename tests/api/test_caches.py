"""The API process's caches follow every process's writes through the event hub: a token
revoked or a run paused elsewhere shows within a poll, and without a current hub the
answers come from the database again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from engine.models import SYSTEM
from storage.api_store import ApiStore
from tests.api.conftest import REQUEST, Api, make_tokens, start_api, stop_api
from tests.bot.conftest import ACCOUNTS_CSV
from tests.bot.fake_slack import FakeSlack


@pytest.fixture
async def pair(fake: FakeSlack, tmp_path: Path) -> AsyncIterator[tuple[Api, Api]]:
    """Two processes' apps on one SQLite file (as `herald serve` and the CLI, or replicas)."""
    from engine.clock import ManualClock
    from storage.migrate import upgrade
    from tests.bot.conftest import T0

    url = f"sqlite+aiosqlite:///{tmp_path / 'herald.db'}"
    await upgrade(url)
    clock = ManualClock(T0)
    a = await start_api(fake, url, clock)
    b = await start_api(fake, url, clock)
    await a.service.import_accounts(SYSTEM, ACCOUNTS_CSV)
    await make_tokens(a)
    b.tokens = a.tokens
    yield a, b
    await stop_api(a)
    await stop_api(b)


async def _eventually(check: Callable[[], Awaitable[bool]], seconds: float = 3.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("never happened")


async def _approved(api: Api) -> str:
    _status, d, _ = await api.call("POST", "/distributions", json=REQUEST)
    await api.call("POST", f"/distributions/{d['id']}/plan")
    await api.call("POST", f"/distributions/{d['id']}/approve", who="approver", json={})
    return str(d["id"])


class TestCaches:
    async def test_a_pause_elsewhere_shows_in_status(self, pair: tuple[Api, Api]) -> None:
        """B's cached status of a run says PAUSED soon after A pauses it (B's hub hears
        A's event), although no request of B's changed anything."""
        a, b = pair
        d = await _approved(a)
        _, before, _ = await b.call("GET", f"/distributions/{d}/status")
        assert before["distribution"]["status"] == "EXECUTING"
        assert b.ctx.hub.current()
        await a.call("POST", f"/distributions/{d}/pause")

        async def paused() -> bool:
            _, now, _ = await b.call("GET", f"/distributions/{d}/status")
            return bool(now["distribution"]["status"] == "PAUSED")

        await _eventually(paused)

    async def test_a_token_revoked_elsewhere_is_refused(self, pair: tuple[Api, Api]) -> None:
        """A token B has cached is refused by B once another process revokes it."""
        a, b = pair
        assert (await b.call("GET", "/accounts"))[0] == 200
        token_id = b.tokens["operator"].split("_")[1]
        store = ApiStore(a.deps.herald.repository.engine)
        assert await store.revoke(token_id, a.clock.now())
        await store.close()

        async def refused() -> bool:
            return (await b.call("GET", "/accounts"))[0] == 401

        await _eventually(refused)

    async def test_without_a_current_hub_the_database_answers(self, api: Api) -> None:
        """With the hub stopped (nothing hears other processes), a revoked token is
        refused on the very next request and status reads are checked again."""
        assert (await api.call("GET", "/accounts"))[0] == 200
        await api.ctx.hub.stop()
        assert not api.ctx.hub.current()
        token_id = api.tokens["operator"].split("_")[1]
        store = ApiStore(api.deps.herald.repository.engine)
        await store.revoke(token_id, api.clock.now())
        await store.close()
        status, problem, _ = await api.call("GET", "/accounts")
        assert status == 401 and "revoked" in problem["detail"]


class TestStatusCache:
    async def test_stale_answers_refresh_behind(self, api: Api) -> None:
        """An answer older than the ttl that no write invalidated is given at once while
        one read refreshes it; the next answer is the refreshed one."""
        reads: Any = api.deps.reads
        d = await _approved(api)
        # A loaded host's hub may hear the approval late and rightly drop the entry under
        # test; with it stopped, only this test's reads touch the cache.
        await api.ctx.hub.stop()
        first = await reads.status(d)
        key = f"status:{d}"
        at, view = reads._values[key]
        reads._values[key] = (at - 60, view)  # as if read a minute ago
        again = await reads.status(d)
        assert again is view  # given at once, not read
        await asyncio.gather(*reads._refreshing.values())
        assert reads._values[key][1] is not first and reads._values[key][0] > at - 60
