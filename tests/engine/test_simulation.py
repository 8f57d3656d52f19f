"""The simulation report: counts, visibility, reach and the recommended action."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from engine.models import Account, PlannedSlot, RiskLevel, SafetyMode, Slot
from engine.request import parse_request
from engine.simulation import simulate, visibility

REQUEST = parse_request(
    {"content": {"id": "c", "caption": "x"}, "platforms": ["twitter"], "start": "2026-11-23T00:00Z"}
)
ACCOUNT = Account(id="a", platform="twitter", handle="@a", timezone="UTC", followers=10_000)
PEAK = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)  # twitter peak 8h, Monday, UTC
OFF = datetime(2026, 11, 23, 3, 30, tzinfo=UTC)


def slot(at: datetime, risk: float, trend: float = 0.0) -> PlannedSlot:
    return PlannedSlot(
        "a", "twitter", "en", at, at, "x", (), risk, RiskLevel.from_score(risk), trend
    )


class TestSimulate:
    def test_counts_and_formulas(self) -> None:
        """Safe/risky counts, averages, peak share, visibility and reach follow the formulas."""
        slots = [slot(PEAK, 0.1, 0.5), slot(OFF, 0.5), slot(OFF, 0.65)]
        report = simulate(slots, [ACCOUNT], request=REQUEST, mode=SafetyMode.SEMI_AUTONOMOUS)
        assert (report.total_slots, report.safe_slots, report.risky_slots) == (3, 2, 1)
        assert report.avg_risk_score == round((0.1 + 0.5 + 0.65) / 3, 3)
        assert report.risk_breakdown == {"LOW": 1, "MEDIUM": 1, "HIGH": 1, "CRITICAL": 0}
        assert report.peak_share == round(1 / 3, 3)
        vs = [visibility(True, 0.1, 0.5), visibility(False, 0.5, 0), visibility(False, 0.65, 0)]
        assert report.visibility == {"twitter": round(sum(vs) / 3, 3)}
        assert report.estimated_reach == round(sum(10_000 * 0.03 * 2 * v for v in vs))
        assert report.recommended_action == "REVIEW"  # 1 of 3 risky > 20 %

    def test_proceed_when_clean(self) -> None:
        """Low-risk slots recommend PROCEED."""
        report = simulate(
            [slot(PEAK, 0.1)], [ACCOUNT], request=REQUEST, mode=SafetyMode.SEMI_AUTONOMOUS
        )
        assert report.recommended_action == "PROCEED"
        assert report.to_dict()["mode"] == "SEMI_AUTONOMOUS"

    def test_abort_on_critical_or_empty(self) -> None:
        """A CRITICAL slot or an empty plan recommends ABORT."""
        critical = simulate([slot(PEAK, 0.9)], [ACCOUNT], request=REQUEST, mode=SafetyMode.MANUAL)
        assert critical.recommended_action == "ABORT"
        empty = simulate([], [ACCOUNT], request=REQUEST, mode=SafetyMode.SEMI_AUTONOMOUS)
        assert empty.recommended_action == "ABORT" and empty.reasons == ["the plan has no slot"]

    def test_manual_reviews_and_full_autonomous_is_strict(self) -> None:
        """MANUAL always reviews; FULL_AUTONOMOUS counts a MEDIUM slot as risky."""
        manual = simulate([slot(PEAK, 0.1)], [ACCOUNT], request=REQUEST, mode=SafetyMode.MANUAL)
        assert manual.recommended_action == "REVIEW"
        full = simulate(
            [slot(PEAK, 0.35)] + [slot(PEAK, 0.1)] * 9,
            [ACCOUNT],
            request=REQUEST,
            mode=SafetyMode.FULL_AUTONOMOUS,
        )
        assert full.risky_slots == 1 and full.recommended_action == "PROCEED_WITH_CAUTION"

    def test_accepts_persisted_slots(self) -> None:
        """Persisted `Slot`s work the same as planned ones."""
        persisted = Slot(
            id="s1",
            distribution_id="d",
            seq=0,
            account_id="a",
            platform="twitter",
            language="en",
            timezone="UTC",
            scheduled_at=PEAK,
            due_at=PEAK,
            caption="x",
            hashtags=(),
            risk_score=0.1,
            risk_level=RiskLevel.LOW,
        )
        report = simulate([persisted], [ACCOUNT], request=REQUEST, mode=SafetyMode.SEMI_AUTONOMOUS)
        assert report.total_slots == 1 and report.peak_share == 1.0


class TestItems:
    def test_items_are_the_plan_reports_figures(self) -> None:
        """The report lists per item what the plan's item report says: queue order, then
        slots of items the request no longer names (here one with no id)."""
        from engine.item_report import item_report

        queue = parse_request(
            {
                "name": "q",
                "mode": "calendar",
                "platforms": ["twitter"],
                "start": "2026-11-30T00:00Z",
                "queue": [{"id": "i1", "caption": "One"}, {"id": "i2", "caption": "Two"}],
            }
        )
        slots = [replace(slot(PEAK, 0.1), content_id="i2"), replace(slot(OFF, 0.2), account_id="b")]
        report = simulate(slots, [ACCOUNT], request=queue, mode=SafetyMode.SEMI_AUTONOMOUS)
        assert report.items == item_report(queue, slots)
        assert [i["content_id"] for i in report.to_dict()["items"]] == ["i1", "i2", ""]
