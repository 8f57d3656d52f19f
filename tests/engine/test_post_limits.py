"""Known API limits are respected before sending, counted in the database; plan costs."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from engine.clock import ManualClock
from engine.dispatcher import Dispatcher, DispatcherConfig
from engine.models import SlotStatus
from engine.platforms import DEFAULT_PLATFORMS, PostLimit
from engine.post_limits import plan_costs, window_reset
from engine.publisher_routing import PublisherRouter
from tests.engine.execution_support import (
    T0,
    RecordingNotifier,
    ScriptedPublisher,
    make_accounts,
    memory_repository,
    seed_run,
    slots_of,
)

WINDOW = timedelta(minutes=15)


async def _world(limits: tuple[PostLimit, ...], *, accounts: int = 1, per_account: int = 4):  # type: ignore[no-untyped-def]
    repository = memory_repository()
    clock = ManualClock(T0)
    x = ScriptedPublisher()
    router = PublisherRouter(ScriptedPublisher(), {"x": x})
    table = replace(DEFAULT_PLATFORMS, post_limits=limits)
    people = [replace(a, publisher="x") for a in make_accounts(accounts, ["twitter"])]
    distribution, _ = await seed_run(
        repository, people, slots_per_account=per_account, spacing=timedelta(0)
    )

    def dispatcher(worker: str, batch: int = 200) -> Dispatcher:
        config = DispatcherConfig(worker_id=worker, batch_size=batch, lease=timedelta(minutes=2))
        return Dispatcher(
            repository, router, clock, RecordingNotifier(), platforms=table, config=config
        )

    return repository, clock, x, distribution, dispatcher


class TestPostLimits:
    async def test_per_account_limit_holds_the_excess_until_the_window_resets(self) -> None:
        """2 posts per 15 min: of 4 due slots 2 are sent, 2 wait (RETRY_SCHEDULED) unsent."""
        limits = (PostLimit("x", 2, WINDOW, "account"),)
        repository, clock, x, d, dispatcher = await _world(limits)
        worker = dispatcher("w-1")
        await worker.tick()
        slots = await slots_of(repository, d.id)
        assert sorted(s.status for s in slots).count(SlotStatus.PUBLISHED) == 2
        waiting = [s for s in slots if s.status == SlotStatus.RETRY_SCHEDULED]
        assert len(waiting) == 2 and len(x.calls) == 2
        assert {s.due_at for s in waiting} == {T0 + WINDOW + timedelta(seconds=1)}
        assert "allows 2 posts per 15 min" in (waiting[0].error or "")
        assert all(s.attempts == 0 for s in waiting)
        clock.advance(WINDOW + timedelta(seconds=1))
        await worker.tick()
        assert {s.status for s in await slots_of(repository, d.id)} == {SlotStatus.PUBLISHED}

    async def test_replicas_agree_because_they_count_in_the_database(self) -> None:
        """Two workers taking turns never exceed the app-wide limit between them."""
        limits = (PostLimit("x", 3, timedelta(hours=24), "app"),)
        repository, _clock, x, d, dispatcher = await _world(limits, accounts=3, per_account=2)
        first, second = dispatcher("w-a", batch=2), dispatcher("w-b", batch=2)
        for _ in range(3):
            await first.tick()
            await second.tick()
        slots = await slots_of(repository, d.id)
        assert sum(s.status == SlotStatus.PUBLISHED for s in slots) == 3 == len(x.calls)

    def test_linkedin_day_resets_at_utc_midnight(self) -> None:
        """A UTC-day limit resets at the next 00:00 UTC."""
        limit = PostLimit("linkedin", 150, timedelta(days=1), "account", utc_day=True)
        assert window_reset(limit, T0, None) == T0.replace(hour=0) + timedelta(days=1)


class TestPlanCosts:
    def test_x_posts_are_priced_and_links_cost_more(self) -> None:
        """Each X post costs $0.015, with a link $0.200; other publishers are only counted."""
        accounts = make_accounts(3, ["twitter"])
        accounts = [replace(a, publisher="x") for a in accounts[:2]] + accounts[2:]
        slots = [
            _slot(accounts[0].id, "plain words"),
            _slot(accounts[1].id, "see https://example.com"),
            _slot(accounts[2].id, "plain"),
        ]
        summary = plan_costs(slots, accounts, DEFAULT_PLATFORMS, "simulated")
        assert summary == {"publishers": "simulated 1, x 2", "x_api_cost_usd": 0.215}


def _slot(account_id: str, caption: str):  # type: ignore[no-untyped-def]
    from tests.storage.factories import slot

    return slot("d-1", 0, account_id=account_id, caption=caption)
