"""Caption and language variants: strict validation, fallback, distinctness, agreement."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from engine.advisor import Advisor
from engine.clock import ManualClock
from engine.errors import LLMInvalidAnswer
from engine.llm_gateway import LLMGateway, RetryPolicy
from engine.models import Account
from engine.platforms import DEFAULT_PLATFORMS
from engine.request import Content
from engine.variants import (
    VariantTarget,
    check_caption,
    check_language,
    is_rtl,
    similarity,
)
from tests.engine.fake_llm import ScriptedClient

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
CONTENT = Content(
    id="video-123",
    caption="Our new blender is 30% off until Friday #ad",
    hashtags=["kitchen", "blender", "deal"],
)
TWITTER = DEFAULT_PLATFORMS["twitter"]
INSTAGRAM = DEFAULT_PLATFORMS["instagram"]


def ok(caption: str, hashtags: tuple[str, ...] = ("kitchen",), language: str = "en") -> None:
    check_caption(
        caption,
        hashtags,
        source=CONTENT.caption,
        language=language,
        rules=INSTAGRAM,
        allowed_hashtags=CONTENT.hashtags,
    )


class TestCheckCaption:
    def test_faithful_variant_passes(self) -> None:
        """A reworded caption with the same number and disclosure passes."""
        ok("30% off our new blender until Friday! #ad", ("kitchen", "deal"))

    @pytest.mark.parametrize(
        ("caption", "tags", "problem"),
        [
            ("Our new blender is 30% off until Friday #ad", ("viral",), "allowed set"),
            ("Our new blender is 30% off #ad #free", (), "allowed set"),
            ("Blender 30% off #ad https://evil.example/x", (), "links"),
            ("Blender 30% off, thanks @someone #ad", (), "mentions"),
            ("Our new blender is 50% off until Friday #ad", (), "numbers"),
            ("Our new blender is 30% off until Friday", (), "disclosure"),
            ("Blender 30% off #ad", ("kitchen", "kitchen"), "repeated"),
        ],
    )
    def test_forbidden_changes(self, caption: str, tags: tuple[str, ...], problem: str) -> None:
        """Invented hashtags, links, mentions, changed numbers, lost disclosures are refused."""
        with pytest.raises(LLMInvalidAnswer, match=problem):
            ok(caption, tags)

    def test_platform_limits(self) -> None:
        """Twitter's 280 characters and 3 hashtags are enforced."""
        with pytest.raises(LLMInvalidAnswer, match="280"):
            check_caption(
                "30% off #ad " + "x" * 300,
                (),
                source=CONTENT.caption,
                language="en",
                rules=TWITTER,
                allowed_hashtags=CONTENT.hashtags,
            )
        with pytest.raises(LLMInvalidAnswer, match="allows 3"):
            check_caption(
                "30% off #ad",
                ("kitchen", "blender", "deal", "kitchen2"),
                source=CONTENT.caption,
                language="en",
                rules=TWITTER,
                allowed_hashtags=[*CONTENT.hashtags, "kitchen2"],
            )


class TestCheckLanguage:
    def test_arabic_script(self) -> None:
        """Arabic must be written in Arabic script."""
        check_language("خصم 30٪ على الخلاط الجديد حتى الجمعة", "ar")
        with pytest.raises(LLMInvalidAnswer):
            check_language("30% off our new blender", "ar")

    def test_spanish_vs_english(self) -> None:
        """An English caption offered as Spanish is refused."""
        check_language("Nuestra nueva licuadora con 30% de descuento hasta el viernes", "es")
        with pytest.raises(LLMInvalidAnswer, match="en"):
            check_language("Our new blender is the best for you and the family", "es")

    def test_rtl_display(self) -> None:
        """Arabic is known as right-to-left; Spanish is not."""
        assert is_rtl("ar") and not is_rtl("es")


def variants_answer(captions: list[str], tags: list[list[str]] | None = None) -> dict[str, Any]:
    tags = tags or [["kitchen"] for _ in captions]
    return {
        "variants": [{"caption": c, "hashtags": t} for c, t in zip(captions, tags, strict=True)]
    }


def advisor(*clients: ScriptedClient) -> Advisor:
    gw = LLMGateway(clients, ManualClock(NOW), retry=RetryPolicy(attempts=1), deadline_s=2)
    return Advisor(gw)


ACCOUNTS = [Account(f"ig-{i}", "instagram", f"@ig{i}", "UTC") for i in range(3)]


class TestCaptionVariants:
    async def test_builtin_without_model(self) -> None:
        """Without a model every account gets a distinct engine.captions variant."""
        variants = await Advisor().caption_variants(CONTENT, ACCOUNTS)
        assert [v.account_id for v in variants] == ["ig-0", "ig-1", "ig-2"]
        assert {v.source for v in variants} == {"builtin"}
        assert len({(v.caption, v.hashtags) for v in variants}) == 3

    async def test_model_variants_used_when_valid(self) -> None:
        """A valid, distinct model answer is used, credited to its model."""
        captions = [
            "30% off our new blender until Friday #ad",
            "Until Friday: our new blender at 30% off #ad",
            "Our new blender, 30% off until Friday #ad",
        ]
        client = ScriptedClient("gpt", [variants_answer(captions)])
        variants = await advisor(client).caption_variants(CONTENT, ACCOUNTS)
        assert [v.caption for v in variants] == captions
        assert {v.source for v in variants} == {"model:gpt"}
        assert CONTENT.caption in client.calls[0].user
        assert CONTENT.caption not in client.calls[0].system

    async def test_one_bad_variant_discards_the_answer(self) -> None:
        """One variant inventing a link discards that model's whole answer."""
        bad = ScriptedClient(
            "bad",
            [
                variants_answer(
                    [
                        "30% off our new blender until Friday #ad",
                        "30% off until Friday, buy at https://x.example #ad",
                        "Our new blender, 30% off until Friday #ad",
                    ]
                )
            ],
        )
        variants = await advisor(bad).caption_variants(CONTENT, ACCOUNTS)
        assert {v.source for v in variants} == {"builtin"}

    async def test_identical_variants_refused(self) -> None:
        """A model returning the same caption twice is refused (duplicate-gap rule)."""
        same = "30% off our new blender until Friday #ad"
        client = ScriptedClient("gpt", [variants_answer([same, same, same + "!"])])
        variants = await advisor(client).caption_variants(CONTENT, ACCOUNTS)
        assert {v.source for v in variants} == {"builtin"}
        assert len({(v.caption, v.hashtags) for v in variants}) == 3

    async def test_per_language_groups(self) -> None:
        """Targets in another language are asked for in that language."""
        es = [VariantTarget(Account("ig-es", "instagram", "@es", "UTC", language="es"))]
        client = ScriptedClient(
            "gpt",
            [
                variants_answer(
                    ["Nuestra nueva licuadora con 30% de descuento hasta el viernes #ad"]
                )
            ],
        )
        (variant,) = await advisor(client).caption_variants(CONTENT, es)
        assert variant.language == "es" and variant.source == "model:gpt"
        assert '"target_language": "es"' in client.calls[0].user


AR = "خلاطنا الجديد بخصم 30% حتى الجمعة #ad"


class TestTranslate:
    async def test_provided_and_untranslated_without_model(self) -> None:
        """Given translations are used; without a model others stay untranslated."""
        content = CONTENT.model_copy(update={"translations": {"es": "Licuadora 30% #ad"}})
        out = await Advisor().translate(content, ["en", "es", "ar"])
        assert [(v.language, v.source) for v in out] == [
            ("en", "source"),
            ("es", "provided"),
            ("ar", "untranslated"),
        ]
        assert out[2].rtl and not out[2].translated

    async def test_second_model_agreement(self) -> None:
        """With two valid translations, the score is their similarity."""
        back = "Our new blender 30% off until Friday #ad"
        a = ScriptedClient("gpt", [{"caption": AR, "back_translation": back}], weight=2)
        b = ScriptedClient("claude", [{"caption": AR, "back_translation": back}])
        (variant,) = await advisor(a, b).translate(CONTENT, ["ar"])
        assert variant.source == "model:gpt" and variant.agreement == 1.0 and variant.rtl

    async def test_back_translation_score_and_validation(self) -> None:
        """One model: the back-translation is scored; an English 'translation' is refused."""
        good = ScriptedClient("gpt", [{"caption": AR, "back_translation": CONTENT.caption}])
        (variant,) = await advisor(good).translate(CONTENT, ["ar"])
        assert variant.agreement == 1.0
        lazy = ScriptedClient("gpt", [{"caption": CONTENT.caption, "back_translation": "x"}])
        (kept,) = await advisor(lazy).translate(CONTENT, ["ar"])
        assert kept.source == "untranslated"

    def test_similarity(self) -> None:
        """Similarity is 1 for equal texts and low for unrelated ones."""
        assert similarity("hello world", "hello world") == 1.0
        assert similarity("hello world", "quantum chromodynamics") < 0.1
