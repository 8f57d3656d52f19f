"""One contract for every Repository: memory, SQLite and PostgreSQL behave the same."""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import replace
from datetime import timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from engine.errors import (
    AccountNotFound,
    ConcurrentModification,
    DistributionNotFound,
    SlotNotFound,
    StorageError,
)
from engine.models import AccountState, DistributionStatus, RiskLevel, SlotStatus
from tests.storage.factories import T0, account, distribution, event, slot

LEASE = timedelta(minutes=2)


async def _executing(repo: Any, count: int, **changes: Any) -> str:
    """Store an EXECUTING distribution with `count` QUEUED slots; return its id."""
    dist = distribution(status=DistributionStatus.EXECUTING, **changes)
    async with repo.unit_of_work() as uow:
        await uow.add_distribution(dist)
        await uow.add_slots([slot(dist.id, i) for i in range(count)])
    return dist.id


class TestAccounts:
    async def test_upsert_get_list(self, repository: Any) -> None:
        """Upserted accounts come back by id and by platform, ordered by id."""
        async with repository.unit_of_work() as uow:
            written = await uow.upsert_accounts(
                [account("tt-2"), account("ig-1", "instagram"), account("tt-1")]
            )
        assert written == 3
        async with repository.unit_of_work() as uow:
            assert (await uow.get_account("ig-1")).platform == "instagram"
            assert [a.id for a in await uow.list_accounts()] == ["ig-1", "tt-1", "tt-2"]
            assert [a.id for a in await uow.list_accounts("tiktok")] == ["tt-1", "tt-2"]

    async def test_get_accounts_by_ids(self, repository: Any) -> None:
        """get_accounts returns the known ids (also past 500 of them), ordered, skipping unknown."""
        many = [account(f"tt-{i:04d}") for i in range(1200)]
        async with repository.unit_of_work() as uow:
            await uow.upsert_accounts(many)
        wanted = [f"tt-{i:04d}" for i in range(0, 1200, 2)] + ["nope", "tt-0000"]
        async with repository.unit_of_work() as uow:
            got = await uow.get_accounts(wanted)
        assert [a.id for a in got] == sorted({w for w in wanted if w != "nope"})

    async def test_upsert_replaces_by_id(self, repository: Any) -> None:
        """Upserting an existing id replaces every field."""
        async with repository.unit_of_work() as uow:
            await uow.upsert_accounts([account("tt-1", followers=10)])
        async with repository.unit_of_work() as uow:
            await uow.upsert_accounts([account("tt-1", followers=99, handle="@new")])
        async with repository.unit_of_work() as uow:
            got = await uow.get_account("tt-1")
        assert (got.followers, got.handle) == (99, "@new")

    async def test_save_account_round_trips_every_field(self, repository: Any) -> None:
        """save_account stores state, times and counters exactly."""
        async with repository.unit_of_work() as uow:
            await uow.upsert_accounts([account("tt-1")])
        changed = account(
            "tt-1",
            language="fr",
            followers=1234,
            health=0.75,
            state=AccountState.RATE_LIMITED,
            last_posted_at=T0,
            rate_limited_until=T0 + timedelta(hours=2),
            suspensions=1,
            recent_failures=2,
            recent_posts=3,
        )
        async with repository.unit_of_work() as uow:
            await uow.save_account(changed)
        async with repository.unit_of_work() as uow:
            assert await uow.get_account("tt-1") == changed

    async def test_missing_account(self, repository: Any) -> None:
        """Unknown ids raise AccountNotFound on get and save."""
        async with repository.unit_of_work() as uow:
            with pytest.raises(AccountNotFound):
                await uow.get_account("nope")
            with pytest.raises(AccountNotFound):
                await uow.save_account(account("nope"))


class TestDistributions:
    async def test_add_get_round_trip(self, repository: Any) -> None:
        """A distribution comes back equal, request and JSON fields included."""
        dist = distribution(
            simulation={"slots": 3, "by_platform": {"tiktok": 2}},
            warnings=["few accounts"],
            origin={"channel": "C1", "ts": "1.2"},
            approved_by="U2",
            approved_at=T0,
            decision_note="ok",
        )
        async with repository.unit_of_work() as uow:
            await uow.add_distribution(dist)
        async with repository.unit_of_work() as uow:
            got = await uow.get_distribution(dist.id)
        assert got == dist

    async def test_missing_distribution(self, repository: Any) -> None:
        """Unknown ids raise DistributionNotFound on get and save."""
        async with repository.unit_of_work() as uow:
            with pytest.raises(DistributionNotFound):
                await uow.get_distribution("d-none")
            with pytest.raises(DistributionNotFound):
                await uow.save_distribution(distribution(id="d-none"))

    async def test_duplicate_id_is_a_storage_error(self, repository: Any) -> None:
        """Adding a distribution twice raises StorageError and keeps the first."""
        dist = distribution()
        async with repository.unit_of_work() as uow:
            await uow.add_distribution(dist)
        with pytest.raises(StorageError):
            async with repository.unit_of_work() as uow:
                await uow.add_distribution(replace(dist, name="other"))
        async with repository.unit_of_work() as uow:
            assert (await uow.get_distribution(dist.id)).name == "launch"

    async def test_save_bumps_version(self, repository: Any) -> None:
        """save_distribution returns the object with version + 1 and stores it."""
        dist = distribution()
        async with repository.unit_of_work() as uow:
            await uow.add_distribution(dist)
            saved = await uow.save_distribution(replace(dist, status=DistributionStatus.PLANNED))
        assert saved.version == 2
        async with repository.unit_of_work() as uow:
            got = await uow.get_distribution(dist.id)
        assert (got.version, got.status) == (2, DistributionStatus.PLANNED)

    async def test_stale_version_conflicts(self, repository: Any) -> None:
        """Saving a stale copy raises ConcurrentModification and changes nothing."""
        dist = distribution()
        async with repository.unit_of_work() as uow:
            await uow.add_distribution(dist)
        async with repository.unit_of_work() as uow:
            first = await uow.get_distribution(dist.id)
        async with repository.unit_of_work() as uow:
            second = await uow.get_distribution(dist.id)
        async with repository.unit_of_work() as uow:
            await uow.save_distribution(replace(first, name="first"))
        with pytest.raises(ConcurrentModification):
            async with repository.unit_of_work() as uow:
                await uow.save_distribution(replace(second, name="second"))
        async with repository.unit_of_work() as uow:
            got = await uow.get_distribution(dist.id)
        assert (got.name, got.version) == ("first", 2)

    async def test_find_by_id_exact_name_then_substring(self, repository: Any) -> None:
        """find_distributions matches id, exact name (any case), then name substrings."""
        a = distribution("Winter Launch", created_at=T0)
        b = distribution("winter launch", created_at=T0 + timedelta(hours=1))
        c = distribution("summer", created_at=T0 + timedelta(hours=2))
        async with repository.unit_of_work() as uow:
            for d in (a, b, c):
                await uow.add_distribution(d)
        async with repository.unit_of_work() as uow:
            assert [d.id for d in await uow.find_distributions(a.id)] == [a.id]
            assert [d.id for d in await uow.find_distributions("WINTER LAUNCH")] == [b.id, a.id]
            assert [d.id for d in await uow.find_distributions("umm")] == [c.id]
            assert await uow.find_distributions("autumn") == []

    async def test_list_newest_first_with_status_filter(self, repository: Any) -> None:
        """list_distributions orders newest first, filters statuses, honours limit."""
        dists = [
            distribution(f"d{i}", created_at=T0 + timedelta(minutes=i), status=status)
            for i, status in enumerate(
                [DistributionStatus.DRAFT, DistributionStatus.EXECUTING, DistributionStatus.DRAFT]
            )
        ]
        async with repository.unit_of_work() as uow:
            for d in dists:
                await uow.add_distribution(d)
        async with repository.unit_of_work() as uow:
            names = [d.name for d in await uow.list_distributions()]
            drafts = await uow.list_distributions([DistributionStatus.DRAFT], limit=1)
        assert names == ["d2", "d1", "d0"]
        assert [d.name for d in drafts] == ["d2"]


class TestSlots:
    async def test_add_get_round_trip(self, repository: Any) -> None:
        """A slot with every field set comes back equal."""
        dist = distribution()
        full = slot(
            dist.id,
            1,
            status=SlotStatus.PUBLISHED,
            risk_level=RiskLevel.HIGH,
            risk_score=0.65,
            trend_score=0.4,
            content_type="reel",
            variant_id="v2",
            attempts=2,
            claimed_by="w1",
            lease_expires_at=T0 + timedelta(minutes=5),
            executed_at=T0 + timedelta(minutes=3),
            post_id="p1",
            post_url="https://example.invalid/p1",
            error="none",
            failure_kind="network",
            redistributed_from="other",
        )
        async with repository.unit_of_work() as uow:
            await uow.add_distribution(dist)
            await uow.add_slots([full])
        async with repository.unit_of_work() as uow:
            assert await uow.get_slot(full.id) == full

    async def test_missing_slot(self, repository: Any) -> None:
        """Unknown slot ids raise SlotNotFound on get and save."""
        dist = distribution()
        async with repository.unit_of_work() as uow:
            await uow.add_distribution(dist)
            with pytest.raises(SlotNotFound):
                await uow.get_slot("s-none")
            with pytest.raises(SlotNotFound):
                await uow.save_slot(slot(dist.id, 1))

    async def test_slots_need_their_distribution(self, repository: Any) -> None:
        """Slots of an unknown distribution raise DistributionNotFound."""
        async with repository.unit_of_work() as uow:
            with pytest.raises(DistributionNotFound):
                await uow.add_slots([slot("d-none", 1)])

    async def test_list_ordered_and_filtered(self, repository: Any) -> None:
        """list_slots orders by due_at then seq and filters by status."""
        dist = distribution()
        slots = [
            slot(dist.id, 1, due_at=T0 + timedelta(minutes=5)),
            slot(dist.id, 2, due_at=T0),
            slot(dist.id, 0, due_at=T0, status=SlotStatus.FAILED),
        ]
        async with repository.unit_of_work() as uow:
            await uow.add_distribution(dist)
            await uow.add_slots(slots)
        async with repository.unit_of_work() as uow:
            assert [s.seq for s in await uow.list_slots(dist.id)] == [0, 2, 1]
            queued = await uow.list_slots(dist.id, [SlotStatus.QUEUED])
        assert [s.seq for s in queued] == [2, 1]

    async def test_replace_slots(self, repository: Any) -> None:
        """replace_slots drops the old plan and stores the new one; others are untouched."""
        dist, other = distribution(), distribution()
        async with repository.unit_of_work() as uow:
            await uow.add_distribution(dist)
            await uow.add_distribution(other)
            await uow.add_slots([slot(dist.id, i) for i in range(3)])
            await uow.add_slots([slot(other.id, 0)])
        async with repository.unit_of_work() as uow:
            await uow.replace_slots(dist.id, [slot(dist.id, 7), slot(dist.id, 8)])
        async with repository.unit_of_work() as uow:
            assert [s.seq for s in await uow.list_slots(dist.id)] == [7, 8]
            assert len(await uow.list_slots(other.id)) == 1

    async def test_save_slot(self, repository: Any) -> None:
        """save_slot replaces the stored slot."""
        dist = distribution()
        original = slot(dist.id, 1)
        async with repository.unit_of_work() as uow:
            await uow.add_distribution(dist)
            await uow.add_slots([original])
        done = replace(
            original, status=SlotStatus.PUBLISHED, post_id="p9", executed_at=T0, attempts=1
        )
        async with repository.unit_of_work() as uow:
            await uow.save_slot(done)
        async with repository.unit_of_work() as uow:
            assert await uow.get_slot(original.id) == done

    async def test_set_slot_status_and_counts(self, repository: Any) -> None:
        """set_slot_status moves only the chosen statuses; slot_counts reports every status."""
        dist = distribution()
        async with repository.unit_of_work() as uow:
            await uow.add_distribution(dist)
            await uow.add_slots(
                [slot(dist.id, i) for i in range(4)]
                + [slot(dist.id, 9, status=SlotStatus.PUBLISHED)]
            )
        async with repository.unit_of_work() as uow:
            moved = await uow.set_slot_status(
                dist.id, [SlotStatus.QUEUED, SlotStatus.RETRY_SCHEDULED], SlotStatus.CANCELLED
            )
            counts = await uow.slot_counts(dist.id)
        assert moved == 4
        assert counts[SlotStatus.CANCELLED] == 4
        assert counts[SlotStatus.PUBLISHED] == 1
        assert counts[SlotStatus.QUEUED] == 0
        assert set(counts) == set(SlotStatus)

    async def test_late_count_and_next_due_of_one_distribution(self, repository: Any) -> None:
        """count_late_slots and next_slot_due_at see only that distribution's waiting slots."""
        dist, other = distribution(), distribution()
        async with repository.unit_of_work() as uow:
            await uow.add_distribution(dist)
            await uow.add_distribution(other)
            await uow.add_slots(
                [slot(dist.id, i) for i in range(1, 5)]
                + [slot(dist.id, 6, status=SlotStatus.RETRY_SCHEDULED)]
                + [slot(dist.id, 0, status=SlotStatus.PUBLISHED)]
                + [slot(other.id, 0)]
            )
        async with repository.unit_of_work() as uow:
            # Due at T0+1..4 and T0+6 min are waiting; T0 is published (not waiting).
            assert await uow.count_late_slots(dist.id, T0 + timedelta(minutes=3)) == 2
            assert await uow.count_late_slots(dist.id, T0 + timedelta(hours=1)) == 5
            assert await uow.count_late_slots(dist.id, T0) == 0
            assert await uow.next_slot_due_at(dist.id) == T0 + timedelta(minutes=1)
            assert (await uow.next_slot_due_at(dist.id)).tzinfo is not None
            await uow.set_slot_status(
                dist.id, [SlotStatus.QUEUED, SlotStatus.RETRY_SCHEDULED], SlotStatus.CANCELLED
            )
            assert await uow.next_slot_due_at(dist.id) is None
            assert await uow.count_late_slots(dist.id, T0 + timedelta(hours=1)) == 0
            assert await uow.next_slot_due_at("missing") is None

    async def test_posts_in_window_counts_published_since_and_claimed(
        self, repository: Any
    ) -> None:
        """posts_in_window: PUBLISHED at/after `since` plus CLAIMED, per accounts, any run."""
        dist, other = distribution(), distribution()
        published = SlotStatus.PUBLISHED
        at = T0 + timedelta(minutes=10)
        async with repository.unit_of_work() as uow:
            await uow.add_distribution(dist)
            await uow.add_distribution(other)
            await uow.add_slots(
                [
                    slot(dist.id, 0, account_id="x-1", status=published, executed_at=T0),
                    slot(dist.id, 1, account_id="x-1", status=published, executed_at=at),
                    slot(dist.id, 2, account_id="x-1", status=SlotStatus.CLAIMED),
                    slot(dist.id, 3, account_id="x-1", status=SlotStatus.FAILED),
                    slot(other.id, 4, account_id="x-1", status=published, executed_at=at),
                    slot(other.id, 5, account_id="x-2", status=published, executed_at=at),
                ]
            )
        async with repository.unit_of_work() as uow:
            since = T0 + timedelta(minutes=5)
            assert await uow.posts_in_window(["x-1"], since) == (3, at)
            assert await uow.posts_in_window(["x-1", "x-2"], since) == (4, at)
            assert await uow.posts_in_window(["x-1"], T0) == (4, T0)
            assert await uow.posts_in_window(["nobody"], T0) == (0, None)
            assert await uow.posts_in_window([], T0) == (0, None)

    async def test_returned_objects_are_copies(self, repository: Any) -> None:
        """Mutating a returned slot or distribution does not change what is stored."""
        dist = distribution()
        async with repository.unit_of_work() as uow:
            await uow.add_distribution(dist)
            await uow.add_slots([slot(dist.id, 1)])
        async with repository.unit_of_work() as uow:
            got = await uow.get_slot(f"{dist.id}-s1")
            got.status = SlotStatus.FAILED
            stored = await uow.get_distribution(dist.id)
            stored.warnings.append("mutated")
        async with repository.unit_of_work() as uow:
            assert (await uow.get_slot(f"{dist.id}-s1")).status == SlotStatus.QUEUED
            assert (await uow.get_distribution(dist.id)).warnings == []


class TestUnitOfWork:
    async def test_append_events_keeps_order_and_rolls_back(self, repository: Any) -> None:
        """Several events in one call are stored in order (as one call each would be), and
        undone with their unit of work."""
        batch = [event(kind=f"content.added{n}", data={"n": n}) for n in range(5)]
        async with repository.unit_of_work() as uow:
            await uow.append_events(batch)
            await uow.append_events([])
        with pytest.raises(RuntimeError):
            async with repository.unit_of_work() as uow:
                await uow.append_events([event(kind="gone")])
                raise RuntimeError("boom")
        async with repository.unit_of_work() as uow:
            stored = await uow.list_events()
        assert [e.kind for e in reversed(stored)] == [e.kind for e in batch]  # newest first

    async def test_rollback_on_exception(self, repository: Any) -> None:
        """An exception inside the block undoes every write of that unit of work."""
        dist = distribution()
        async with repository.unit_of_work() as uow:
            await uow.add_distribution(dist)
            await uow.add_slots([slot(dist.id, 1)])
            await uow.upsert_accounts([account("tt-1", followers=1)])
        with pytest.raises(RuntimeError):
            async with repository.unit_of_work() as uow:
                await uow.upsert_accounts([account("tt-1", followers=2), account("tt-2")])
                await uow.save_distribution(replace(dist, name="changed"))
                await uow.replace_slots(dist.id, [slot(dist.id, 5)])
                await uow.set_slot_status(dist.id, [SlotStatus.QUEUED], SlotStatus.CANCELLED)
                await uow.append_event(event(distribution_id=dist.id))
                raise RuntimeError("boom")
        async with repository.unit_of_work() as uow:
            assert (await uow.get_account("tt-1")).followers == 1
            assert [a.id for a in await uow.list_accounts()] == ["tt-1"]
            got = await uow.get_distribution(dist.id)
            assert (got.name, got.version) == ("launch", 1)
            slots = await uow.list_slots(dist.id)
            assert [(s.seq, s.status) for s in slots] == [(1, SlotStatus.QUEUED)]
            assert await uow.list_events() == []

    async def test_units_of_work_are_serialised(self, repository: Any) -> None:
        """Concurrent read-modify-write units of work never lose an update."""
        async with repository.unit_of_work() as uow:
            await uow.upsert_accounts([account("tt-1", followers=0)])

        async def bump() -> None:
            for _ in range(5):
                try:
                    async with repository.unit_of_work() as uow:
                        current = await uow.get_account("tt-1")
                        await asyncio.sleep(0)
                        await uow.save_account(replace(current, followers=current.followers + 1))
                    return
                except StorageError as exc:
                    if not exc.temporary:
                        raise
            raise AssertionError("never committed")

        await asyncio.gather(*(bump() for _ in range(8)))
        async with repository.unit_of_work() as uow:
            assert (await uow.get_account("tt-1")).followers == 8

    async def test_nested_unit_of_work_is_an_error_not_a_deadlock(self, repository: Any) -> None:
        """A unit of work or a claim inside another in the same task raises StorageError."""
        async with repository.unit_of_work():
            with pytest.raises(StorageError, match="nested"):
                async with repository.unit_of_work():
                    pass
            with pytest.raises(StorageError, match="nested"):
                await repository.claim_due_slots(now=T0, limit=1, worker_id="w", lease=LEASE)
        async with repository.unit_of_work() as uow:
            assert await uow.list_accounts() == []


class TestUtc:
    async def test_offsets_come_back_as_utc(self, repository: Any) -> None:
        """A time stored with an offset comes back as the same instant, tz-aware UTC."""
        paris = timezone(timedelta(hours=1))
        local = T0.astimezone(paris)
        dist = distribution(created_at=local)
        async with repository.unit_of_work() as uow:
            await uow.add_distribution(dist)
            await uow.add_slots([slot(dist.id, 1, due_at=local)])
            await uow.append_event(event(at=local))
        async with repository.unit_of_work() as uow:
            got = await uow.get_distribution(dist.id)
            got_slot = await uow.get_slot(f"{dist.id}-s1")
            (got_event,) = await uow.list_events()
        for value in (got.created_at, got_slot.due_at, got_slot.scheduled_at, got_event.at):
            assert value == T0
            assert value.utcoffset() == timedelta(0)
            assert value.tzinfo is not None

    async def test_naive_times_are_refused(self, repository: Any) -> None:
        """A naive datetime raises StorageError and nothing is stored."""
        dist = distribution()
        with pytest.raises(StorageError):
            async with repository.unit_of_work() as uow:
                await uow.add_distribution(dist)
                await uow.add_slots([slot(dist.id, 1, due_at=T0.replace(tzinfo=None))])
        async with repository.unit_of_work() as uow:
            assert await uow.list_distributions() == []


class TestEvents:
    async def test_append_and_filter(self, repository: Any) -> None:
        """list_events filters by distribution, account, kind prefix, time and text."""
        events = [
            event("distribution.created", T0, distribution_id="d-1"),
            event(
                "slot.published",
                T0 + timedelta(minutes=1),
                distribution_id="d-1",
                slot_id="s-1",
                account_id="tt-1",
                data={"post_id": "Zebra42"},
            ),
            event(
                "slot.failed",
                T0 + timedelta(minutes=2),
                distribution_id="d-2",
                account_id="tt-2",
                before={"status": "CLAIMED"},
                after={"status": "FAILED"},
            ),
            event("risk.alert", T0 + timedelta(minutes=3), data={"level": "HIGH"}),
        ]
        async with repository.unit_of_work() as uow:
            for e in events:
                await uow.append_event(e)
        async with repository.unit_of_work() as uow:
            everything = await uow.list_events()
            assert [e.kind for e in everything] == [e.kind for e in reversed(events)]
            assert everything[1] == events[2]
            ids = {
                "dist": await uow.list_events(distribution_id="d-1"),
                "account": await uow.list_events(account_id="tt-2"),
                "kind": await uow.list_events(kind_prefix="slot."),
                "since": await uow.list_events(since=T0 + timedelta(minutes=2)),
                "text": await uow.list_events(text="zebra"),
                "text_kind": await uow.list_events(text="ALERT"),
                "limit": await uow.list_events(limit=1),
            }
        got = {name: [e.id for e in found] for name, found in ids.items()}
        assert got == {
            "dist": [events[1].id, events[0].id],
            "account": [events[2].id],
            "kind": [events[2].id, events[1].id],
            "since": [events[3].id, events[2].id],
            "text": [events[1].id],
            "text_kind": [events[3].id],
            "limit": [events[3].id],
        }

    async def test_same_time_keeps_insertion_order(self, repository: Any) -> None:
        """Events at the same instant list newest-appended first."""
        async with repository.unit_of_work() as uow:
            for kind in ("a.one", "a.two", "a.three"):
                await uow.append_event(event(kind, T0))
        async with repository.unit_of_work() as uow:
            kinds = [e.kind for e in await uow.list_events()]
        assert kinds == ["a.three", "a.two", "a.one"]

    async def test_unserialisable_data_is_refused(self, repository: Any) -> None:
        """Event data that is not JSON raises StorageError."""
        with pytest.raises(StorageError):
            async with repository.unit_of_work() as uow:
                await uow.append_event(event(data={"when": T0}))


class TestClaims:
    async def test_claims_due_slots_in_order(self, repository: Any) -> None:
        """Only due, queued slots of EXECUTING distributions are claimed, earliest first."""
        dist_id = await _executing(repository, 5)
        paused = distribution(status=DistributionStatus.PAUSED)
        async with repository.unit_of_work() as uow:
            await uow.add_distribution(paused)
            await uow.add_slots([slot(paused.id, 0)])
            await uow.save_slot(replace(slot(dist_id, 0), status=SlotStatus.RETRY_SCHEDULED))
        now = T0 + timedelta(minutes=2)
        claimed = await repository.claim_due_slots(now=now, limit=10, worker_id="w1", lease=LEASE)
        assert [s.seq for s in claimed] == [0, 1, 2]
        for s in claimed:
            assert s.status == SlotStatus.CLAIMED
            assert s.claimed_by == "w1"
            assert s.lease_expires_at == now + LEASE
            assert s.attempts == 1
        async with repository.unit_of_work() as uow:
            stored = await uow.get_slot(f"{dist_id}-s1")
        assert (stored.status, stored.claimed_by, stored.attempts) == (SlotStatus.CLAIMED, "w1", 1)
        again = await repository.claim_due_slots(now=now, limit=10, worker_id="w2", lease=LEASE)
        assert again == []

    async def test_limit(self, repository: Any) -> None:
        """At most `limit` slots are claimed per call."""
        await _executing(repository, 5)
        now = T0 + timedelta(hours=1)
        first = await repository.claim_due_slots(now=now, limit=2, worker_id="w", lease=LEASE)
        second = await repository.claim_due_slots(now=now, limit=10, worker_id="w", lease=LEASE)
        assert [s.seq for s in first] == [0, 1]
        assert [s.seq for s in second] == [2, 3, 4]

    async def test_next_due_at(self, repository: Any) -> None:
        """next_due_at is the earliest claimable due time, None when nothing is queued."""
        assert await repository.next_due_at() is None
        dist_id = await _executing(repository, 3)
        assert await repository.next_due_at() == T0
        async with repository.unit_of_work() as uow:
            await uow.set_slot_status(dist_id, [SlotStatus.QUEUED], SlotStatus.CANCELLED)
        assert await repository.next_due_at() is None

    async def test_expired_claims(self, repository: Any) -> None:
        """Claims whose lease ended are listed; live leases are not."""
        await _executing(repository, 3)
        await repository.claim_due_slots(now=T0, limit=1, worker_id="old", lease=LEASE)
        later = T0 + timedelta(minutes=1)
        await repository.claim_due_slots(now=later, limit=1, worker_id="new", lease=LEASE)
        expired = await repository.expired_claims(now=T0 + LEASE + timedelta(seconds=1))
        assert [(s.seq, s.claimed_by) for s in expired] == [(0, "old")]
        assert await repository.expired_claims(now=T0) == []

    async def test_renew_claims_extends_only_this_workers_live_claims(
        self, repository: Any
    ) -> None:
        """renew_claims moves the lease of slots still CLAIMED by the worker; another
        worker's claim and a slot recorded meanwhile are left alone."""
        dist_id = await _executing(repository, 3)
        at = T0 + timedelta(minutes=1)
        mine = await repository.claim_due_slots(now=at, limit=2, worker_id="w1", lease=LEASE)
        other_at, later = T0 + timedelta(minutes=2), T0 + timedelta(minutes=2, seconds=30)
        await repository.claim_due_slots(now=other_at, limit=1, worker_id="w2", lease=LEASE)
        async with repository.unit_of_work() as uow:
            done = await uow.get_slot(mine[1].id)
            await uow.save_slot(replace(done, status=SlotStatus.PUBLISHED, claimed_by=None))
        ids = [s.id for s in mine] + [f"{dist_id}-s2", "nope"]
        renewed = await repository.renew_claims(ids, worker_id="w1", now=later, lease=LEASE)
        assert renewed == {mine[0].id}
        async with repository.unit_of_work() as uow:
            leases = {s.id: s.lease_expires_at for s in await uow.list_slots(dist_id)}
        assert leases[mine[0].id] == later + LEASE
        assert leases[f"{dist_id}-s2"] == other_at + LEASE  # w2's claim, untouched
        expired = await repository.expired_claims(now=other_at + LEASE + timedelta(seconds=1))
        assert [s.claimed_by for s in expired] == ["w2"]

    async def test_concurrent_tasks_claim_each_slot_once(self, repository: Any) -> None:
        """Several asyncio tasks claiming at once never get the same slot twice."""
        await _executing(repository, 200)
        now = T0 + timedelta(days=1)

        async def worker(name: str) -> list[str]:
            got: list[str] = []
            while True:
                try:
                    batch = await repository.claim_due_slots(
                        now=now, limit=7, worker_id=name, lease=LEASE
                    )
                except StorageError as exc:
                    if exc.temporary:
                        continue
                    raise
                if not batch:
                    return got
                got.extend(s.id for s in batch)

        results = await asyncio.gather(*(worker(f"w{i}") for i in range(6)))
        claimed = [slot_id for result in results for slot_id in result]
        assert len(claimed) == 200
        assert len(set(claimed)) == 200

    async def test_slot_read_in_a_unit_of_work_is_not_claimed_under_it(
        self, repository: Any
    ) -> None:
        """A claim racing a unit of work that read and then skipped a slot never gets it."""
        dist_id = await _executing(repository, 3)
        now = T0 + timedelta(hours=1)
        claim: asyncio.Task[list[Any]] | None = None
        async with repository.unit_of_work() as uow:
            target = await uow.get_slot(f"{dist_id}-s0")
            claim = asyncio.create_task(
                repository.claim_due_slots(now=now, limit=10, worker_id="w", lease=LEASE)
            )
            await asyncio.sleep(0.2)
            await uow.save_slot(replace(target, status=SlotStatus.SKIPPED))
        claimed = await claim
        assert f"{dist_id}-s0" not in {s.id for s in claimed}
        async with repository.unit_of_work() as uow:
            assert (await uow.get_slot(f"{dist_id}-s0")).status == SlotStatus.SKIPPED


class TestClaimsAcrossProcesses:
    @pytest.mark.slow
    async def test_processes_claim_each_slot_once(self, sql_repository: Any) -> None:
        """Four OS processes claiming the same queue at once never share a slot."""
        repository = sql_repository
        total = 1000
        dist = distribution(status=DistributionStatus.EXECUTING)
        async with repository.unit_of_work() as uow:
            await uow.add_distribution(dist)
            await uow.add_slots([slot(dist.id, i) for i in range(total)])
        worker = Path(__file__).with_name("claim_worker.py")
        now = (T0 + timedelta(days=2)).isoformat()
        procs = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                str(worker),
                repository.test_url,
                f"p{i}",
                "10",
                now,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            for i in range(4)
        ]
        for proc in procs:  # every worker connected: start them together
            ready = await asyncio.wait_for(proc.stdout.readline(), timeout=60)  # type: ignore[union-attr]
            assert ready == b"ready\n", (await proc.stderr.read()).decode()  # type: ignore[union-attr]
        for proc in procs:
            proc.stdin.write(b"go\n")  # type: ignore[union-attr]
        outputs = await asyncio.wait_for(
            asyncio.gather(*(p.communicate() for p in procs)), timeout=60
        )
        results = []
        for proc, (out, err) in zip(procs, outputs, strict=True):
            assert proc.returncode == 0, err.decode()
            results.append(json.loads(out))
        claimed = [slot_id for r in results for slot_id in r["claimed"]]
        assert len(claimed) == total
        assert len(set(claimed)) == total
        assert sum(1 for r in results if r["claimed"]) >= 2, "claims never overlapped"
        async with repository.unit_of_work() as uow:
            counts = await uow.slot_counts(dist.id)
        assert counts[SlotStatus.CLAIMED] == total
