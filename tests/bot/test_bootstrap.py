"""The composition root's extension points and the state it keeps bounded."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp import web

from bot.bootstrap import PUBLISHERS, Herald, build_herald, register_publisher
from bot.cli.serve import build_web_app
from bot.settings import Settings
from bot.slack.app import build_client, create_app, deps_of_app
from engine.clock import ManualClock
from engine.models import SYSTEM, DistributionStatus, Event
from engine.simulated_publisher import SimulatedPublisher
from storage.outbox import MemoryOutbox
from tests.bot.conftest import T0, Harness, bot_settings, make_herald
from tests.bot.fake_slack import FakeSlack
from tests.bot.support import run_spring
from tests.engine.execution_support import RecordingNotifier


class TestExtensionPoints:
    async def test_added_notifier_hears_every_event_after_the_first(self) -> None:
        """A notifier added after the build hears the service's events, as does the first."""
        first, added = RecordingNotifier(), RecordingNotifier()
        herald = build_herald(Settings(database_url="memory://"), notifier=first)
        herald.add_notifier(added)
        try:
            await herald.service.import_accounts(SYSTEM, "id,platform,handle\na1,tiktok,@a1\n")
            assert first.kinds() == added.kinds() == ["account.imported"]
        finally:
            await herald.stop()

    async def test_failing_notifier_does_not_silence_the_others(self) -> None:
        """One member raising is logged; the next member still hears the event."""

        class Broken:
            async def notify(self, event: Event) -> None:
                raise RuntimeError("webhook down")

        after = RecordingNotifier()
        herald = build_herald(Settings(database_url="memory://"), notifier=Broken())
        herald.add_notifier(after)
        try:
            await herald.service.import_accounts(SYSTEM, "id,platform,handle\na1,tiktok,@a1\n")
            assert after.kinds() == ["account.imported"]
        finally:
            await herald.stop()

    async def test_registered_publisher_is_built_from_settings(self) -> None:
        """register_publisher makes HERALD_PUBLISHER=<name> build that publisher."""
        built: list[Any] = []

        def factory(settings: Settings, clock: Any) -> SimulatedPublisher:
            publisher = SimulatedPublisher(seed=7, clock=clock)
            built.append(publisher)
            return publisher

        register_publisher("Recorded", factory)
        try:
            herald = build_herald(Settings(database_url="memory://", publisher="recorded"))
            assert built == [herald.publisher]
            await herald.stop()
        finally:
            PUBLISHERS.pop("recorded")

    async def test_added_routes_are_served(self, fake: FakeSlack) -> None:
        """Routes added with add_routes are mounted in herald serve's web app."""
        settings = bot_settings(fake.api_url)
        herald = make_herald(settings, clock=ManualClock(T0))

        def install(app: web.Application, h: Herald) -> None:
            async def hello(request: web.Request) -> web.Response:
                return web.json_response({"platforms": len(h.platforms.names())})

            app.router.add_get("/api/v1/hello", hello)

        herald.add_routes(install)
        bolt = create_app(settings, herald=herald, client=build_client(settings))
        web_app = build_web_app(bolt)
        paths = {r.resource.canonical for r in web_app.router.routes() if r.resource}
        assert "/api/v1/hello" in paths and "/health" in paths
        await deps_of_app(bolt).notifier.close()
        await herald.stop()


class TestBoundedState:
    async def test_outbox_prune_forgets_old_entries_only(self) -> None:
        """prune_outbox deletes delivered entries and seen event ids past the retention."""
        clock = ManualClock(T0)
        outbox = MemoryOutbox(clock)
        herald = build_herald(
            Settings(database_url="memory://", outbox_retention_hours=1),
            clock=clock,
            outbox=outbox,
        )
        old = await outbox.enqueue("chat.postMessage", {"text": "old"})
        await outbox.mark_sent(old, clock.now())
        assert not await outbox.seen_event("Ev-old", clock.now())
        clock.advance(timedelta(hours=2))
        fresh = await outbox.enqueue("chat.postMessage", {"text": "fresh"})
        await outbox.mark_sent(fresh, clock.now())
        assert not await outbox.seen_event("Ev-new", clock.now())
        assert await herald.prune_outbox() == 2
        assert await outbox.seen_event("Ev-new", clock.now())  # kept: still remembered
        assert not await outbox.seen_event("Ev-old", clock.now())  # forgotten
        await herald.stop()

    async def test_dispatcher_and_notifier_release_a_finished_run(self, harness: Harness) -> None:
        """Once a run completes, neither the dispatcher nor the notifier keeps state for it."""
        h = harness
        dist_id = await run_spring(h)
        await h.run_until_done()
        await h.settle()
        # The last status edit waits for the status interval on the injected clock.
        h.clock.advance(timedelta(minutes=1))
        await h.settle()
        assert (await h.service.resolve(dist_id)).status == DistributionStatus.COMPLETED
        assert h.deps.herald.dispatcher.tracked() == 0
        assert h.notifier.tracked() == 0
