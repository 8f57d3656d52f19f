"""Planning with model translations and caption variants (advisor with a gateway)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from engine.advisor import Advisor
from engine.captions import caption_variants
from engine.clock import ManualClock
from engine.llm_gateway import LLMGateway, RetryPolicy
from engine.models import Account, Actor, PlannedSlot, RiskLevel, Role
from engine.plan_captions import caption_key, replace_within_gap
from engine.platforms import DEFAULT_PLATFORMS
from engine.ports import LLMCall, LLMReply
from engine.request import parse_request
from engine.service import DistributionService
from engine.variants import CaptionVariant
from tests.engine.execution_support import T0, RecordingNotifier, memory_repository
from tests.engine.fake_llm import ScriptedClient

OPERATOR = Actor("U_OPS", Role.OPERATOR, "Olga")
SOURCE = "Our winter collection is here: warm layers and bold colours, made to last."
TAGS = ["winter", "style", "fashion", "ootd"]
FRENCH = "Notre collection d'hiver est là : des couches chaudes et des couleurs vives pour durer."
Answer = Callable[[dict[str, Any]], Any]


class RoutedClient(ScriptedClient):
    """A scripted model that answers by question type (suggestions, translation, variants)."""

    def __init__(self, name: str, answers: dict[str, Answer]) -> None:
        super().__init__(name, ["{}"])
        self.answers = answers

    async def complete(self, call: LLMCall, *, timeout: float) -> LLMReply:
        self.calls.append(call)
        answer = self.answers.get(call.schema_name)
        if answer is None:
            return LLMReply(self.name, "not json", 0.0, 10, 10, self.cost)
        data = json.loads(call.user)["data"]
        return LLMReply(self.name, json.dumps(answer(data)), 0.0, 100, 50, self.cost)


def good_variants(data: dict[str, Any]) -> dict[str, Any]:
    """Distinct, faithful variants: a short lead-in plus allowed hashtags."""
    tags = data["allowed_hashtags"][: min(2, data["hashtag_limit"])]
    return {
        "variants": [
            {
                # No added number or sentence: a variant adds nothing to the source.
                "caption": f"Take {'abcdefghijklmnop'[k]} ({data['platform']}): "
                f"{data['source_caption']}",
                "hashtags": tags,
            }
            for k in range(data["variants_wanted"])
        ]
    }


def echo_variants(data: dict[str, Any]) -> dict[str, Any]:
    """Valid variants that repeat the source caption with built-in-like hashtag subsets."""
    allowed, limit = data["allowed_hashtags"], min(3, data["hashtag_limit"])
    subsets = [allowed[k : k + limit] for k in range(len(allowed))] + [allowed[:1], allowed[1:2]]
    return {
        "variants": [
            {"caption": data["source_caption"], "hashtags": subsets[k % len(subsets)]}
            for k in range(data["variants_wanted"])
        ]
    }


def invalid_variants(data: dict[str, Any]) -> dict[str, Any]:
    """Variants that add a link: every one fails validation."""
    return {
        "variants": [
            {"caption": f"{data['source_caption']} https://evil.example/{k}", "hashtags": []}
            for k in range(data["variants_wanted"])
        ]
    }


def french(data: dict[str, Any]) -> dict[str, Any]:
    return {"caption": FRENCH, "back_translation": data["source_caption"]}


def accounts() -> list[Account]:
    return [
        Account(
            id=f"{platform}-{language}-{i}",
            platform=platform,
            handle=f"@{platform}_{language}_{i}",
            timezone="Europe/Paris",
            language=language,
            followers=1000 + i,
            health=0.95,
        )
        for platform in ("tiktok", "instagram")
        for language in ("en", "fr")
        for i in range(3)
    ]


def request(**changes: Any):  # type: ignore[no-untyped-def]
    data: dict[str, Any] = {
        "name": "winter",
        "content": {"id": "c-1", "caption": SOURCE, "hashtags": TAGS, "type": "video"},
        "platforms": ["tiktok", "instagram"],
        "languages": ["en", "fr"],
        "mode": "window",
        "start": T0.isoformat(),
        "spread_hours": 6,
        "min_gap_minutes": 2,
        "max_gap_minutes": 40,
        "duplicate_gap_minutes": 60,
        "trend_weighted": False,
        "seed": 7,
    }
    data.update(changes)
    return parse_request(data)


async def plan_with(answers: dict[str, Answer] | None, **changes: Any):  # type: ignore[no-untyped-def]
    repository = memory_repository()
    clock = ManualClock(T0 - timedelta(hours=1))
    advisor = Advisor(None)
    if answers is not None:
        gateway = LLMGateway(
            [RoutedClient("gpt", answers)], clock, retry=RetryPolicy(attempts=1), deadline_s=5
        )
        advisor = Advisor(gateway)
    service = DistributionService(repository, clock, RecordingNotifier(), advisor=advisor)
    async with repository.unit_of_work() as uow:
        await uow.upsert_accounts(accounts())
    d = await service.create(OPERATOR, request(**changes))
    return await service.plan(OPERATOR, d.id)


def deterministic(req: Any, platform: str, language: str) -> set[tuple[str, tuple[str, ...]]]:
    rules = DEFAULT_PLATFORMS[platform]
    return {(c, tuple(h)) for c, h, _ in caption_variants(req.content, rules, language)}


def assert_gap_holds(slots: list[Any], gap: timedelta) -> None:
    by_key: dict[Any, list[Any]] = {}
    for s in slots:
        by_key.setdefault(caption_key(s.caption, s.hashtags), []).append(s.scheduled_at)
    for times in by_key.values():
        times.sort()
        assert all(b - a >= gap for a, b in itertools.pairwise(times))


class TestPlanCaptions:
    async def test_model_variants_replace_the_builtin_captions(self) -> None:
        """Validated model variants become the slots' captions, hashtags and variant ids."""
        view = await plan_with({"VariantSet": good_variants, "TranslationAnswer": french})
        assert view.slots
        assert all(s.caption.startswith("Take ") for s in view.slots)
        assert len({caption_key(s.caption, s.hashtags) for s in view.slots}) == len(view.slots)
        assert all(s.variant_id.startswith("v") for s in view.slots)
        summary = view.distribution.advice["caption_variants"]
        assert summary["applied"] == len(view.slots) and summary["sources"] == ["model:gpt"]

    async def test_invalid_model_answer_keeps_deterministic_captions(self) -> None:
        """Variants that fail validation change nothing: every caption is a built-in one."""
        view = await plan_with({"VariantSet": invalid_variants})
        req = request()
        assert view.slots
        for s in view.slots:
            assert (s.caption, tuple(s.hashtags)) in deterministic(req, s.platform, s.language)
        assert view.distribution.advice["caption_variants"]["applied"] == 0

    async def test_without_gateway_nothing_changes(self) -> None:
        """No model: built-in captions, and no translation or variant advice is stored."""
        view = await plan_with(None)
        assert "translations" not in view.distribution.advice
        assert "caption_variants" not in view.distribution.advice
        assert all("Take" not in s.caption for s in view.slots)

    async def test_duplicate_gap_holds_after_variants(self) -> None:
        """Identical caption + hashtags are never closer than duplicate_gap in the plan."""
        answers = {"VariantSet": echo_variants, "TranslationAnswer": french}
        view = await plan_with(answers, duplicate_gap_minutes=90)
        assert_gap_holds(view.slots, timedelta(minutes=90))
        summary = view.distribution.advice["caption_variants"]
        assert summary["applied"] > 0 and summary["refused"] > 0

    async def test_translation_used_for_a_language_the_content_lacked(self) -> None:
        """French accounts post the model's French caption; its agreement score is stored."""
        view = await plan_with({"TranslationAnswer": french})
        fr = [s for s in view.slots if s.language == "fr"]
        assert fr and all(s.caption == FRENCH for s in fr)
        assert all(s.caption == SOURCE for s in view.slots if s.language == "en")
        stored = view.distribution.advice["translations"]["c-1"]["fr"]
        assert stored["source"] == "model:gpt" and stored["agreement"] == 1.0
        assert view.distribution.request.content.translations == {}


# A calendar queue of three items; item q-2 brings its own French translation.
QUEUE = {
    "q-1": (
        "Winter coats are here, warm and light.",
        "Les manteaux d'hiver sont là, chauds et légers.",
    ),
    "q-2": ("Boots made for the snow and the city.", "Des bottes pour la neige et pour la ville."),
    "q-3": (
        "Scarves in every colour of the season.",
        "Des écharpes de toutes les couleurs de la saison.",
    ),
}


def french_of(data: dict[str, Any]) -> dict[str, Any]:
    """The French of whichever queue item's caption was sent."""
    english = dict(QUEUE.values())
    return {"caption": english[data["source_caption"]], "back_translation": data["source_caption"]}


def queue_request(**changes: Any) -> dict[str, Any]:
    items = [
        {"id": key, "caption": en, "hashtags": ["winter", "style"], "type": "video"}
        | ({"translations": {"fr": fr}} if key == "q-2" else {})
        for key, (en, fr) in QUEUE.items()
    ]
    return {"queue": items, "mode": "calendar", "days": 3, "velocity": 1.0} | changes


async def plan_queue(answers: dict[str, Answer], budget: float = 1.0):  # type: ignore[no-untyped-def]
    repository = memory_repository()
    clock = ManualClock(T0 - timedelta(hours=1))
    client = RoutedClient("gpt", answers)
    gateway = LLMGateway(
        [client], clock, retry=RetryPolicy(attempts=1), deadline_s=5, budget_usd=budget
    )
    service = DistributionService(repository, clock, RecordingNotifier(), advisor=Advisor(gateway))
    async with repository.unit_of_work() as uow:
        await uow.upsert_accounts(accounts())
    data = request().model_dump(mode="json", exclude={"content"}) | queue_request()
    d = await service.create(OPERATOR, parse_request(data))
    return await service.plan(OPERATOR, d.id), client


class TestQueueCaptions:
    async def test_each_queue_item_slots_carry_that_items_translation(self) -> None:
        """In calendar mode every item gets its translation: French slots of item k carry
        item k's French caption (asked of the model, or the item's own), English its own."""
        view, client = await plan_queue({"TranslationAnswer": french_of})
        used = {s.content_id for s in view.slots}
        assert used == set(QUEUE)
        for slot in view.slots:
            english, french_text = QUEUE[slot.content_id]
            assert slot.caption == (french_text if slot.language == "fr" else english)
        asked = [
            json.loads(c.user)["data"]["source_caption"]
            for c in client.calls
            if c.schema_name == "TranslationAnswer"
        ]
        assert sorted(asked) == sorted([QUEUE["q-1"][0], QUEUE["q-3"][0]])  # q-2 had its own
        stored = view.distribution.advice["translations"]
        assert set(stored) == {"q-1", "q-3"}
        assert all(stored[k]["fr"]["source"] == "model:gpt" for k in stored)
        assert not any("has no translation" in w for w in view.warnings)

    async def test_caption_variants_are_written_from_each_slots_own_item(self) -> None:
        """Model variants are asked per item: no slot carries another item's text."""
        answers = {"VariantSet": good_variants, "TranslationAnswer": french_of}
        view, client = await plan_queue(answers)
        assert view.slots and all(s.caption.startswith("Take ") for s in view.slots)
        for slot in view.slots:
            english, french_text = QUEUE[slot.content_id]
            assert slot.caption.endswith(french_text if slot.language == "fr" else english)
        groups = {
            (json.loads(c.user)["data"]["source_caption"], json.loads(c.user)["data"]["platform"])
            for c in client.calls
            if c.schema_name == "VariantSet"
        }
        assert len(groups) == 3 * 2 * 2  # item x platform x language, one ask each

    async def test_spent_budget_falls_back_item_by_item(self) -> None:
        """Past the budget, later items keep their own translations, else the first
        language's caption (built-in), and the plan says the budget ran out."""
        # The suggestion and q-1's translation fit; q-3's does not.
        view, _ = await plan_queue({"TranslationAnswer": french_of}, budget=0.0015)
        by_item = {
            k: {s.caption for s in view.slots if s.content_id == k and s.language == "fr"}
            for k in QUEUE
        }
        assert by_item["q-1"] == {QUEUE["q-1"][1]}
        assert by_item["q-2"] == {QUEUE["q-2"][1]}  # its own translation
        assert by_item["q-3"] == {QUEUE["q-3"][0]}  # untranslated: the English caption
        assert any("model budget spent" in w for w in view.warnings)
        assert any("'fr' has no translation" in w for w in view.warnings)


def planned(minute: int, caption: str, tags: tuple[str, ...] = ("a",)) -> PlannedSlot:
    at = T0 + timedelta(minutes=minute)
    return PlannedSlot("acc", "tiktok", "en", at, at, caption, tags, 0.1, RiskLevel.LOW)


def variant(caption: str, tags: tuple[str, ...] = ("a",)) -> CaptionVariant:
    return CaptionVariant("acc", "tiktok", "en", caption, tags, "vx", "model:gpt")


class TestReplaceWithinGap:
    def test_a_variant_that_would_sit_too_close_to_its_twin_is_refused(self) -> None:
        """A proposal identical to a slot 10 min away (gap 30) keeps the built-in caption."""
        slots = [planned(0, "one"), planned(10, "two"), planned(60, "three")]
        out, applied = replace_within_gap(
            slots, {1: variant("one"), 2: variant("One ")}, timedelta(minutes=30)
        )
        assert out[1].caption == "two"  # "one" is 10 minutes away
        assert out[2].caption == "One "  # 60 minutes from "one": allowed
        assert applied == 1

    def test_two_proposals_are_checked_against_each_other(self) -> None:
        """Two identical proposals 5 min apart: the second is refused."""
        slots = [planned(0, "a"), planned(5, "b")]
        out, applied = replace_within_gap(
            slots, {0: variant("same"), 1: variant("same")}, timedelta(minutes=30)
        )
        assert [s.caption for s in out] == ["same", "b"] and applied == 1

    def test_same_caption_other_hashtags_is_a_different_post(self) -> None:
        """Hashtag sets distinguish posts (order and case do not)."""
        slots = [planned(0, "x", ("a", "b")), planned(5, "y")]
        out, _ = replace_within_gap(slots, {1: variant("x", ("B", "c"))}, timedelta(minutes=30))
        assert out[1].caption == "x"
        out, _ = replace_within_gap(slots, {1: variant("X", ("B", "a"))}, timedelta(minutes=30))
        assert out[1].caption == "y"
