"""Caption faithfulness: variants keep links, mentions, numbers and disclosures, add none."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine.captions import caption_variants, distinct_captions, render_post
from engine.errors import InvalidInput, LLMInvalidAnswer
from engine.faithful import faithfulness_problems, has_disclosure
from engine.planner import plan_distribution, plan_to_dict
from engine.platforms import DEFAULT_PLATFORMS
from engine.repurpose import repurpose
from engine.request import Content, parse_request
from engine.variants import check_caption
from tests.engine.execution_support import make_accounts

LINK = "https://shop.example/aero"
SOURCE = f"Meet the new Aero blender by @kitchenlab: 30% off until Friday at {LINK} #ad"
TWITTER = DEFAULT_PLATFORMS["twitter"]
INSTAGRAM = DEFAULT_PLATFORMS["instagram"]


def _check(caption: str, tags: tuple[str, ...] = (), source: str = SOURCE) -> None:
    check_caption(
        caption,
        tags,
        source=source,
        language="en",
        rules=INSTAGRAM,
        allowed_hashtags=["kitchen", "ad", "adventure"],
    )


class TestVariantChecks:
    def test_a_faithful_rewording_passes(self) -> None:
        """Same link, mention, number and #ad, reworded: accepted."""
        _check(f"The new Aero blender by @kitchenlab is 30% off until Friday at {LINK} #ad")

    @pytest.mark.parametrize(
        ("caption", "problem"),
        [
            ("Meet the new Aero blender by @kitchenlab: 30% off until Friday #ad", "links"),
            (
                f"Meet the new Aero blender: 30% off until Friday at {LINK} #ad",
                "@mentions",
            ),
            (
                f"Meet the Aero by @kitchenlab: 30% off until Friday at {LINK} #adventure",
                "disclosure",
            ),
            (
                f"Meet the Aero by @kitchenlab: 30% off until Friday, was $99.99, at {LINK} #ad",
                "numbers not in the source",
            ),
            (
                f"Meet the Aero by @kitchenlab: 30% off until Friday at {LINK}. Limited stock! #ad",
                "sentence",
            ),
            (
                f"Meet the Aero by @kitchenlab: 30% off until Friday at {LINK}/x #ad",
                "links",
            ),
        ],
    )
    def test_an_unfaithful_variant_is_refused_with_the_reason(
        self, caption: str, problem: str
    ) -> None:
        """Dropped link/mention, #ad turned #adventure, an added price or sentence: refused."""
        with pytest.raises(LLMInvalidAnswer, match=problem):
            _check(caption)

    def test_disclosures_are_whole_tokens(self) -> None:
        """`#adventure` and `unsponsored` are not disclosures; `#ad` and `sponsored` are."""
        assert not has_disclosure("Pure #adventure, unsponsored and free")
        assert has_disclosure("Pure fun #ad")
        assert has_disclosure("A sponsored post")
        assert has_disclosure("Pure fun", ["ad"])

    def test_a_translation_may_change_the_disclosure_word_but_not_numbers(self) -> None:
        """Translations keep links, mentions and numbers; the disclosure may be translated."""
        source = "30% off at https://shop.example/aero, sponsored by @kitchenlab"
        good = "30 % de descuento en https://shop.example/aero, patrocinado por @kitchenlab"
        assert faithfulness_problems(good, (), source=source, translated=True) == []
        bad = "40 % de descuento en https://shop.example/aero, patrocinado por @kitchenlab"
        assert faithfulness_problems(bad, (), source=source, translated=True)


LONG = (
    "Our spring collection is finally here, with light fabrics, bright colours and shapes made "
    "for long days outside. Every piece is designed in our studio and made to last for years, "
    "from the first linen shirt to the last wide-leg trouser, in six colours and four fits. "
    "Shop it now at https://shop.example/spring-collection-2027 #ad"
)


class TestBuiltinFitting:
    def test_a_long_caption_is_never_cut_through_its_link_or_ad(self) -> None:
        """On X the built-in writer has no variant rather than one cut through the link."""
        content = Content(id="c", caption=LONG, hashtags=["spring", "style"])
        assert caption_variants(content, TWITTER, "en") == ()
        assert caption_variants(content, INSTAGRAM, "en")

    def test_the_plan_says_why_x_is_refused(self) -> None:
        """Accounts on X are left out with the reason naming the link; others are planned."""
        request = parse_request(
            {
                "content": {"id": "c", "caption": LONG, "hashtags": ["spring"]},
                "platforms": ["twitter", "instagram"],
                "start": "2026-12-01T09:00Z",
            }
        )
        result = plan_distribution(request, make_accounts(2, ["twitter", "instagram"]))
        assert {s.platform for s in result.slots} == {"instagram"}
        reasons = [u.reason for u in result.unscheduled if u.account_id.startswith("twitter")]
        assert reasons and all("https://shop.example/spring-collection-2027" in r for r in reasons)
        assert any("twitter" in w and "280" in w for w in result.warnings)

    def test_a_cut_that_keeps_every_token_is_allowed(self) -> None:
        """A long caption whose link and #ad come first is cut at a word boundary after them."""
        caption = "#ad New at https://s.example/a by @lab: " + "lovely words " * 40
        content = Content(id="c", caption=caption, hashtags=["ad", "spring", "style", "more"])
        variants = caption_variants(content, TWITTER, "en")
        assert variants
        for text, tags, _ in variants:
            assert len(render_post(text, tags)) <= TWITTER.caption_limit
            assert "https://s.example/a" in text and "@lab" in text and "ad" in tags
            assert text.endswith("…") and not text.endswith(" …")

    def test_repurpose_refuses_a_platform_that_would_cut_the_link(self) -> None:
        """Repurposing for X names the tokens a cut would lose instead of cutting them."""
        content = Content(id="c", caption=LONG, type="post")
        with pytest.raises(InvalidInput, match=r"twitter.*https://shop\.example"):
            repurpose(content, ["twitter"])


class TestCaptionListing:
    def test_every_distinct_caption_is_listed_with_counts(self) -> None:
        """The plan lists each distinct post by platform and language with its slot count."""
        request = parse_request(
            {
                "content": {
                    "id": "c",
                    "caption": "Hello",
                    "hashtags": ["a"],
                    "translations": {"es": "Hola"},
                },
                "platforms": ["tiktok"],
                "languages": ["en", "es"],
                "start": datetime(2026, 12, 1, 9, tzinfo=UTC).isoformat(),
            }
        )
        accounts = make_accounts(3, ["tiktok"])
        result = plan_distribution(request, accounts)
        listed = distinct_captions(result.slots)
        assert sum(item["slots"] for item in listed) == len(result.slots)
        assert {(i["platform"], i["language"], i["caption"]) for i in listed} == {
            (s.platform, s.language, s.caption) for s in result.slots
        }
        assert plan_to_dict(result)["captions"] == listed
