"""The per-item report of a plan: queue order, unused items included, and their warning."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from engine.item_report import item_report, unused_warnings
from engine.models import PlannedSlot, RiskLevel
from engine.request import parse_request

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def slot(account: str, item: str, day: int) -> PlannedSlot:
    at = T0 + timedelta(days=day)
    return PlannedSlot(account, "x", "en", at, at, "c", (), 0.1, RiskLevel.LOW, content_id=item)


def queue(*ids: str):  # type: ignore[no-untyped-def]
    items = [{"id": i, "caption": f"Caption {i}"} for i in ids]
    return parse_request(
        {"queue": items, "mode": "calendar", "platforms": ["twitter"], "start": T0.isoformat()}
    )


class TestItemReport:
    def test_every_item_in_queue_order_with_zeros_for_unused(self) -> None:
        """Items come in the queue's order; one without slots has zeros and no days."""
        slots = [slot("a", "c", 1), slot("b", "a", 0), slot("a", "a", 2)]
        report = item_report(queue("a", "b", "c"), slots)
        assert report == [
            {"content_id": "a", "slots": 2, "accounts": 2, "days": ["2026-12-01", "2026-12-03"]},
            {"content_id": "b", "slots": 0, "accounts": 0, "days": []},
            {"content_id": "c", "slots": 1, "accounts": 1, "days": ["2026-12-02"]},
        ]

    def test_unused_items_are_named_in_one_warning(self) -> None:
        """A warning names the unused items; none when all are used or there is one item."""
        report = item_report(queue("a", "b", "c"), [slot("a", "a", 0)])
        [warning] = unused_warnings(report)
        assert warning.startswith("2 of 3 queue items got no slot (b, c)")
        assert unused_warnings(item_report(queue("a"), [])) == []
        assert (
            unused_warnings(item_report(queue("a", "b"), [slot("a", "a", 0), slot("a", "b", 1)]))
            == []
        )
