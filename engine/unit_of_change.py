"""The one write path: a unit of work that records events, appends them to the audit log in
the same transaction, and hands them to the notifier only after the commit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from engine.models import Event
from engine.ports import Notifier, Repository, UnitOfWork


class Change:
    """One transaction (`uow`) and the audit events it will commit with."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.events: list[Event] = []

    def record(self, *events: Event) -> None:
        """Append `events` to the audit log when the transaction commits; notify after."""
        self.events.extend(events)


@asynccontextmanager
async def write(repository: Repository, notifier: Notifier) -> AsyncIterator[Change]:
    """`async with write(repo, notifier) as change:` ... `change.record(event)`.

    An exception inside rolls everything back and notifies nothing. Raises what the
    repository raises (StorageError, ConcurrentModification).
    """
    async with repository.unit_of_work() as uow:
        change = Change(uow)
        yield change
        for event in change.events:
            await uow.append_event(event)
    for event in change.events:
        await notifier.notify(event)
