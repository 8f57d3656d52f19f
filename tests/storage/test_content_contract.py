"""The content-library part of the Repository contract: memory, SQLite and PostgreSQL alike."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from engine.errors import ContentNotFound, StorageError
from engine.models import ContentItem
from engine.request import Content
from tests.storage.factories import T0


def item(item_id: str, *, minutes: int = 0, **fields: Any) -> ContentItem:
    content = Content(id=item_id, caption=f"caption {item_id}", **fields)
    return ContentItem(content, "U1", T0 + timedelta(minutes=minutes))


class TestContentItems:
    async def test_add_get_list(self, repository: Any) -> None:
        """Items come back whole (fields, tags, translations), oldest first."""
        full = item(
            "winter",
            minutes=5,
            hashtags=["snow"],
            link="https://example.com/w",
            tags=["Launch", "winter"],
            translations={"es": "invierno"},
        )
        async with repository.unit_of_work() as uow:
            await uow.add_content_items([full, item("autumn")])
        async with repository.unit_of_work() as uow:
            got = await uow.get_content_item("winter")
            listed = await uow.list_content_items()
        assert got == full
        assert got.content.tags == ["launch", "winter"]
        assert [i.id for i in listed] == ["autumn", "winter"]

    async def test_archive_hides_from_list(self, repository: Any) -> None:
        """An archived item is listed only when archived items are asked for."""
        async with repository.unit_of_work() as uow:
            await uow.add_content_items([item("a"), item("b", minutes=1)])
        async with repository.unit_of_work() as uow:
            a = await uow.get_content_item("a")
            await uow.save_content_item(replace(a, archived_at=T0 + timedelta(hours=1)))
        async with repository.unit_of_work() as uow:
            assert [i.id for i in await uow.list_content_items()] == ["b"]
            every = await uow.list_content_items(include_archived=True)
        assert [i.id for i in every] == ["a", "b"]
        assert every[0].archived_at == T0 + timedelta(hours=1)

    async def test_missing_and_duplicate(self, repository: Any) -> None:
        """Unknown ids raise ContentNotFound; a repeated id is a StorageError, nothing kept."""
        async with repository.unit_of_work() as uow:
            with pytest.raises(ContentNotFound):
                await uow.get_content_item("none")
            with pytest.raises(ContentNotFound):
                await uow.save_content_item(item("none"))
            await uow.add_content_items([item("x")])
        with pytest.raises(StorageError):
            async with repository.unit_of_work() as uow:
                await uow.add_content_items([item("y"), item("x")])
        async with repository.unit_of_work() as uow:
            assert [i.id for i in await uow.list_content_items()] == ["x"]

    async def test_find_by_ids_in_batches(self, repository: Any) -> None:
        """find_content_items returns the stored items among the ids, archived ones too,
        across more ids than one statement's batch; unknown ids are skipped."""
        stored = [item(f"i{n}", minutes=n % 7) for n in range(1200)]
        async with repository.unit_of_work() as uow:
            await uow.add_content_items(stored)
            first = await uow.get_content_item("i0")
            await uow.save_content_item(replace(first, archived_at=T0 + timedelta(hours=1)))
        wanted = [f"i{n}" for n in range(0, 1200, 3)] + ["nope", "i0"]
        async with repository.unit_of_work() as uow:
            found = await uow.find_content_items(wanted)
            assert await uow.find_content_items([]) == []
        assert sorted(i.id for i in found) == sorted(f"i{n}" for n in range(0, 1200, 3))
        assert next(i for i in found if i.id == "i0").archived
        assert next(i for i in found if i.id == "i3") == stored[3]
