"""Per content item of a plan, in the request's queue order: slots, accounts and days.

`engine.planner.item_summary` counts the items that got slots, in order of first use; a
queue item that got none is exactly what an operator needs to see, so this report lists
every item of the request, unused ones with zeros (plan card, `herald plan`, `simulate`,
the API's plan answer).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from engine.planner import item_summary
from engine.request import DistributionRequest


class _ItemSlot(Protocol):
    @property
    def content_id(self) -> str: ...
    @property
    def account_id(self) -> str: ...
    @property
    def scheduled_at(self) -> datetime: ...


def item_report(request: DistributionRequest, slots: Sequence[_ItemSlot]) -> list[dict[str, Any]]:
    """One entry per item of `request` (queue order): `content_id`, `slots`, `accounts`,
    `days` (UTC dates); items with no slot have zeros and no days."""
    return report_items(request, item_summary(slots))


def report_items(
    request: DistributionRequest, summary: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """`item_report` from an item summary already counted (e.g. by the database:
    `engine.plan_summary.PlanSummary.items`)."""
    used = {entry["content_id"]: dict(entry) for entry in summary}
    out = [
        used.pop(item.id, {"content_id": item.id, "slots": 0, "accounts": 0, "days": []})
        for item in request.items
    ]
    # Slots of an item the request no longer names (a stored plan after an edit) still count.
    return out + list(used.values())


def unused_warnings(report: Sequence[dict[str, Any]]) -> list[str]:
    """A warning naming the queue items that got no slot (none when every item is used)."""
    unused = [entry["content_id"] for entry in report if not entry["slots"]]
    if not unused or len(report) < 2:
        return []  # a one-item plan with no slot says so itself
    names = ", ".join(unused[:10]) + (f" and {len(unused) - 10} more" if len(unused) > 10 else "")
    return [
        f"{len(unused)} of {len(report)} queue items got no slot ({names}): the accounts' "
        "posts (velocity x days each) do not reach them; more accounts, days or velocity would"
    ]
