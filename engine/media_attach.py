"""Media a distribution carries, said for people: added after creation (a file posted in its
card's thread), and what each platform gets.

Pure rules, used by `DistributionService`: how new files join the ones the content already
has, what each platform of the request would get (seed 001's repurposing) or why it would
refuse the media, one line per platform, and the plan card's one-line summary of both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from engine.media import MediaAsset, MediaKind
from engine.media_check import check_media
from engine.models import Distribution, DistributionStatus
from engine.platforms import PlatformTable
from engine.repurpose import target_type
from engine.wording import with_article

# Media may change while nobody has approved the plan (the states `plan` starts from).
EDITABLE = frozenset(
    {
        DistributionStatus.DRAFT,
        DistributionStatus.PLANNED,
        DistributionStatus.AWAITING_APPROVAL,
        DistributionStatus.REJECTED,
    }
)


@dataclass(frozen=True, slots=True)
class MediaAttached:
    """What `attach_media` did: the distribution after it (re-planned when it had a plan),
    the files added, all its media now, and each platform's verdict on them."""

    distribution: Distribution
    added: list[MediaAsset]
    media: list[MediaAsset]
    verdicts: list[tuple[str, bool]]
    replanned: bool


def merged_media(existing: Sequence[MediaAsset], added: Sequence[MediaAsset]) -> list[str]:
    """The content's media ids after `added` joins `existing`.

    Every platform posts a video alone, so kinds never mix: a video, or images after a
    video, replace what was there (posting a corrected file is how one swaps it); images
    after images add up (a carousel), the same file never twice."""
    if not added:
        return [a.id for a in existing]
    if added[-1].kind is MediaKind.VIDEO:
        return [added[-1].id]
    images = [a for a in added if a.kind is MediaKind.IMAGE]
    keep = [a for a in existing if a.kind is MediaKind.IMAGE]
    return list(dict.fromkeys(a.id for a in [*keep, *images]))


def platform_verdicts(
    platforms: Sequence[str],
    content_type: str,
    assets: Sequence[MediaAsset],
    table: PlatformTable,
) -> list[tuple[str, bool]]:
    """One line per platform: what it gets (`tiktok gets a video`) or why it refuses the
    media; with True when it takes it."""
    lines: list[tuple[str, bool]] = []
    for platform in platforms:
        if platform not in table:
            continue
        rules = table[platform]
        mapped = target_type(content_type, rules)
        if mapped is None:
            lines.append((f"{platform} takes no {content_type}", False))
            continue
        ctype = mapped[0]
        problems = check_media(rules, ctype, assets)
        if problems:
            lines.append((f"{platform} {ctype}: refused: {'; '.join(problems)}", False))
        else:
            lines.append((f"{platform} gets {with_article(ctype)}", True))
    return lines


def describe_asset(asset: MediaAsset) -> str:
    """`clip.mp4 (video, 12 s, 1080x1920, 3.1 MB)`: what Herald read from the file."""
    facts = [asset.kind.value]
    if asset.duration_s is not None:
        facts.append(f"{asset.duration_s:.3g} s")
    if asset.width and asset.height:
        facts.append(f"{asset.width}x{asset.height}")
    size = asset.size_bytes
    facts.append(f"{size / 1024**2:.1f} MB" if size >= 1024**2 else f"{size / 1024:.0f} KB")
    return f"{asset.filename or asset.id} ({', '.join(facts)})"


def media_summary(
    media: Sequence[MediaAsset], platforms: Sequence[str], content_type: str, table: PlatformTable
) -> dict[str, str]:
    """Scalars for the plan card's simulation section: the files, and per platform (those
    with slots, in the request's order) the content type it gets (`instagram reel`), marked
    ✗ where it refuses the media."""
    if not media:
        return {}
    files = describe_asset(media[0]) if len(media) == 1 else f"{len(media)} files"
    if len(media) > 1:
        files += ": " + ", ".join(a.filename or a.id for a in media)
    gets = []
    for platform in platforms:
        if platform not in table:
            continue
        mapped = target_type(content_type, table[platform])
        ctype = mapped[0] if mapped else content_type
        refused = mapped is None or check_media(table[platform], ctype, media)
        gets.append(f"{platform} {ctype}{' ✗' if refused else ''}")
    summary = {"media": files}
    if gets:
        summary["platforms_get"] = ", ".join(gets)
    return summary
