"""`MemoryRepository`: the Repository port in memory, with real transaction semantics.

Units of work are serialised by one asyncio lock and write straight into the live state
while recording an undo log; an exception replays the log backwards, so a failed unit of
work leaves nothing behind. Stored objects are private copies: callers never share them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from engine.errors import (
    AccountNotFound,
    ConcurrentModification,
    ContentNotFound,
    DistributionNotFound,
    SlotNotFound,
    StorageError,
)
from engine.models import (
    Account,
    ContentItem,
    Distribution,
    DistributionStatus,
    Event,
    Slot,
    SlotStatus,
)
from engine.plan_summary import PlanSummary, summarize_slots
from storage.codec import (
    copy_distribution,
    copy_slot,
    event_matches_text,
    normalise_account,
    normalise_distribution,
    normalise_event,
    normalise_slot,
    to_utc,
)

CLAIMABLE = (SlotStatus.QUEUED, SlotStatus.RETRY_SCHEDULED)
_MISSING = object()


class _State:
    """Everything the repository holds. Mutated only through `_MemoryUnitOfWork`."""

    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}
        self.distributions: dict[str, Distribution] = {}
        self.slots: dict[str, Slot] = {}
        # distribution id -> {slot id: None}: an ordered set, for per-distribution queries.
        self.slots_by_distribution: dict[str, dict[str, None]] = {}
        self.events: list[Event] = []
        self.content_items: dict[str, ContentItem] = {}


class _MemoryUnitOfWork:
    """One transaction over `_State`; every write records how to undo it."""

    def __init__(self, state: _State) -> None:
        self._state = state
        self._undo: list[Callable[[], None]] = []

    # --- undo log
    def _set(self, mapping: dict[Any, Any], key: Any, value: Any) -> None:
        old = mapping.get(key, _MISSING)
        mapping[key] = value
        self._undo.append(lambda: _restore(mapping, key, old))

    def _delete(self, mapping: dict[Any, Any], key: Any) -> None:
        old = mapping.pop(key, _MISSING)
        if old is not _MISSING:
            self._undo.append(lambda: _restore(mapping, key, old))

    def rollback(self) -> None:
        """Undo every write of this unit of work, newest first."""
        while self._undo:
            self._undo.pop()()

    # --- accounts
    async def get_account(self, account_id: str) -> Account:
        """Raises AccountNotFound."""
        try:
            return self._state.accounts[account_id]
        except KeyError:
            raise AccountNotFound(account_id) from None

    async def get_accounts(self, account_ids: Sequence[str]) -> list[Account]:
        """The accounts with these ids that exist (unknown ids are left out), by id."""
        accounts = self._state.accounts
        return [accounts[i] for i in sorted(set(account_ids)) if i in accounts]

    async def list_accounts(self, platform: str | None = None) -> list[Account]:
        """All accounts (of one platform), ordered by id."""
        accounts = self._state.accounts.values()
        if platform is not None:
            accounts = [a for a in accounts if a.platform == platform]  # type: ignore[assignment]
        return sorted(accounts, key=lambda a: a.id)

    async def upsert_accounts(self, accounts: Sequence[Account]) -> int:
        """Insert or replace accounts by id; returns how many were written."""
        clean = [normalise_account(a) for a in accounts]
        for account in clean:
            stored = self._state.accounts.get(account.id)
            if stored is not None and not account.publisher and stored.publisher:
                # An import without a publisher keeps the one the account's connection set.
                account = replace(account, publisher=stored.publisher)
            self._set(self._state.accounts, account.id, account)
        return len(clean)

    async def save_account(self, account: Account) -> None:
        """Replace one account. Raises AccountNotFound."""
        if account.id not in self._state.accounts:
            raise AccountNotFound(account.id)
        self._set(self._state.accounts, account.id, normalise_account(account))

    # --- distributions
    async def add_distribution(self, distribution: Distribution) -> None:
        """Insert a new distribution; an existing id is a StorageError."""
        if distribution.id in self._state.distributions:
            raise StorageError(f"distribution {distribution.id} already exists")
        self._set(self._state.distributions, distribution.id, normalise_distribution(distribution))

    async def get_distribution(self, distribution_id: str) -> Distribution:
        """Raises DistributionNotFound."""
        try:
            return copy_distribution(self._state.distributions[distribution_id])
        except KeyError:
            raise DistributionNotFound(distribution_id) from None

    async def find_distributions(self, key: str) -> list[Distribution]:
        """By id or exact name (case-insensitive); failing that, by name substring."""
        wanted = key.strip().lower()
        all_ = _newest_first(self._state.distributions.values())
        exact = [d for d in all_ if d.id == key or d.name.lower() == wanted]
        found = exact or [d for d in all_ if wanted and wanted in d.name.lower()]
        return [copy_distribution(d) for d in found]

    async def list_distributions(
        self, statuses: Sequence[DistributionStatus] | None = None, limit: int = 50
    ) -> list[Distribution]:
        """Newest first."""
        chosen = _newest_first(self._state.distributions.values())
        if statuses is not None:
            wanted = set(statuses)
            chosen = [d for d in chosen if d.status in wanted]
        return [copy_distribution(d) for d in chosen[:limit]]

    async def save_distribution(self, distribution: Distribution) -> Distribution:
        """Optimistic save: the stored version must equal `distribution.version`."""
        stored = self._state.distributions.get(distribution.id)
        if stored is None:
            raise DistributionNotFound(distribution.id)
        if stored.version != distribution.version:
            raise ConcurrentModification(
                f"distribution {distribution.id} changed (version {stored.version}, "
                f"you had {distribution.version}); reload and try again"
            )
        saved = normalise_distribution(replace(distribution, version=distribution.version + 1))
        self._set(self._state.distributions, saved.id, saved)
        return copy_distribution(saved)

    # --- slots
    async def replace_slots(self, distribution_id: str, slots: Sequence[Slot]) -> None:
        """Delete the distribution's slots and insert `slots`."""
        self._require_distribution(distribution_id)
        for slot_id in list(self._state.slots_by_distribution.get(distribution_id, {})):
            self._delete(self._state.slots, slot_id)
        self._set(self._state.slots_by_distribution, distribution_id, {})
        await self.add_slots(slots)

    async def add_slots(self, slots: Sequence[Slot]) -> None:
        """Insert more slots; a duplicate id is a StorageError, a missing distribution
        DistributionNotFound."""
        clean = [normalise_slot(s) for s in slots]
        ids = [s.id for s in clean]
        if len(set(ids)) != len(ids) or any(i in self._state.slots for i in ids):
            raise StorageError("slot ids must be unique")
        for slot in clean:
            self._require_distribution(slot.distribution_id)
        for slot in clean:
            self._set(self._state.slots, slot.id, slot)
            index = self._state.slots_by_distribution.get(slot.distribution_id)
            if index is None:
                index = {}
                self._set(self._state.slots_by_distribution, slot.distribution_id, index)
            self._set(index, slot.id, None)

    async def get_slot(self, slot_id: str) -> Slot:
        """Raises SlotNotFound."""
        try:
            return copy_slot(self._state.slots[slot_id])
        except KeyError:
            raise SlotNotFound(slot_id) from None

    async def list_slots(
        self, distribution_id: str, statuses: Sequence[SlotStatus] | None = None
    ) -> list[Slot]:
        """Ordered by due_at, then seq."""
        chosen = self._slots_of(distribution_id)
        if statuses is not None:
            wanted = set(statuses)
            chosen = [s for s in chosen if s.status in wanted]
        chosen.sort(key=lambda s: (s.due_at, s.seq))
        return [copy_slot(s) for s in chosen]

    async def list_spaced_slots(self, distribution_id: str) -> list[Slot]:
        """PUBLISHED, CLAIMED and re-timed QUEUED slots, by due_at, then seq."""
        return [s for s in await self.list_slots(distribution_id) if _spaced(s)]

    async def save_slot(self, slot: Slot) -> None:
        """Replace one slot. Raises SlotNotFound."""
        stored = self._state.slots.get(slot.id)
        if stored is None:
            raise SlotNotFound(slot.id)
        if stored.distribution_id != slot.distribution_id:
            raise StorageError(f"slot {slot.id} cannot move to another distribution")
        self._set(self._state.slots, slot.id, normalise_slot(slot))

    async def set_slot_status(
        self,
        distribution_id: str,
        from_statuses: Sequence[SlotStatus],
        to_status: SlotStatus,
    ) -> int:
        """Move every slot of the distribution in `from_statuses` to `to_status`."""
        wanted = set(from_statuses)
        moved = 0
        for slot in self._slots_of(distribution_id):
            if slot.status in wanted:
                self._set(self._state.slots, slot.id, replace(slot, status=to_status))
                moved += 1
        return moved

    async def slot_counts(self, distribution_id: str) -> dict[SlotStatus, int]:
        """How many slots are in each status (every status present, zeros included)."""
        counts = dict.fromkeys(SlotStatus, 0)
        for slot in self._slots_of(distribution_id):
            counts[slot.status] += 1
        return counts

    async def plan_summary(self, distribution_id: str) -> PlanSummary:
        """What the plan card shows, from the slots (ordered as `list_slots`)."""
        return summarize_slots(await self.list_slots(distribution_id))

    async def count_late_slots(self, distribution_id: str, before: datetime) -> int:
        """How many waiting slots of the distribution are due strictly before `before`."""
        return sum(
            1
            for s in self._slots_of(distribution_id)
            if s.status in CLAIMABLE and s.due_at < before
        )

    async def posts_in_window(
        self, account_ids: Sequence[str], since: datetime
    ) -> tuple[int, datetime | None]:
        """Published-since or claimed slots of these accounts, and the earliest publish."""
        wanted = set(account_ids)
        count, oldest = 0, None
        for s in self._state.slots.values():
            if s.account_id not in wanted:
                continue
            if s.status == SlotStatus.CLAIMED:
                count += 1
            elif s.status == SlotStatus.PUBLISHED and s.executed_at and s.executed_at >= since:
                count += 1
                oldest = s.executed_at if oldest is None else min(oldest, s.executed_at)
        return count, oldest

    async def next_slot_due_at(self, distribution_id: str) -> datetime | None:
        """The earliest due_at of the distribution's waiting slots."""
        waiting = (s.due_at for s in self._slots_of(distribution_id) if s.status in CLAIMABLE)
        return min(waiting, default=None)

    # --- content library
    async def add_content_items(self, items: Sequence[ContentItem]) -> None:
        """Insert new library items; an existing id is a StorageError."""
        library = self._state.content_items
        for item in items:
            if item.id in library:
                raise StorageError(f"content item {item.id} already exists")
            self._set(library, item.id, _copy_item(item))

    async def get_content_item(self, item_id: str) -> ContentItem:
        """Raises ContentNotFound."""
        try:
            return _copy_item(self._state.content_items[item_id])
        except KeyError:
            raise ContentNotFound(item_id) from None

    async def list_content_items(self, *, include_archived: bool = False) -> list[ContentItem]:
        """Library items, oldest first (then by id); archived ones only when asked."""
        items = [
            _copy_item(i)
            for i in self._state.content_items.values()
            if include_archived or i.archived_at is None
        ]
        return sorted(items, key=lambda i: (i.created_at, i.id))

    async def find_content_items(self, ids: Sequence[str]) -> list[ContentItem]:
        """The stored items (archived too) whose id is in `ids`."""
        library = self._state.content_items
        return [_copy_item(library[i]) for i in dict.fromkeys(ids) if i in library]

    async def save_content_item(self, item: ContentItem) -> None:
        """Replace one item. Raises ContentNotFound."""
        if item.id not in self._state.content_items:
            raise ContentNotFound(item.id)
        self._set(self._state.content_items, item.id, _copy_item(item))

    # --- audit log
    async def append_event(self, event: Event) -> None:
        """Append to the audit log."""
        events = self._state.events
        events.append(normalise_event(event))
        length = len(events) - 1
        self._undo.append(lambda: events.__delitem__(slice(length, None)))

    async def append_events(self, events: Sequence[Event]) -> None:
        """Append several to the audit log, in order."""
        for event in events:
            await self.append_event(event)

    async def list_events(
        self,
        *,
        distribution_id: str | None = None,
        account_id: str | None = None,
        kind_prefix: str | None = None,
        since: datetime | None = None,
        text: str | None = None,
        limit: int = 100,
    ) -> list[Event]:
        """Newest first (by time, then by insertion). `text` searches kinds and data."""
        since = to_utc(since, "since")
        chosen: list[tuple[datetime, int, Event]] = []
        for index, event in enumerate(self._state.events):
            if distribution_id is not None and event.distribution_id != distribution_id:
                continue
            if account_id is not None and event.account_id != account_id:
                continue
            if kind_prefix is not None and not event.kind.startswith(kind_prefix):
                continue
            if since is not None and event.at < since:
                continue
            if text and not event_matches_text(event, text):
                continue
            chosen.append((event.at, index, event))
        chosen.sort(key=lambda item: (item[0], item[1]), reverse=True)
        return [normalise_event(e) for _, _, e in chosen[:limit]]

    # --- helpers
    def _require_distribution(self, distribution_id: str) -> None:
        if distribution_id not in self._state.distributions:
            raise DistributionNotFound(distribution_id)

    def _slots_of(self, distribution_id: str) -> list[Slot]:
        ids = self._state.slots_by_distribution.get(distribution_id, {})
        return [self._state.slots[i] for i in ids]


class MemoryRepository:
    """The Repository port in memory: for tests, the planner CLI and quick demos."""

    def __init__(self) -> None:
        self._state = _State()
        self._lock = asyncio.Lock()
        self._holder: asyncio.Task[Any] | None = None

    @asynccontextmanager
    async def _locked(self) -> AsyncIterator[None]:
        task = asyncio.current_task()
        if task is not None and self._holder is task:
            # A nested unit of work would wait for itself forever: say so instead.
            raise StorageError("a unit of work is already open in this task (nested call)")
        async with self._lock:
            self._holder = task
            try:
                yield
            finally:
                self._holder = None

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[_MemoryUnitOfWork]:
        """One transaction: writes are kept if the block exits cleanly, undone on error."""
        async with self._locked():
            uow = _MemoryUnitOfWork(self._state)
            try:
                yield uow
            except BaseException:
                uow.rollback()
                raise

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[_MemoryUnitOfWork]:
        """One read-only transaction (in memory reads are quick: it takes the lock); a
        write inside it is undone and raises StorageError."""
        async with self._locked():
            uow = _MemoryUnitOfWork(self._state)
            try:
                yield uow
            finally:
                wrote = bool(uow._undo)
                uow.rollback()
            if wrote:
                raise StorageError("a read-only unit of work cannot write")

    async def claim_due_slots(
        self, *, now: datetime, limit: int, worker_id: str, lease: timedelta
    ) -> list[Slot]:
        """Claim up to `limit` due slots of EXECUTING distributions for `worker_id`."""
        now = to_utc(now, "now")  # type: ignore[assignment]
        async with self._locked():
            if limit <= 0:
                return []
            due = [s for s in self._claimable() if s.due_at <= now]
            due.sort(key=lambda s: (s.due_at, s.seq))
            claimed: list[Slot] = []
            for slot in due[:limit]:
                new = replace(
                    slot,
                    status=SlotStatus.CLAIMED,
                    claimed_by=worker_id,
                    lease_expires_at=now + lease,
                    attempts=slot.attempts + 1,
                )
                self._state.slots[slot.id] = new
                claimed.append(copy_slot(new))
            return claimed

    async def expired_claims(self, *, now: datetime, limit: int = 500) -> list[Slot]:
        """CLAIMED slots whose lease ended before `now`, oldest lease first."""
        now = to_utc(now, "now")  # type: ignore[assignment]
        async with self._locked():
            expired = [
                s
                for s in self._state.slots.values()
                if s.status is SlotStatus.CLAIMED
                and s.lease_expires_at is not None
                and s.lease_expires_at < now
            ]
            expired.sort(key=lambda s: (s.lease_expires_at, s.seq))
            return [copy_slot(s) for s in expired[:limit]]

    async def renew_claims(
        self, slot_ids: Sequence[str], *, worker_id: str, now: datetime, lease: timedelta
    ) -> set[str]:
        """Extend the leases of the slots still CLAIMED by `worker_id`."""
        now = to_utc(now, "now")  # type: ignore[assignment]
        renewed: set[str] = set()
        async with self._locked():
            for slot_id in slot_ids:
                slot = self._state.slots.get(slot_id)
                if slot is None or slot.status is not SlotStatus.CLAIMED:
                    continue
                if slot.claimed_by == worker_id:
                    self._state.slots[slot_id] = replace(slot, lease_expires_at=now + lease)
                    renewed.add(slot_id)
        return renewed

    async def next_due_at(self) -> datetime | None:
        """The earliest due_at of a claimable slot of an EXECUTING distribution."""
        async with self._locked():
            return min((s.due_at for s in self._claimable()), default=None)

    async def close(self) -> None:
        """Nothing to release."""

    def _claimable(self) -> list[Slot]:
        executing = [
            d.id
            for d in self._state.distributions.values()
            if d.status is DistributionStatus.EXECUTING
        ]
        slots = self._state.slots
        return [
            slots[i]
            for d in executing
            for i in self._state.slots_by_distribution.get(d, {})
            if slots[i].status in CLAIMABLE
        ]


def _restore(mapping: dict[Any, Any], key: Any, old: Any) -> None:
    if old is _MISSING:
        mapping.pop(key, None)
    else:
        mapping[key] = old


def _newest_first(distributions: Any) -> list[Distribution]:
    return sorted(distributions, key=lambda d: (d.created_at, d.id), reverse=True)


def _copy_item(item: ContentItem) -> ContentItem:
    """A private copy (the pydantic content is mutable), times in UTC."""
    created = to_utc(item.created_at)
    assert created is not None  # a ContentItem always has its creation time
    return ContentItem(
        item.content.model_copy(deep=True), item.created_by, created, to_utc(item.archived_at)
    )


def _spaced(slot: Slot) -> bool:
    if slot.status in (SlotStatus.PUBLISHED, SlotStatus.CLAIMED):
        return True
    return slot.status == SlotStatus.QUEUED and slot.due_at > slot.scheduled_at
