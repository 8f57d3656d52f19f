"""The per-platform posting rules (seed 001's velocity table), kept in one place.

Every rule a planner, selector or publisher enforces per platform comes from a
`PlatformRules` in a `PlatformTable`. Users override the table from configuration
(`HERALD_PLATFORMS_FILE`, a YAML or JSON mapping of platform name to the fields below).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from engine.errors import InvalidInput
from engine.media import MediaKind, MediaRule

# Seed 000's general peak windows, local time, for platforms without their own peaks:
# 6-9 AM, 12-2 PM, 6-10 PM.
GENERAL_PEAK_HOURS: tuple[int, ...] = (6, 7, 8, 12, 13, 18, 19, 20, 21)


@dataclass(frozen=True, slots=True)
class PlatformRules:
    """What one account may do on one platform.

    `peak_hours` are local hours (0-23) at which a post starts a peak; `weekend_peak_hours`
    replaces them on Saturday and Sunday (seed 000's weekend adjustment: people scroll
    later and more evenly on weekends). `risk` is the platform's own contribution to a
    slot's risk score in [0, 1].
    """

    name: str
    max_posts_per_day: int
    min_gap: timedelta
    peak_hours: tuple[int, ...]
    weekend_peak_hours: tuple[int, ...]
    content_types: tuple[str, ...]
    caption_limit: int
    hashtag_limit: int
    risk: float
    reach_factor: float = 0.05
    # What the platform takes as media per content type (checked at plan time).
    media_rules: tuple[MediaRule, ...] = ()
    # The platform API's own daily cap per account, where one is documented; the stricter
    # of it, `max_posts_per_day` and the account's live cap (Instagram) wins.
    api_max_posts_per_day: int | None = None
    # Posts go out private-only until Herald's API client passes the platform's audit
    # (TikTok, YouTube); the plan card says so before approval. Set from settings.
    private_only: bool = False

    def peaks_for(self, weekday: int) -> tuple[int, ...]:
        """Peak hours for a local weekday (Monday is 0)."""
        return self.weekend_peak_hours if weekday >= 5 else self.peak_hours


MB = 1024 * 1024
GB = 1024 * MB
_VIDEO, _IMAGE = MediaKind.VIDEO, MediaKind.IMAGE
_MP4_MOV = ("video/mp4", "video/quicktime")

# Media rules per platform and content type. Sources: PLATFORM-APIS.md and each API's
# media spec pages; where an API and the seed table differ, both are kept and the stricter
# applies (docs/media.md lists them side by side).
MEDIA_RULES: dict[str, tuple[MediaRule, ...]] = {
    # TikTok media transfer guide: mp4/webm/mov up to 4 GB; the per-creator length cap comes
    # live from creator_info (max_video_post_duration_sec) and is usually 10 min or less.
    "tiktok": tuple(
        MediaRule(t, _VIDEO, (*_MP4_MOV, "video/webm"), 4 * GB, 1, 1, 1, 600)
        for t in ("video", "short")
    ),
    # videos.insert: any video/*, up to 256 GB; 12 h for verified channels (15 min otherwise).
    "youtube": (MediaRule("video", _VIDEO, ("video/*",), 256 * GB, 1, 1, 1, 12 * 3600),),
    # Instagram content publishing: Reels mp4/mov <= 300 MB, 3 s-15 min, aspect 0.01-10;
    # feed images JPEG only, <= 8 MB, 4:5-1.91:1, carousels 2-10; stories 3-60 s.
    "instagram": (
        MediaRule("reel", _VIDEO, _MP4_MOV, 300 * MB, 1, 1, 3, 900, 0.01, 10.0),
        MediaRule("post", _IMAGE, ("image/jpeg",), 8 * MB, 1, 10, None, None, 0.8, 1.91),
        MediaRule("post", _VIDEO, _MP4_MOV, 300 * MB, 1, 1, 3, 900, 0.01, 10.0),
        MediaRule("story", _IMAGE, ("image/jpeg",), 8 * MB, 1, 1),
        MediaRule("story", _VIDEO, _MP4_MOV, 100 * MB, 1, 1, 3, 60),
    ),
    # X: up to 4 images (5 MB) or one video (512 MB, 0.5-140 s, 1:3-3:1); text alone is fine.
    "twitter": (
        MediaRule(
            "post", _IMAGE, ("image/jpeg", "image/png", "image/webp", "image/gif"), 5 * MB, 0, 4
        ),
        MediaRule("post", _VIDEO, _MP4_MOV, 512 * MB, 0, 1, 0.5, 140, 1 / 3, 3.0),
    ),
    # LinkedIn Images/Videos APIs: one image, or 2-20 in a MultiImage post (each uploaded
    # through the Images API); video mp4 75 KB-500 MB, 3 s-30 min, alone.
    "linkedin": (
        MediaRule("post", _IMAGE, ("image/jpeg", "image/png", "image/gif"), 8 * MB, 0, 20),
        MediaRule("post", _VIDEO, ("video/mp4",), 500 * MB, 0, 1, 3, 1800, 1 / 2.4, 2.4),
        MediaRule("video", _VIDEO, ("video/mp4",), 500 * MB, 1, 1, 3, 1800, 1 / 2.4, 2.4),
    ),
}
# The APIs' own daily caps per account (PLATFORM-APIS.md): Instagram's is read live per
# account (content_publishing_limit, 25-100); TikTok ~15/creator; YouTube's project quota
# allows about 6 uploads a day at 1600 units each; X 100/15 min; LinkedIn ~150.
API_DAILY_CAPS: dict[str, int] = {
    "instagram": 25,
    "tiktok": 15,
    "youtube": 6,
    "twitter": 2400,
    "linkedin": 150,
}


def _rules(
    name: str,
    per_day: int,
    gap_hours: float,
    peaks: tuple[int, ...],
    weekend: tuple[int, ...],
    types: tuple[str, ...],
    caption_limit: int,
    hashtag_limit: int,
    risk: float,
    reach_factor: float,
) -> PlatformRules:
    return PlatformRules(
        name,
        per_day,
        timedelta(hours=gap_hours),
        peaks,
        weekend,
        types,
        caption_limit,
        hashtag_limit,
        risk,
        reach_factor,
        media_rules=MEDIA_RULES.get(name, ()),
        api_max_posts_per_day=API_DAILY_CAPS.get(name),
    )


# Weekend peaks shift each weekday peak later by one to two hours, never past 22h.
DEFAULT_RULES: tuple[PlatformRules, ...] = (
    _rules(
        "tiktok", 5, 4, (10, 14, 18, 20), (11, 15, 19, 21), ("video", "short"), 2200, 8, 0.35, 0.08
    ),
    _rules("youtube", 2, 12, (12, 18), (13, 19), ("video",), 5000, 15, 0.2, 0.06),
    _rules(
        "instagram",
        4,
        6,
        (9, 12, 17, 21),
        (10, 13, 18, 21),
        ("reel", "post", "story"),
        2200,
        30,
        0.3,
        0.05,
    ),
    _rules("twitter", 8, 2, (8, 12, 16, 20), (9, 13, 17, 21), ("post",), 280, 3, 0.25, 0.03),
    _rules("linkedin", 2, 24, (8, 12, 17), (9, 13), ("post", "video"), 3000, 5, 0.1, 0.04),
)


@dataclass(frozen=True, slots=True)
class PostLimit:
    """A documented posting limit of a publisher's API, respected before sending: at most
    `posts` per `window`, per connected account or for the whole app (one API key / app).
    `utc_day` windows reset at 00:00 UTC instead of rolling."""

    publisher: str
    posts: int
    window: timedelta
    per: str = "account"  # "account" | "app"
    utc_day: bool = False
    source: str = ""


@dataclass(frozen=True, slots=True)
class PostCost:
    """What one post costs through a publisher's API (X bills per request)."""

    publisher: str
    per_post_usd: float
    per_link_post_usd: float
    source: str = ""


# From /work/shared/PLATFORM-APIS.md (sources and dates there; docs/publishing.md).
DEFAULT_POST_LIMITS: tuple[PostLimit, ...] = (
    PostLimit("x", 100, timedelta(minutes=15), "account", source="X rate limits, 2026-08-28"),
    PostLimit("x", 10_000, timedelta(hours=24), "app", source="X rate limits, 2026-08-28"),
    PostLimit("linkedin", 150, timedelta(days=1), "account", True, "Ayrshare, 2026"),
    PostLimit("postiz", 30, timedelta(hours=1), "app", source="Postiz API_LIMIT default"),
)
DEFAULT_POST_COSTS: tuple[PostCost, ...] = (
    PostCost("x", 0.015, 0.200, "docs.x.com pricing, 2026: Content: Create (with URL)"),
)


@dataclass(frozen=True)
class PlatformTable:
    """The platforms Herald knows, by lower-case name, and the posting limits and costs of
    the publishers' APIs (by publisher name: `x`, `linkedin`, `postiz`, ...)."""

    rules: Mapping[str, PlatformRules] = field(
        default_factory=lambda: {r.name: r for r in DEFAULT_RULES}
    )
    post_limits: tuple[PostLimit, ...] = DEFAULT_POST_LIMITS
    post_costs: tuple[PostCost, ...] = DEFAULT_POST_COSTS

    def __getitem__(self, name: str) -> PlatformRules:
        try:
            return self.rules[name.lower()]
        except KeyError:
            known = ", ".join(sorted(self.rules))
            raise InvalidInput(f"unknown platform {name!r} (known: {known})") from None

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self.rules

    def __iter__(self) -> Iterator[str]:
        return iter(self.rules)

    def names(self) -> list[str]:
        return list(self.rules)

    def with_overrides(self, overrides: Mapping[str, Mapping[str, Any]]) -> PlatformTable:
        """A table with some fields replaced or platforms added.

        Each override maps a platform to fields of `PlatformRules`; `min_gap_hours`
        stands for `min_gap`. A new platform must give every field except `weekend_peak_hours`
        (defaults to `peak_hours`), `risk` (0.3) and `reach_factor` (0.05).
        """
        merged = dict(self.rules)
        for raw_name, fields in overrides.items():
            name = raw_name.lower()
            values = dict(fields)
            if "min_gap_hours" in values:
                hours = values.pop("min_gap_hours")
                if isinstance(hours, bool) or not isinstance(hours, int | float):
                    raise InvalidInput(f"platform {name}: min_gap_hours must be a number")
                if not 0 <= hours <= 24 * 31:  # NaN fails this too
                    raise InvalidInput(f"platform {name}: min_gap_hours must be 0-744")
                values["min_gap"] = timedelta(hours=float(hours))
            for key in ("max_posts_per_day", "caption_limit", "hashtag_limit"):
                number = values.get(key)
                if key in values and (
                    isinstance(number, bool)
                    or not isinstance(number, int)
                    or not 0 <= number <= 1_000_000
                ):
                    raise InvalidInput(f"platform {name}: {key} must be a whole number 0-1000000")
            for key in ("risk", "reach_factor"):
                number = values.get(key)
                if key in values and (
                    isinstance(number, bool)
                    or not isinstance(number, int | float)
                    or not 0 <= number <= 1
                ):
                    raise InvalidInput(f"platform {name}: {key} must be a number 0-1")
            for key in ("peak_hours", "weekend_peak_hours", "content_types"):
                if key in values:
                    values[key] = tuple(values[key])
            if "media_rules" in values:
                values["media_rules"] = _media_rules(name, values["media_rules"])
            unknown = set(values) - set(PlatformRules.__dataclass_fields__)
            if unknown:
                raise InvalidInput(f"platform {name}: unknown fields {sorted(unknown)}")
            if name in merged:
                merged[name] = replace(merged[name], **values)
            else:
                values.setdefault("weekend_peak_hours", values.get("peak_hours", ()))
                values.setdefault("risk", 0.3)
                try:
                    merged[name] = PlatformRules(name=name, **values)
                except TypeError as exc:
                    raise InvalidInput(f"platform {name}: {exc}") from None
            rules = merged[name]
            if not all(0 <= h <= 23 for h in rules.peak_hours + rules.weekend_peak_hours):
                raise InvalidInput(f"platform {name}: peak hours must be 0-23")
            if rules.max_posts_per_day < 1:
                raise InvalidInput(f"platform {name}: max_posts_per_day must be at least 1")
        return replace(self, rules=merged)


def daily_cap(rules: PlatformRules, account_cap: int | None = None) -> int:
    """An account's daily cap: the stricter of the table's, the API's and the account's live
    one (Instagram's content_publishing_limit)."""
    caps = [rules.max_posts_per_day, rules.api_max_posts_per_day, account_cap]
    return min(c for c in caps if c is not None)


def _media_rules(name: str, raw: Any) -> tuple[MediaRule, ...]:
    """Media rules from a platforms file (a list of MediaRule fields)."""
    try:
        return tuple(
            r
            if isinstance(r, MediaRule)
            else MediaRule(
                **{
                    **r,
                    "kind": MediaKind(r["kind"]),
                    "mime_types": tuple(r.get("mime_types", ())),
                }
            )
            for r in raw
        )
    except (TypeError, KeyError, ValueError) as exc:
        raise InvalidInput(f"platform {name}: media_rules: {exc}") from None


DEFAULT_PLATFORMS = PlatformTable()
