"""What only the memory repository promises beyond the shared contract."""

from __future__ import annotations

import pytest

from engine.errors import StorageError
from storage.memory_repository import MemoryRepository


class TestMemoryRepository:
    async def test_nested_unit_of_work_is_an_error_not_a_deadlock(self) -> None:
        """Opening a unit of work inside another in the same task raises StorageError."""
        repo = MemoryRepository()
        async with repo.unit_of_work():
            with pytest.raises(StorageError, match="nested"):
                async with repo.unit_of_work():
                    pass
        async with repo.unit_of_work() as uow:
            assert await uow.list_accounts() == []
