"""The planner's messages say what is true: where library items are read, and how many
slots of a language really lack a translation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine.errors import InvalidRequest
from engine.models import PlannedSlot, PlanResult, RiskLevel
from engine.planner import check_request, request_warnings
from engine.platforms import DEFAULT_PLATFORMS
from engine.request import DistributionRequest, parse_request

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
QUEUE = [
    {"id": "q1", "caption": "Hello", "translations": {"es": "Hola"}},
    {"id": "q2", "caption": "Bye"},
]


def _request(queue: list[object]) -> DistributionRequest:
    return parse_request(
        {
            "queue": queue,
            "mode": "calendar",
            "platforms": ["tiktok"],
            "languages": ["en", "es"],
            "start": T0.isoformat(),
        }
    )


def _slot(content_id: str, language: str) -> PlannedSlot:
    return PlannedSlot(
        f"acc-{language}",
        "tiktok",
        language,
        T0,
        T0,
        "x",
        (),
        0.1,
        RiskLevel.LOW,
        content_id=content_id,
    )


class TestUnresolvedItems:
    def test_message_names_where_items_are_read(self) -> None:
        """A request naming library items is refused saying where they are read from."""
        with pytest.raises(InvalidRequest) as caught:
            check_request(_request(["q1", "q2"]), DEFAULT_PLATFORMS)
        message = str(caught.value)
        assert "inline" not in message
        assert "--library FILE" in message and "HERALD_DATABASE_URL" in message


class TestTranslationWarning:
    def test_counts_only_slots_of_items_without_the_translation(self) -> None:
        """Three Spanish slots of a translated item and two of an untranslated one: the
        warning counts two."""
        slots = [_slot("q1", "es")] * 3 + [_slot("q2", "es")] * 2 + [_slot("q1", "en")]
        warnings = request_warnings(_request(QUEUE), PlanResult(slots), ())
        assert "language 'es' has no translation: its 2 slot(s) carry the 'en' caption" in warnings

    def test_no_warning_when_every_scheduled_item_is_translated(self) -> None:
        """Only the translated item is scheduled in Spanish: nothing to warn about."""
        slots = [_slot("q1", "es"), _slot("q2", "en")]
        warnings = request_warnings(_request(QUEUE), PlanResult(slots), ())
        assert not any("has no translation" in w for w in warnings)
