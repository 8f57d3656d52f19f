"""Caption variants without an LLM: per platform and language, from the content's caption.

Each variant is the caption (or its translation for the slot's language) plus a subset of
the content's hashtags: with more hashtags than the platform allows, rotated windows of
`hashtag_limit` of them, then other combinations; otherwise all of them, then each "all
but one", then "all but two" (at most 40 variants). The rendered post
(`caption` + blank line + `#tags`) never exceeds the platform's `caption_limit`: hashtags
are dropped from the end first, then the caption is cut with an ellipsis. Two variants
with the same text and the same hashtags share a `variant_id` whatever their platform, so
the planner can keep identical posts `duplicate_gap` apart.
"""

from __future__ import annotations

import hashlib
import zlib
from functools import lru_cache
from itertools import combinations
from typing import NamedTuple

from engine.models import Account
from engine.platforms import PlatformRules
from engine.request import Content


class Variant(NamedTuple):
    """One way to post the content: caption and hashtags, and the id that identical
    renderings share (duplicate spacing is keyed on it)."""

    caption: str
    hashtags: tuple[str, ...]
    variant_id: str


MAX_VARIANTS = 40


def render_post(caption: str, hashtags: tuple[str, ...]) -> str:
    """The text as posted: caption, a blank line, then the hashtags."""
    if not hashtags:
        return caption
    return caption + "\n\n" + " ".join("#" + tag for tag in hashtags)


def variant_id(caption: str, hashtags: tuple[str, ...]) -> str:
    """A short stable id: equal for identical caption and hashtags, on any platform."""
    digest = hashlib.sha1((caption + "\x1f" + " ".join(hashtags)).encode()).hexdigest()
    return "v" + digest[:10]


def _fit(text: str, tags: tuple[str, ...], limit: int) -> tuple[str, tuple[str, ...]]:
    while tags and len(render_post(text, tags)) > limit:
        tags = tags[:-1]
    if len(text) > limit:
        text = text[: max(0, limit - 1)].rstrip() + "…"
    return text, tags


def _subsets(tags: tuple[str, ...], limit: int) -> list[tuple[str, ...]]:
    """Hashtag subsets, most complete first, each in the content's order (so equal sets
    are equal tuples), at most MAX_VARIANTS of them."""
    m = len(tags)
    if m == 0 or limit <= 0:
        return [()]
    if m > limit:
        # Rotated windows first (every tag leads once), then the other combinations.
        out = [tuple(tags[i] for i in sorted((s + j) % m for j in range(limit))) for s in range(m)]
        sizes = [limit]
    else:
        out = [tags]
        sizes = [size for size in (m - 1, m - 2) if size >= max(1, m - 2) and size >= 1]
    seen = set(out)
    for size in sizes:
        for combo in combinations(range(m), size):
            if len(out) >= MAX_VARIANTS:
                return out
            subset = tuple(tags[i] for i in combo)
            if subset not in seen:
                seen.add(subset)
                out.append(subset)
    return out


def caption_text(content: Content, language: str) -> str:
    """The caption in `language` when a translation is given, else the original; the
    content's link on its own line when the text does not carry it already."""
    text = content.translations.get(language, content.caption).strip() or content.caption
    if content.link and content.link not in text:
        text = f"{text}\n{content.link}"
    return text


@lru_cache(maxsize=4096)
def _variants(
    text: str, tags: tuple[str, ...], caption_limit: int, hashtag_limit: int
) -> tuple[Variant, ...]:
    seen: dict[str, Variant] = {}
    for subset in _subsets(tags, hashtag_limit):
        caption, kept = _fit(text, subset, caption_limit)
        vid = variant_id(caption, kept)
        seen.setdefault(vid, Variant(caption, kept, vid))
    return tuple(seen.values())


def caption_variants(content: Content, rules: PlatformRules, language: str) -> tuple[Variant, ...]:
    """Every distinct (caption, hashtags, variant_id) for this platform and language,
    in a fixed order."""
    return _variants(
        caption_text(content, language),
        tuple(content.hashtags),
        rules.caption_limit,
        rules.hashtag_limit,
    )


def account_offset(account_id: str, count: int) -> int:
    """Where an account starts in the variant list, so accounts rotate hashtag subsets."""
    return zlib.crc32(account_id.encode()) % max(1, count)


def caption_for(
    content: Content,
    account: Account,
    rules: PlatformRules,
    *,
    language: str,
    variant_index: int,
) -> Variant:
    """The `variant_index`-th variant for `account` (its list is rotated per account).

    Deterministic; honours the platform's caption and hashtag limits; uses the
    translation for `language` when the content has one.
    """
    variants = caption_variants(content, rules, language)
    return variants[(account_offset(account.id, len(variants)) + variant_index) % len(variants)]
