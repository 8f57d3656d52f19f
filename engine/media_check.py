"""Plan-time media checks: would each slot's platform take the distribution's media?

Pure: the facts come from `MediaAsset`s (probed when stored), the rules from the platform
table, and per-account limits read live from an API (TikTok's creator_info) when known.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Protocol

from engine.durations import format_duration
from engine.media import AccountLimits, MediaAsset, MediaIssue, MediaKind, MediaRule
from engine.models import Account, PlanResult
from engine.platforms import PlatformRules, PlatformTable
from engine.repurpose import target_type

__all__ = [
    "AccountLimits",
    "check_media",
    "media_issues",
    "own_api_accounts",
    "private_only_notes",
    "with_media_checks",
]


class _SlotLike(Protocol):
    @property
    def account_id(self) -> str: ...
    @property
    def platform(self) -> str: ...
    @property
    def content_type(self) -> str: ...


def _size(n: int) -> str:
    for unit, factor in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n >= factor:
            return f"{n / factor:.1f} {unit}".replace(".0 ", " ")
    return f"{n} bytes"


def _seconds(s: float) -> str:
    from datetime import timedelta

    return format_duration(timedelta(seconds=round(s, 1))) if s >= 1 else f"{s:g} s"


def _mime_ok(mime: str, accepted: Sequence[str]) -> bool:
    mime = mime.lower()
    return any(mime == a or (a.endswith("/*") and mime.startswith(a[:-1])) for a in accepted)


def check_media(
    rules: PlatformRules,
    content_type: str,
    assets: Sequence[MediaAsset],
    *,
    limits: AccountLimits | None = None,
) -> list[str]:
    """Why `rules.name` would reject `assets` posted as `content_type` (empty: it takes them).

    A platform with no media rules for the content type is not checked."""
    candidates = [r for r in rules.media_rules if r.content_type == content_type]
    if not candidates:
        return []
    name = rules.name
    if not assets:
        if all(r.min_items >= 1 for r in candidates):
            kinds = " or ".join(dict.fromkeys(r.kind.value for r in candidates))
            return [f"{name} {content_type} needs a {kinds} file; the content has no media"]
        return []
    if any(a.kind is MediaKind.VIDEO for a in assets) and len(assets) > 1:
        return [f"a video is posted alone; the content has {len(assets)} files"]
    kind = assets[0].kind
    rule = next((r for r in candidates if r.kind == kind), None)
    if rule is None:
        takes = " or ".join(dict.fromkeys(r.kind.value for r in candidates))
        return [f"{name} {content_type} takes {takes}, not {kind.value}"]
    problems: list[str] = []
    if len(assets) > rule.max_items:
        problems.append(f"{name} takes at most {rule.max_items} {kind.value}s, got {len(assets)}")
    for asset in assets:
        problems += _check_one(name, rule, asset, limits)
    return problems


def _check_one(
    name: str, rule: MediaRule, asset: MediaAsset, limits: AccountLimits | None
) -> list[str]:
    label = asset.filename or asset.id
    out: list[str] = []
    if not _mime_ok(asset.mime_type, rule.mime_types):
        takes = ", ".join(m.split("/", 1)[1] for m in rule.mime_types)
        out.append(f"{label}: {asset.mime_type} is not taken by {name} (takes {takes})")
    if asset.size_bytes > rule.max_bytes:
        out.append(f"{label}: {_size(asset.size_bytes)} is over {name}'s {_size(rule.max_bytes)}")
    if asset.kind is MediaKind.VIDEO and asset.duration_s is not None:
        longest, whose = rule.max_duration_s, f"{name}'s"
        own = limits.max_video_duration_s if limits else None
        if own is not None and (longest is None or own < longest):
            longest, whose = own, "this account's"
        if longest is not None and asset.duration_s > longest:
            out.append(
                f"{label}: {_seconds(asset.duration_s)} long, over {whose} "
                f"{_seconds(longest)} limit"
            )
        if rule.min_duration_s is not None and asset.duration_s < rule.min_duration_s:
            out.append(
                f"{label}: {_seconds(asset.duration_s)} long, under {name}'s "
                f"{_seconds(rule.min_duration_s)} minimum"
            )
    ratio = asset.aspect_ratio
    low, high = rule.min_aspect, rule.max_aspect
    if ratio is not None and (
        (low is not None and ratio < low - 1e-3) or (high is not None and ratio > high + 1e-3)
    ):
        out.append(
            f"{label}: aspect ratio {asset.width}x{asset.height} ({ratio:.2f}) is outside "
            f"{name}'s {low or 0:.2f}-{high or 0:.2f}"
        )
    return out


def media_issues(
    slots: Sequence[_SlotLike],
    assets: Sequence[MediaAsset],
    platforms: PlatformTable,
    *,
    limits: Mapping[str, AccountLimits] | None = None,
    names: Mapping[str, str] | None = None,
) -> list[MediaIssue]:
    """The plan's media problems, grouped by platform, content type and reason; each issue
    lists the slots (by index) it concerns. Per-account limits make per-account issues
    (named by `names`, account id to handle)."""
    limits, names = limits or {}, names or {}
    grouped: dict[tuple[str, str, str, str | None], list[int]] = defaultdict(list)
    cache: dict[tuple[str, str, AccountLimits | None], list[str]] = {}
    for index, slot in enumerate(slots):
        if slot.platform not in platforms:
            continue
        account_limits = limits.get(slot.account_id)
        rules = platforms[slot.platform]
        # What the platform gets (repurposing): a video becomes an Instagram reel.
        mapped = target_type(slot.content_type, rules)
        ctype = mapped[0] if mapped else slot.content_type
        key = (slot.platform, ctype, account_limits)
        if key not in cache:
            cache[key] = check_media(rules, ctype, assets, limits=account_limits)
        for reason in cache[key]:
            who = slot.account_id if "this account's" in reason else None
            grouped[(slot.platform, ctype, reason, who)].append(index)
    return [
        MediaIssue(platform, ctype, reason, tuple(indices), who, names.get(who or ""))
        for (platform, ctype, reason, who), indices in grouped.items()
    ]


def own_api_accounts(accounts: Iterable[Account]) -> frozenset[str]:
    """Ids of the accounts that post through their platform's own API client (connected:
    `publisher` is the platform), the only ones an unaudited Herald client makes private;
    the simulated, webhook and other publishers post however they post."""
    return frozenset(a.id for a in accounts if a.publisher.strip().lower() == a.platform)


def private_only_notes(
    slots: Sequence[_SlotLike], platforms: PlatformTable, own_api: Collection[str] = ()
) -> list[str]:
    """Which platforms will show the plan's posts to their owners only (unaudited client):
    only slots of accounts in `own_api` (`own_api_accounts`) post through that client."""
    counts: dict[str, int] = defaultdict(int)
    for slot in slots:
        if slot.account_id not in own_api or slot.platform not in platforms:
            continue
        if platforms[slot.platform].private_only:
            counts[slot.platform] += 1
    return [
        f"{platform}: {n} post{'s' if n != 1 else ''} will be PRIVATE (visible to the account "
        f"only): Herald's {platform} API client has not passed {platform}'s audit yet"
        for platform, n in counts.items()
    ]


def with_media_checks(
    result: PlanResult,
    assets: Sequence[MediaAsset],
    platforms: PlatformTable,
    *,
    limits: Mapping[str, AccountLimits] | None = None,
    names: Mapping[str, str] | None = None,
    own_api: Collection[str] = (),
) -> PlanResult:
    """`result` with its media issues and private-only notes (as warnings too, for cards;
    `own_api`: see `private_only_notes`).

    Content without media names its content by id only (seed 001's `contentId`, made
    elsewhere): there is nothing to check then."""
    issues = (
        media_issues(result.slots, assets, platforms, limits=limits, names=names) if assets else []
    )
    notes = private_only_notes(result.slots, platforms, own_api)
    # Media problems first: a card shows only the first few warnings, and these block.
    warnings = [*(i.text() for i in issues), *notes, *result.warnings]
    return replace(result, media_issues=issues, warnings=warnings)
