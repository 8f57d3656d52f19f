"""Model-written translations and caption variants for a plan, applied without breaking rules.

Used by `DistributionService.plan` only when the advisor has a gateway: missing translations
are asked for before planning and per-account caption variants after it, for every item of a
calendar queue (each from its own text). A variant replaces
a slot's deterministic caption only when it validated and identical caption + hashtags
stay at least `duplicate_gap` apart; otherwise the slot keeps its built-in caption.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from engine.advisor import Advisor
from engine.models import Account, PlannedSlot
from engine.request import Content, DistributionRequest
from engine.variants import CaptionVariant, VariantTarget

# A VariantSet answer holds at most 200 variants: larger groups keep built-in captions.
MAX_GROUP = 200

Key = tuple[str, tuple[str, ...]]


def caption_key(caption: str, hashtags: Sequence[str]) -> Key:
    """What "identical post" means here: caption up to case and spacing, same hashtag set."""
    tags = tuple(sorted(t.strip().lstrip("#").lower() for t in hashtags))
    return " ".join(caption.lower().split()), tags


async def add_translations(
    advisor: Advisor, request: DistributionRequest, *, plan_id: str
) -> tuple[DistributionRequest, dict[str, dict[str, dict[str, Any]]]]:
    """`request` with model translations added, item by item (every queue item, or the one
    content), for requested languages an item lacks; and per item id what was asked per
    language (source, agreement, caption).

    An item's own translations are never asked for again. Items are asked one after
    another, all of an item's languages at once, so a spent budget stops at an item
    boundary: later items keep their own translations and the built-in fallback (the
    first language's caption) instead of racing for the last cents."""
    if advisor.gateway is None:
        return request, {}
    source = advisor.writer.source_language
    languages = list(dict.fromkeys(x.lower() for x in request.languages))
    info: dict[str, dict[str, dict[str, Any]]] = {}
    translated: dict[str, Content] = {}
    for item in request.items:
        missing = [x for x in languages if x not in item.translations and x != source]
        if not missing or item.id in translated:
            continue
        added: dict[str, str] = {}
        for variant in await advisor.translate(item, missing, plan_id=plan_id):
            info.setdefault(item.id, {})[variant.language] = {
                "source": variant.source,
                "translated": variant.translated,
                "agreement": variant.agreement,
                "caption": variant.caption if variant.translated else None,
            }
            if variant.translated:
                added[variant.language] = variant.caption
        if added:
            update = {"translations": {**item.translations, **added}}
            translated[item.id] = item.model_copy(update=update)
    return request.with_items(translated), info


async def apply_caption_variants(
    advisor: Advisor,
    request: DistributionRequest,
    slots: Sequence[PlannedSlot],
    accounts: Mapping[str, Account],
    *,
    plan_id: str,
) -> tuple[list[PlannedSlot], dict[str, Any]]:
    """The slots with validated model captions where they keep the duplicate-gap rule,
    and a summary (applied, kept, refused, skipped groups, sources).

    Each slot's variant is written from its own item (`content_id`): the models are asked
    per item, per (platform, language) group, so a queue's slots never borrow another
    item's text. Groups larger than one answer can hold keep their built-in captions."""
    out = list(slots)
    if advisor.gateway is None or not slots:
        return out, {}
    items = {item.id: item for item in request.items}
    groups: dict[tuple[str, str, str], list[int]] = {}
    for i, slot in enumerate(slots):
        if slot.account_id in accounts:
            item = slot.content_id if slot.content_id in items else request.items[0].id
            key = (item, slot.platform.lower(), slot.language.lower())
            groups.setdefault(key, []).append(i)
    skipped = sorted(
        {f"{p}/{lang}" for (_, p, lang), idx in groups.items() if len(idx) > MAX_GROUP}
    )
    summary: dict[str, Any] = {"applied": 0, "kept": len(slots), "skipped_groups": skipped}
    asked: dict[str, list[int]] = {}
    for (item, _, _), idx in groups.items():
        if len(idx) <= MAX_GROUP:
            asked.setdefault(item, []).extend(idx)
    if not asked:
        return out, summary
    proposals: dict[int, CaptionVariant] = {}
    for item, indexes in asked.items():  # in order of first use; a spent budget stops here
        targets = [VariantTarget(accounts[slots[i].account_id], slots[i].language) for i in indexes]
        variants = await advisor.caption_variants(items[item], targets, plan_id=plan_id)
        proposals.update(
            (i, v) for i, v in zip(indexes, variants, strict=True) if v.source.startswith("model:")
        )
    out, applied = replace_within_gap(out, proposals, request.duplicate_gap)
    summary.update(
        applied=applied,
        kept=len(slots) - applied,
        # Validated, but identical to a post less than duplicate_gap away.
        refused=len(proposals) - applied,
        sources=sorted({v.source for v in proposals.values()}),
    )
    return out, summary


def replace_within_gap(
    slots: Sequence[PlannedSlot], proposals: Mapping[int, CaptionVariant], gap: timedelta
) -> tuple[list[PlannedSlot], int]:
    """Apply each proposal (slot index -> variant), in time order, unless an identical
    post of another slot would then be closer than `gap`. Returns the slots and how
    many proposals were applied. Pairs that kept the rule before still keep it."""
    out = list(slots)
    uses: dict[Key, list[tuple[datetime, int]]] = {}
    for i, slot in enumerate(out):
        bisect.insort(
            uses.setdefault(caption_key(slot.caption, slot.hashtags), []), (slot.scheduled_at, i)
        )
    applied = 0
    for i in sorted(proposals, key=lambda j: (out[j].scheduled_at, j)):
        slot, variant = out[i], proposals[i]
        key = caption_key(variant.caption, variant.hashtags)
        old = caption_key(slot.caption, slot.hashtags)
        if key != old and _too_close(uses.get(key, []), slot.scheduled_at, gap, i):
            continue  # keep the deterministic caption: the planner placed it legally
        uses[old].remove((slot.scheduled_at, i))
        bisect.insort(uses.setdefault(key, []), (slot.scheduled_at, i))
        out[i] = replace(
            slot,
            caption=variant.caption,
            hashtags=tuple(variant.hashtags),
            variant_id=variant.variant_id,
        )
        applied += 1
    return out, applied


def _too_close(times: list[tuple[datetime, int]], at: datetime, gap: timedelta, me: int) -> bool:
    """Whether another slot in `times` (sorted) is strictly less than `gap` from `at`."""
    start = bisect.bisect_left(times, (at - gap, -1))
    for when, index in times[start:]:
        if when >= at + gap:
            return False
        if index != me and abs(when - at) < gap:
            return True
    return False
