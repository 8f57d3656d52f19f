"""What a plan card shows about a plan's slots, without the slots themselves.

The card shows slot counts per platform and UTC day, per risk level and per content
item, how many accounts, and the first and last post. Rendering it from every slot cost
the serving process ~1 s of event-loop CPU per redraw of a 10 000-slot run (mapping
10 000 rows), stalling Slack acks and API answers meanwhile; so the repository answers
`UnitOfWork.plan_summary` with a few GROUP BY queries, and `summarize_slots` computes
the same from slots in memory (the plan preview, the memory repository, tests).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from engine.models import RiskLevel


class _SummarySlot(Protocol):
    @property
    def platform(self) -> str: ...
    @property
    def account_id(self) -> str: ...
    @property
    def content_id(self) -> str: ...
    @property
    def scheduled_at(self) -> datetime: ...
    @property
    def risk_level(self) -> RiskLevel: ...
    @property
    def risk_score(self) -> float: ...


@dataclass(frozen=True)
class PlanSummary:
    """Counts over a plan's slots. `per_platform_day` is keyed by (platform, UTC date
    "YYYY-MM-DD"); `items` has `engine.planner.item_summary`'s shape (content_id, slots,
    accounts, days), in order of first use."""

    slots: int = 0
    accounts: int = 0
    first_at: datetime | None = None
    last_at: datetime | None = None
    per_platform_day: dict[tuple[str, str], int] = field(default_factory=dict)
    risk_levels: dict[RiskLevel, int] = field(default_factory=dict)
    max_risk: float = 0.0
    items: list[dict[str, Any]] = field(default_factory=list)


def summarize_slots(slots: Sequence[_SummarySlot]) -> PlanSummary:
    """The summary of `slots` (items in order of first appearance in `slots`)."""
    if not slots:
        return PlanSummary()
    per_day: Counter[tuple[str, str]] = Counter()
    levels: Counter[RiskLevel] = Counter()
    items: dict[str, tuple[int, set[str], set[str]]] = {}
    accounts: set[str] = set()
    for slot in slots:
        day = slot.scheduled_at.strftime("%Y-%m-%d")
        per_day[(slot.platform, day)] += 1
        levels[slot.risk_level] += 1
        accounts.add(slot.account_id)
        count, item_accounts, days = items.get(slot.content_id, (0, set(), set()))
        item_accounts.add(slot.account_id)
        days.add(day)
        items[slot.content_id] = (count + 1, item_accounts, days)
    return PlanSummary(
        slots=len(slots),
        accounts=len(accounts),
        first_at=min(slot.scheduled_at for slot in slots),
        last_at=max(slot.scheduled_at for slot in slots),
        per_platform_day=dict(per_day),
        risk_levels=dict(levels),
        max_risk=max(slot.risk_score for slot in slots),
        items=[
            {"content_id": cid, "slots": n, "accounts": len(acc), "days": sorted(days)}
            for cid, (n, acc, days) in items.items()
        ],
    )
