"""Caption variants without an LLM: per platform and language, from the content's caption.

Each variant is the caption (or its translation for the slot's language) plus a subset of
the content's hashtags: with more hashtags than the platform allows, rotated windows of
`hashtag_limit` of them, then other combinations; otherwise all of them, then each "all
but one", then "all but two" (at most 40 variants). The rendered post
(`caption` + blank line + `#tags`) never exceeds the platform's `caption_limit`: hashtags
are dropped from the end first (never a disclosure such as #ad), then the caption is cut
at a word boundary with an ellipsis, but never through a link, @mention, number or
disclosure: such a caption has no variant on that platform (`caption_refusal`). Two variants
with the same text and the same hashtags share a `variant_id` whatever their platform, so
the planner can keep identical posts `duplicate_gap` apart.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Sequence
from functools import lru_cache
from itertools import combinations
from typing import Any, NamedTuple

from engine.errors import InvalidInput
from engine.faithful import DISCLOSURE_TAGS, protected
from engine.models import Account, PlannedSlot, Slot, SlotStatus
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


def _fit(text: str, tags: tuple[str, ...], limit: int) -> tuple[str, tuple[str, ...]] | None:
    """The post fitted to `limit`: ordinary hashtags dropped from the end first (never a
    disclosure such as #ad), then the caption cut at a word boundary with an ellipsis; None
    when the cut would lose a link, @mention, number or disclosure (the caller refuses)."""
    while len(render_post(text, tags)) > limit:
        droppable = [i for i, t in enumerate(tags) if t.lower() not in DISCLOSURE_TAGS]
        if not droppable:
            break
        drop = droppable[-1]
        tags = tags[:drop] + tags[drop + 1 :]
    if len(render_post(text, tags)) <= limit:
        return text, tags
    room = limit - (len(render_post(text, tags)) - len(text))
    cut = _cut(text, room)
    if cut is None or protected(text) - protected(cut):
        return None
    return cut, tags


def _cut(text: str, room: int) -> str | None:
    """`text` cut at a word boundary to at most `room` characters, ending in `…`."""
    if room < 2:
        return None
    head = text[: room - 1]
    if " " in head and not text[room - 1 : room].isspace():
        head = head[: head.rfind(" ")]
    head = head.rstrip(" ,;:-")
    return head + "…" if head else None


def fit_refusal(text: str, tags: tuple[str, ...], rules: PlatformRules) -> str | None:
    """Why this caption cannot be posted on `rules`' platform without losing what it must
    keep (None when it fits): the reason names the tokens a cut would lose."""
    if _fit(text, tags, rules.caption_limit) is not None:
        return None
    kept = tuple(t for t in tags if t.lower() in DISCLOSURE_TAGS)
    room = rules.caption_limit - (len(render_post(text, kept)) - len(text))
    cut = _cut(text, room) or ""
    lost = sorted(protected(text) - protected(cut))
    return (
        f"the caption does not fit {rules.name}'s {rules.caption_limit} characters without "
        f"cutting {', '.join(lost) or 'the disclosure'}; shorten it for {rules.name}"
    )


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
    # A disclosure hashtag (#ad) is in every variant; the others are rotated.
    disclosures = tuple(t for t in tags if t.lower() in DISCLOSURE_TAGS)
    others = tuple(t for t in tags if t.lower() not in DISCLOSURE_TAGS)
    for part in _subsets(others, hashtag_limit - len(disclosures)):
        subset = tuple(t for t in tags if t in disclosures or t in part)
        fitted = _fit(text, subset, caption_limit)
        if fitted is None:
            continue
        caption, kept = fitted
        vid = variant_id(caption, kept)
        seen.setdefault(vid, Variant(caption, kept, vid))
    return tuple(seen.values())


def caption_variants(content: Content, rules: PlatformRules, language: str) -> tuple[Variant, ...]:
    """Every distinct (caption, hashtags, variant_id) for this platform and language,
    in a fixed order; empty when the caption cannot fit the platform without losing a link,
    mention, number or disclosure (`caption_refusal` says why)."""
    return _variants(
        caption_text(content, language),
        tuple(content.hashtags),
        rules.caption_limit,
        rules.hashtag_limit,
    )


def caption_refusal(content: Content, rules: PlatformRules, language: str) -> str | None:
    """Why no variant of the content can be posted on this platform, or None."""
    if caption_variants(content, rules, language):
        return None
    tags = tuple(content.hashtags)[: rules.hashtag_limit]
    return fit_refusal(caption_text(content, language), tags, rules) or (
        f"the caption does not fit {rules.name}'s {rules.caption_limit} characters"
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
    if not variants:
        raise InvalidInput(caption_refusal(content, rules, language) or "no caption fits")
    return variants[(account_offset(account.id, len(variants)) + variant_index) % len(variants)]


def distinct_captions(slots: Sequence[PlannedSlot | Slot]) -> list[dict[str, Any]]:
    """Every distinct post of a plan (caption + hashtags) by platform and language, with how
    many slots carry it: what an approver reads before approving model-written captions
    and translations. Sorted by platform, language, then most used first."""
    counts: dict[tuple[str, str, str, tuple[str, ...]], int] = {}
    for slot in slots:
        if isinstance(slot, Slot) and slot.status == SlotStatus.CANCELLED:
            continue
        key = (slot.platform, slot.language, slot.caption, tuple(slot.hashtags))
        counts[key] = counts.get(key, 0) + 1
    ordered = sorted(counts.items(), key=lambda kv: (kv[0][0], kv[0][1], -kv[1], kv[0][2]))
    return [
        {
            "platform": platform,
            "language": language,
            "caption": caption,
            "hashtags": list(hashtags),
            "slots": count,
        }
        for (platform, language, caption, hashtags), count in ordered
    ]
