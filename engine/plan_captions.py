"""Model-written translations and caption variants for a plan, applied without breaking rules.

Used by `DistributionService.plan` only when the advisor has a gateway: missing translations
are asked for before planning, per-account caption variants after it. A variant replaces
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
from engine.request import DistributionRequest
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
) -> tuple[DistributionRequest, dict[str, dict[str, Any]]]:
    """`request` with model translations added for requested languages its content lacks,
    and what was asked per language (source, agreement, caption)."""
    content = request.content
    source = advisor.writer.source_language
    missing = [
        lang
        for lang in dict.fromkeys(x.lower() for x in request.languages)
        if lang not in content.translations and lang != source
    ]
    if not missing or advisor.gateway is None:
        return request, {}
    info: dict[str, dict[str, Any]] = {}
    added: dict[str, str] = {}
    for variant in await advisor.translate(content, missing, plan_id=plan_id):
        info[variant.language] = {
            "source": variant.source,
            "translated": variant.translated,
            "agreement": variant.agreement,
            "caption": variant.caption if variant.translated else None,
        }
        if variant.translated:
            added[variant.language] = variant.caption
    if not added:
        return request, info
    translations = {**content.translations, **added}
    new_content = content.model_copy(update={"translations": translations})
    return request.model_copy(update={"content": new_content}), info


async def apply_caption_variants(
    advisor: Advisor,
    request: DistributionRequest,
    slots: Sequence[PlannedSlot],
    accounts: Mapping[str, Account],
    *,
    plan_id: str,
) -> tuple[list[PlannedSlot], dict[str, Any]]:
    """The slots with validated model captions where they keep the duplicate-gap rule,
    and a summary (applied, kept, refused, skipped groups, sources)."""
    out = list(slots)
    if advisor.gateway is None or not slots:
        return out, {}
    groups: dict[tuple[str, str], list[int]] = {}
    for i, slot in enumerate(slots):
        if slot.account_id in accounts:
            groups.setdefault((slot.platform.lower(), slot.language.lower()), []).append(i)
    asked = [i for idx in groups.values() if len(idx) <= MAX_GROUP for i in idx]
    skipped = sorted(f"{p}/{lang}" for (p, lang), idx in groups.items() if len(idx) > MAX_GROUP)
    summary: dict[str, Any] = {"applied": 0, "kept": len(slots), "skipped_groups": skipped}
    if not asked:
        return out, summary
    targets = [VariantTarget(accounts[slots[i].account_id], slots[i].language) for i in asked]
    variants = await advisor.caption_variants(request.content, targets, plan_id=plan_id)
    proposals = {
        i: v for i, v in zip(asked, variants, strict=True) if v.source.startswith("model:")
    }
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
