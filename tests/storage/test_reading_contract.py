"""The read-only unit of work (`Repository.reading`) on memory, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest

from engine.errors import StorageError
from tests.storage.factories import account


class TestReading:
    async def test_reads_what_was_committed(self, repository: Any) -> None:
        """A reading sees every committed unit of work."""
        async with repository.unit_of_work() as uow:
            await uow.upsert_accounts([account("tt-1", followers=7)])
        async with repository.reading() as uow:
            assert (await uow.get_account("tt-1")).followers == 7

    async def test_a_write_raises_and_changes_nothing(self, repository: Any) -> None:
        """A write inside a reading is a StorageError and is not kept."""
        with pytest.raises(StorageError):
            async with repository.reading() as uow:
                await uow.upsert_accounts([account("tt-1")])
        async with repository.unit_of_work() as uow:
            assert await uow.list_accounts() == []

    async def test_does_not_wait_for_an_open_unit_of_work(self, sql_repository: Any) -> None:
        """While a unit of work holds the write lock, a reading answers at once from the
        last committed state (status reads never queue behind a run's writes)."""
        repo = sql_repository
        async with repo.unit_of_work() as uow:
            await uow.upsert_accounts([account("tt-1", followers=1)])
        writing, release = asyncio.Event(), asyncio.Event()

        async def writer() -> None:
            async with repo.unit_of_work() as uow:
                current = await uow.get_account("tt-1")
                await uow.save_account(replace(current, followers=2))
                writing.set()
                await release.wait()

        task = asyncio.create_task(writer())
        await asyncio.wait_for(writing.wait(), 10)
        try:
            async with asyncio.timeout(2):
                async with repo.reading() as uow:
                    assert (await uow.get_account("tt-1")).followers == 1
        finally:
            release.set()
            await task
        async with repo.reading() as uow:
            assert (await uow.get_account("tt-1")).followers == 2

    async def test_one_snapshot_for_the_whole_reading(self, sql_repository: Any) -> None:
        """Statements inside one reading agree although a write commits between them."""
        repo = sql_repository
        async with repo.unit_of_work() as uow:
            await uow.upsert_accounts([account("tt-1", followers=1)])
        async with repo.reading() as reading:
            assert (await reading.get_account("tt-1")).followers == 1
            async with repo.unit_of_work() as uow:
                await uow.save_account(replace(await uow.get_account("tt-1"), followers=5))
            assert (await reading.get_account("tt-1")).followers == 1
