"""A library item's media: stored when the item is added, described for `content show`.

Adding an item (the Slack modal, the HTTP API) stores each media reference through the
media store (a Slack file or URL is downloaded, probed and kept; the item then names it by
its `m-` id), so a file that is not media, too big or unreachable is refused at once, on
its field. Imported rows keep their references until a distribution uses them.
`platform_fits` says what each platform would post the item as, or why it would refuse it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from engine.errors import InvalidInput, InvalidRequest, NetworkError, NotFound
from engine.faithful import protected
from engine.media import MediaAsset, MediaKind
from engine.media_check import check_media
from engine.platforms import PlatformTable
from engine.ports import MediaStore
from engine.repurpose import fit_caption, target_type
from engine.request import Content


async def store_media(store: MediaStore | None, content: Content) -> Content:
    """`content` with every media reference stored and named by its id (ids stay as they
    are). Raises InvalidRequest(`media.<index>`, what is wrong with that reference: not an
    image or video, over the size cap, unreachable, an unknown id). Without a store the
    references are kept, as an import keeps them."""
    if store is None or not content.media:
        return content
    ids: list[str] = []
    for index, ref in enumerate(content.media):
        try:
            ids.append((await store.resolve(ref)).id)
        except (InvalidInput, NotFound, NetworkError) as exc:
            raise InvalidRequest(f"media.{index}", str(exc)) from None
    return content.model_copy(update={"media": list(dict.fromkeys(ids))})


@dataclass(frozen=True, slots=True)
class MediaFile:
    """One of an item's media references and, once stored, the file's facts."""

    ref: str
    asset: MediaAsset | None = None

    def text(self) -> str:
        """`clip.mp4: video/mp4, 1.2 MB, 12 s, 1080x1920 (m-…)`, or why there are no facts."""
        a = self.asset
        if a is None:
            if self.ref.startswith("m-"):
                return f"{self.ref}: not in the media store"
            return f"{self.ref}: not stored yet (fetched and checked when a distribution uses it)"
        facts = [a.mime_type, size_text(a.size_bytes)]
        if a.kind is MediaKind.VIDEO and a.duration_s is not None:
            facts.append(f"{a.duration_s:.1f} s".replace(".0 s", " s"))
        if a.width and a.height:
            facts.append(f"{a.width}x{a.height}")
        return f"{a.filename or a.id}: {', '.join(facts)} ({a.id})"


@dataclass(frozen=True, slots=True)
class PlatformFit:
    """What one platform would post an item as (`content_type`, None when it takes none of
    this type), why it would refuse it (`problems`) and what changes on the way (`notes`)."""

    platform: str
    content_type: str | None
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def takes(self) -> bool:
        return not self.problems

    def text(self) -> str:
        as_type = f" {self.content_type}" if self.content_type else ""
        verdict = "rejects: " + "; ".join(self.problems) if self.problems else "takes it"
        notes = f" ({'; '.join(self.notes)})" if self.notes else ""
        return f"{self.platform}{as_type}: {verdict}{notes}"


def platform_fits(
    content: Content, files: Sequence[MediaFile], platforms: PlatformTable
) -> list[PlatformFit]:
    """Per platform of the table: the type it posts `content` as, the caption and hashtag
    cuts, and the media checks of plan time (items without files and files not stored yet
    are not checked)."""
    assets = [f.asset for f in files if f.asset is not None]
    unchecked = len(files) - len(assets)
    out = []
    for name in platforms:
        rules = platforms[name]
        mapped = target_type(content.type, rules)
        if mapped is None:
            takes = "/".join(rules.content_types)
            out.append(PlatformFit(name, None, (f"takes {takes}, not {content.type}",)))
            continue
        kind = mapped[0]
        problems: list[str] = []
        notes: list[str] = []
        caption = fit_caption(content.caption, rules.caption_limit)
        if caption is None:
            lost = ", ".join(sorted(protected(content.caption)))
            problems.append(
                f"the caption cannot be cut to {rules.caption_limit} characters "
                f"without losing {lost}"
            )
        elif len(caption) < len(" ".join(content.caption.split())):
            notes.append(f"caption cut to {rules.caption_limit} characters")
        if len(content.hashtags) > rules.hashtag_limit:
            notes.append(f"first {rules.hashtag_limit} of {len(content.hashtags)} hashtags")
        if unchecked:
            notes.append(f"{unchecked} media file(s) not stored yet, not checked")
        elif assets:
            # As at plan time: an item without files is posted by its id, nothing to check.
            problems += check_media(rules, kind, assets)
        out.append(PlatformFit(name, kind, tuple(problems), tuple(notes)))
    return out


def size_text(n: int) -> str:
    """Bytes for people: `1.2 MB`."""
    for unit, factor in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n >= factor:
            return f"{n / factor:.1f} {unit}".replace(".0 ", " ")
    return f"{n} bytes"
