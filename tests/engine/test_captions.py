"""Caption variants: platform limits, translations, rotation and stable variant ids."""

from __future__ import annotations

from engine.captions import caption_for, caption_variants, render_post
from engine.models import Account
from engine.platforms import DEFAULT_PLATFORMS
from engine.request import Content

TWITTER = DEFAULT_PLATFORMS["twitter"]
INSTAGRAM = DEFAULT_PLATFORMS["instagram"]


def content(**kw: object) -> Content:
    data: dict[str, object] = {"id": "c", "caption": "Hello", "hashtags": list("abcdef")}
    data.update(kw)
    return Content.model_validate(data)


def acct(n: int, platform: str = "twitter") -> Account:
    return Account(id=f"a{n}", platform=platform, handle=f"@{n}", timezone="UTC")


class TestCaptionFor:
    def test_hashtag_limit(self) -> None:
        """Twitter gets at most 3 hashtags, in the content's order."""
        for n in range(10):
            _, tags, _ = caption_for(content(), acct(n), TWITTER, language="en", variant_index=0)
            assert len(tags) == 3
            assert list(tags) == sorted(tags)

    def test_length_limit(self) -> None:
        """A long caption is cut so the whole post fits the platform limit."""
        text, tags, _ = caption_for(
            content(caption="word " * 200), acct(1), TWITTER, language="en", variant_index=0
        )
        assert len(render_post(text, tags)) <= 280
        assert text.endswith("…")

    def test_translation_used(self) -> None:
        """The translation for the slot's language replaces the caption."""
        c = content(translations={"es": "Hola"})
        assert caption_for(c, acct(1), TWITTER, language="es", variant_index=0)[0] == "Hola"
        assert caption_for(c, acct(1), TWITTER, language="ar", variant_index=0)[0] == "Hello"

    def test_accounts_rotate_subsets(self) -> None:
        """Different accounts start on different hashtag subsets."""
        subsets = {
            caption_for(content(), acct(n), TWITTER, language="en", variant_index=0)[1]
            for n in range(20)
        }
        assert len(subsets) > 3

    def test_variants_distinct_and_ids_stable(self) -> None:
        """Variants differ from each other; equal text and tags share an id across platforms."""
        variants = caption_variants(content(), INSTAGRAM, "en")
        assert len({v[2] for v in variants}) == len(variants) == 22  # all, 6 x 5 tags, 15 x 4
        tw = {v[2] for v in caption_variants(content(hashtags=["a", "b", "c"]), TWITTER, "en")}
        ig = {v[2] for v in caption_variants(content(hashtags=["a", "b", "c"]), INSTAGRAM, "en")}
        assert tw == ig

    def test_deterministic(self) -> None:
        """The same inputs give the same variant."""
        a = caption_for(content(), acct(3), INSTAGRAM, language="en", variant_index=2)
        assert a == caption_for(content(), acct(3), INSTAGRAM, language="en", variant_index=2)

    def test_no_hashtags(self) -> None:
        """Content without hashtags has exactly one variant."""
        assert len(caption_variants(content(hashtags=[]), TWITTER, "en")) == 1
