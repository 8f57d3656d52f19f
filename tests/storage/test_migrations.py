"""Migrations: a fresh database reaches head, matches the tables, and stale schemas are refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from engine.errors import InvalidInput, SchemaNotMigrated, StorageError
from storage.database import create_engine
from storage.migrate import check_current, current_revision, head_revision, is_new_sqlite, upgrade
from storage.tables import SEARCH_OBJECTS, metadata

TABLES = {"accounts", "distributions", "slots", "events", "outbox", "seen_events", "llm_calls"}


async def _schema_diff(url: str) -> list[object]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
            )
    finally:
        await engine.dispose()
    # The full-text search objects of 0002_api are raw DDL, outside the metadata.
    return [d for d in diff if not _is_search_object(d)]


def _is_search_object(diff: Any) -> bool:
    obj = diff[1] if isinstance(diff, tuple) and len(diff) > 1 else None
    return getattr(obj, "name", None) in SEARCH_OBJECTS


async def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))
    finally:
        await engine.dispose()


class TestMigrations:
    async def test_upgrade_fresh_sqlite(self, sqlite_url: str) -> None:
        """A new SQLite file is created at head with every table and no drift from tables.py."""
        assert is_new_sqlite(sqlite_url)
        assert await upgrade(sqlite_url) == head_revision()
        assert not is_new_sqlite(sqlite_url)
        assert await _tables(sqlite_url) >= TABLES
        assert await _schema_diff(sqlite_url) == []
        await check_current(sqlite_url)

    async def test_upgrade_is_idempotent(self, sqlite_url: str) -> None:
        """Upgrading twice leaves the database at head."""
        await upgrade(sqlite_url)
        assert await upgrade(sqlite_url) == head_revision()

    @pytest.mark.postgres
    async def test_upgrade_fresh_postgres(self, postgres_cluster: Any) -> None:
        """An empty PostgreSQL database is migrated to head with no drift from tables.py."""
        url = postgres_cluster.createdb(postgres_cluster.next_name("fresh"))
        await upgrade(url)
        assert await current_revision(url) == head_revision()
        assert await _tables(url) >= TABLES
        assert await _schema_diff(url) == []
        await check_current(url)


class TestUnmigratedRefusal:
    async def test_missing_sqlite_file(self, sqlite_url: str) -> None:
        """A SQLite file that does not exist is refused, and not created by the check."""
        with pytest.raises(SchemaNotMigrated, match="herald db upgrade"):
            await check_current(sqlite_url)
        assert is_new_sqlite(sqlite_url)

    async def test_sqlite_in_a_missing_folder_is_named(self, tmp_path: Path) -> None:
        """A SQLite file whose folder does not exist is refused naming the folder, by the
        check and by the upgrade alike (not "run herald db upgrade", which cannot help)."""
        url = f"sqlite+aiosqlite:///{tmp_path}/absent/h.db"
        for step in (check_current, upgrade):
            with pytest.raises(InvalidInput, match=f"the folder {tmp_path}/absent does not"):
                await step(url)
        assert not (tmp_path / "absent").exists()

    async def test_empty_sqlite_file(self, tmp_path: Path) -> None:
        """An existing but empty database is refused with the command to run."""
        path = tmp_path / "empty.db"
        path.write_bytes(b"")
        with pytest.raises(SchemaNotMigrated, match=r"is not migrated.*run `herald db upgrade`"):
            await check_current(f"sqlite:///{path}")

    async def test_message_hides_the_password(self) -> None:
        """The refusal names the database without its password."""
        url = "postgresql://herald:s3cret@127.0.0.1:1/none"
        with pytest.raises(StorageError) as info:
            await check_current(url)
        assert "s3cret" not in str(info.value)

    @pytest.mark.postgres
    async def test_stale_postgres_is_refused(self, postgres_cluster: Any) -> None:
        """A PostgreSQL database behind head is refused."""
        url = postgres_cluster.createdb(postgres_cluster.next_name("stale"))
        with pytest.raises(SchemaNotMigrated, match=r"herald db upgrade"):
            await check_current(url)
