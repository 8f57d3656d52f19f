"""A queue's slots post their own item everywhere: publishing, rehearsals, media checks."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from engine.clock import ManualClock
from engine.content_tools import ContentTools
from engine.dispatcher import Dispatcher, DispatcherConfig
from engine.item_media import with_item_media_checks
from engine.media import MediaAsset, MediaKind
from engine.models import Actor, PlannedSlot, PlanResult, RiskLevel, Role
from engine.platforms import DEFAULT_PLATFORMS
from engine.request import parse_request
from tests.engine.execution_support import (
    T0,
    RecordingNotifier,
    ScriptedPublisher,
    make_accounts,
    memory_repository,
    run_until,
    seed_run,
)

OPERATOR = Actor("U_OPS", Role.OPERATOR, "Olga")
QUEUE = [
    {"id": "q1", "caption": "First item", "media_url": "https://cdn.example/q1.mp4"},
    {"id": "q2", "caption": "Second item", "media_url": "https://cdn.example/q2.mp4"},
]


async def seed_queue_run(repository, accounts):  # type: ignore[no-untyped-def]
    """A running distribution of a two-item queue whose slots alternate q1, q2."""
    distribution, slots = await seed_run(repository, accounts)
    request = parse_request(
        {
            "queue": QUEUE,
            "mode": "calendar",
            "platforms": distribution.request.platforms,
            "start": T0.isoformat(),
        }
    )
    distribution = replace(distribution, request=request)
    slots = [
        replace(s, content_id=QUEUE[i % 2]["id"], caption=QUEUE[i % 2]["caption"])
        for i, s in enumerate(slots)
    ]
    async with repository.unit_of_work() as uow:
        await uow.save_distribution(distribution)
        await uow.replace_slots(distribution.id, slots)
    return distribution, slots


def by_id(content_id: str) -> dict[str, str]:
    return next(q for q in QUEUE if q["id"] == content_id)


class TestEachSlotPostsItsOwnItem:
    async def test_dispatcher_hands_the_publisher_the_slots_item(self) -> None:
        """Each publish carries the item of its slot (id, media URL), not the queue's first."""
        repository = memory_repository()
        clock = ManualClock(T0 - timedelta(minutes=1))
        publisher = ScriptedPublisher()
        _, slots = await seed_queue_run(repository, make_accounts(per_platform=2))
        dispatcher = Dispatcher(
            repository,
            publisher,
            clock,
            RecordingNotifier(),
            config=DispatcherConfig(worker_id="w", lease=timedelta(minutes=5)),
        )
        await run_until(dispatcher, clock, T0 + timedelta(hours=4), timedelta(minutes=1))
        item_of = {s.id: s.content_id for s in slots}
        assert len(publisher.calls) == len(slots)
        assert {c.content.id for c in publisher.calls} == {"q1", "q2"}
        for call in publisher.calls:
            assert call.content.id == item_of[call.slot_id]
            assert call.content.media_url == by_id(call.content.id)["media_url"]

    async def test_rehearsal_uses_each_slots_item(self) -> None:
        """A simulated run of the plan rehearses each slot with its own item."""
        repository = memory_repository()
        clock = ManualClock(T0 - timedelta(minutes=1))
        distribution, slots = await seed_queue_run(repository, make_accounts(per_platform=1))
        tools = ContentTools(repository, clock, DEFAULT_PLATFORMS)
        results = await tools.rehearse(OPERATOR, distribution.id)
        assert len(results) == len(slots) and all(r["success"] for r in results)
        dry = await tools.dry_run_slot(OPERATOR, slots[1].id)
        assert dry["success"]


def video(media_id: str, seconds: float) -> MediaAsset:
    return MediaAsset(
        media_id, MediaKind.VIDEO, "video/mp4", 1 << 20, "0" * 64, "c.mp4", 1080, 1920, seconds
    )


def planned(item: str, platform: str) -> PlannedSlot:
    return PlannedSlot(
        f"{platform}-{item}", platform, "en", T0, T0, "x", (), 0.1, RiskLevel.LOW,
        content_type="video", content_id=item,
    )  # fmt: skip


class TestItemMediaChecks:
    def test_each_slot_is_checked_against_its_own_items_files(self) -> None:
        """Item q2's 2 s clip is refused for Instagram reels (3 s minimum) on q2's slots only; the
        issue names the item and lists plan indexes; q1's 30 s clip passes."""
        slots = [planned("q1", "instagram"), planned("q2", "tiktok"), planned("q2", "instagram")]
        assets = {"q1": [video("m-1", 30)], "q2": [video("m-2", 2)]}
        result = with_item_media_checks(PlanResult(slots), assets, DEFAULT_PLATFORMS)
        assert result.media_issues, result
        for issue in result.media_issues:
            assert issue.reason.startswith("item q2: ")
            assert set(issue.slots) <= {1, 2}
        assert 2 in {i for issue in result.media_issues for i in issue.slots}
        assert result.warnings[0].startswith("media rejected by")

    def test_one_item_is_the_single_content_check(self) -> None:
        """With one item the issues are exactly those of the single-content check."""
        slots = [planned("q1", "instagram")]
        result = with_item_media_checks(
            PlanResult(slots), {"q1": [video("m-2", 2)]}, DEFAULT_PLATFORMS
        )
        assert result.media_issues and not result.media_issues[0].reason.startswith("item ")
        unchecked = with_item_media_checks(
            PlanResult(slots), {"q2": [video("m-2", 2)]}, DEFAULT_PLATFORMS
        )
        assert unchecked.media_issues == []  # q1 has no files: not checked against q2's


class UrlMediaStore:
    """Media by URL: `…/short.mp4` is a 2 s clip, anything else a 30 s one (no bytes)."""

    def __init__(self) -> None:
        self.assets: dict[str, MediaAsset] = {}

    async def resolve(self, ref: str) -> MediaAsset:
        asset = video(f"m-{len(self.assets)}", 2 if ref.endswith("short.mp4") else 30)
        self.assets[asset.id] = asset
        return asset

    async def get(self, media_id: str) -> MediaAsset:
        return self.assets[media_id]


class TestQueueMediaThroughTheService:
    async def test_every_items_media_is_stored_and_checked_against_its_slots(self) -> None:
        """Create stores each queue item's media (library items' too) by id, and the plan
        flags only the slots of the item whose clip a platform refuses."""
        from engine.content_library import ContentLibrary
        from engine.request import Content
        from engine.service import DistributionService

        repository = memory_repository()
        clock = ManualClock(T0 - timedelta(hours=1))
        notifier = RecordingNotifier()
        store = UrlMediaStore()
        service = DistributionService(repository, clock, notifier, media=store)  # type: ignore[arg-type]
        accounts = make_accounts(per_platform=6, platforms=["instagram", "tiktok"])
        async with repository.unit_of_work() as uow:
            await uow.upsert_accounts(accounts)
        library = ContentLibrary(repository, clock, notifier)
        short = Content(id="lib", caption="Library clip", media=["https://cdn.example/short.mp4"])
        await library.add(OPERATOR, short)
        request = parse_request(
            {
                "queue": [
                    {"id": "q1", "caption": "Long clip", "media": ["https://cdn.example/a.mp4"]},
                    "lib",
                ],
                "mode": "calendar",
                "days": 2,
                "platforms": ["instagram", "tiktok"],
                "start": T0.isoformat(),
            }
        )
        d = await service.create(OPERATOR, request)
        media = {item.id: item.media for item in d.request.items}
        assert media == {"q1": ["m-0"], "lib": ["m-1"]}
        view = await service.plan(OPERATOR, d.id)
        flagged = [w for w in view.warnings if w.startswith("media rejected by")]
        assert flagged and all("item lib:" in w for w in flagged)
