"""The API's answers and handlers reuse the engine's definitions instead of copies: the
simulation figures are declared once, and the lifecycle endpoints are one handler whose
body fields are the service method's keywords."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime

import pytest

from bot.api import distributions
from bot.api import schemas as s
from bot.api.core import ROUTES
from engine.models import Account, PlannedSlot, RiskLevel, SafetyMode
from engine.request import parse_request
from engine.service import DistributionService
from engine.simulation import SimulationReport, simulate

AT = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
LIFECYCLE = ("approve", "reject", "start", "pause", "resume", "cancel", "halt")


class TestSimulationAnswer:
    def test_api_answer_carries_every_report_figure(self) -> None:
        """Every field of the engine's report is in the API's answer, with the same value."""
        request = parse_request(
            {
                "content": {"id": "c", "caption": "x"},
                "platforms": ["twitter"],
                "start": "2026-11-23T00:00Z",
            }
        )
        account = Account(id="a", platform="twitter", handle="@a", timezone="UTC", followers=10)
        slot = PlannedSlot(
            "a", "twitter", "en", AT, AT, "x", (), 0.1, RiskLevel.LOW, content_id="c"
        )
        report = simulate([slot], [account], request=request, mode=SafetyMode.SEMI_AUTONOMOUS)
        assert set(SimulationReport.model_fields) <= set(s.SimulationOut.model_fields)
        answer = s.SimulationOut.model_validate(report.to_dict()).model_dump()
        assert {k: answer[k] for k in report.to_dict()} == report.to_dict()


class TestLifecycleRoutes:
    @pytest.mark.parametrize("action", LIFECYCLE)
    def test_body_fields_are_the_service_keywords(self, action: str) -> None:
        """Each lifecycle endpoint exists once, and its body's fields are keywords of the
        service method it calls (the one handler passes them through by name)."""
        (route,) = [r for r in ROUTES if r.path == f"{distributions.ID}/{action}"]
        assert route.method == "POST" and route.response is s.DistributionOut
        keywords = inspect.signature(getattr(DistributionService, action)).parameters
        fields = route.body.model_fields if route.body is not None else {}
        assert set(fields) <= set(keywords)
