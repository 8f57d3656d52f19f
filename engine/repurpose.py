"""Repurposing (seed 001 #8): which content type and format each target platform gets.

A video becomes a TikTok video, an Instagram reel, a YouTube video, a post on X; each
target gets its own variant id (`<content>-<platform>`) and the platform's length rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from engine.errors import InvalidInput
from engine.faithful import DISCLOSURE_TAGS, protected
from engine.platforms import DEFAULT_PLATFORMS, PlatformRules, PlatformTable
from engine.request import Content

# How well a source type converts to a target type (1.0: natively the same format).
# Pairs not listed cannot be converted (an image cannot become a YouTube video).
CONVERSIONS: dict[tuple[str, str], float] = {
    ("video", "short"): 0.9,
    ("video", "reel"): 1.0,
    ("video", "post"): 0.8,
    ("video", "story"): 0.6,
    ("short", "video"): 0.9,
    ("short", "reel"): 1.0,
    ("short", "story"): 0.8,
    ("short", "post"): 0.8,
    ("reel", "short"): 1.0,
    ("reel", "video"): 0.9,
    ("reel", "post"): 0.8,
    ("reel", "story"): 0.8,
    ("story", "reel"): 0.7,
    ("story", "short"): 0.7,
    ("story", "post"): 0.6,
    ("image", "post"): 1.0,
    ("image", "story"): 0.8,
    ("text", "post"): 1.0,
    ("post", "story"): 0.6,
}

# Vertical formats and their length caps in seconds; `video` depends on the platform.
FORMATS: dict[str, tuple[str, int | None]] = {
    "short": ("9:16", 60),
    "reel": ("9:16", 90),
    "story": ("9:16", 60),
    "post": ("1:1", 140),
}
VIDEO_FORMATS: dict[str, tuple[str, int | None]] = {
    "tiktok": ("9:16", 600),
    "youtube": ("16:9", None),
    "linkedin": ("16:9", 600),
}


@dataclass(frozen=True, slots=True)
class Repurposed:
    """What one target platform receives."""

    platform: str
    content_type: str
    variant_id: str
    fit: float
    aspect_ratio: str
    max_duration_s: int | None
    caption_limit: int
    hashtag_limit: int
    caption: str
    hashtags: tuple[str, ...]


def target_type(source_type: str, rules: PlatformRules) -> tuple[str, float] | None:
    """The best content type `rules.name` offers for `source_type`, with its fit, or None."""
    source = source_type.lower()
    if source in rules.content_types:
        return source, 1.0
    best: tuple[str, float] | None = None
    for candidate in rules.content_types:
        fit = CONVERSIONS.get((source, candidate))
        if fit is not None and (best is None or fit > best[1]):
            best = (candidate, fit)
    return best


def fit_caption(caption: str, limit: int) -> str | None:
    """`caption` cut at a word boundary to at most `limit` characters (ending in `…`), or
    None when the cut would lose a link, @mention, number or disclosure."""
    text = " ".join(caption.split())
    if len(text) <= limit:
        return text
    cut = text[: max(0, limit - 1)]
    if " " in cut:
        cut = cut[: cut.rfind(" ")]
    fitted = cut.rstrip(" ,;:-") + "…"
    return None if protected(text) - protected(fitted) else fitted


def _keep_disclosures(tags: Sequence[str], limit: int) -> tuple[str, ...]:
    """The first `limit` hashtags, disclosures (#ad) always among them."""
    first = [t for t in tags if t.lower() in DISCLOSURE_TAGS]
    rest = [t for t in tags if t.lower() not in DISCLOSURE_TAGS]
    chosen = set(first + rest[: max(0, limit - len(first))])
    return tuple(t for t in tags if t in chosen)


def repurpose(
    content: Content,
    targets: Sequence[str],
    *,
    language: str | None = None,
    platforms: PlatformTable = DEFAULT_PLATFORMS,
) -> dict[str, Repurposed]:
    """Map `content` onto each target platform: type, format, variant id, length rules.

    The variant id is `<content id>-<platform>` (plus `-<language>` when one other than
    English is given). Raises InvalidInput naming the platforms that cannot take this
    content type, or an unknown platform; nothing is returned then.
    """
    out: dict[str, Repurposed] = {}
    impossible: list[str] = []
    for name in dict.fromkeys(t.lower() for t in targets):
        rules = platforms[name]
        mapped = target_type(content.type, rules)
        if mapped is None:
            impossible.append(f"{name} ({'/'.join(rules.content_types)})")
            continue
        kind, fit = mapped
        caption = fit_caption(content.caption, rules.caption_limit)
        if caption is None:
            lost = ", ".join(sorted(protected(content.caption)))
            impossible.append(
                f"{name} (the caption does not fit {rules.caption_limit} characters without "
                f"cutting {lost})"
            )
            continue
        aspect, duration = (
            VIDEO_FORMATS.get(name, ("16:9", None))
            if kind == "video"
            else FORMATS.get(kind, ("1:1", None))
        )
        suffix = f"-{language.lower()}" if language and language.lower() != "en" else ""
        out[name] = Repurposed(
            platform=name,
            content_type=kind,
            variant_id=f"{content.id}-{name}{suffix}",
            fit=fit,
            aspect_ratio=aspect,
            max_duration_s=duration,
            caption_limit=rules.caption_limit,
            hashtag_limit=rules.hashtag_limit,
            caption=caption,
            hashtags=_keep_disclosures(content.hashtags, rules.hashtag_limit),
        )
    if impossible:
        raise InvalidInput(
            f"content type {content.type!r} or its caption cannot be posted to: "
            f"{', '.join(impossible)}"
        )
    return out
