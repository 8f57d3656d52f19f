"""Pure anomaly detection over a run's outcomes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.anomalies import AnomalyThresholds, Outcome, detect
from engine.models import RiskLevel
from tests.engine.execution_support import T0


def _outcomes(kinds: list[str], *, step: timedelta = timedelta(minutes=1)) -> list[Outcome]:
    return [Outcome(T0 + step * i, f"acct-{i}", kind) for i, kind in enumerate(kinds)]


class TestDetect:
    def test_quiet_run_has_no_anomalies(self) -> None:
        """Mostly successes with one failure is not an anomaly."""
        assert detect(_outcomes(["published"] * 20 + ["network"]), AnomalyThresholds()) == []

    def test_several_accounts_rate_limited_within_the_window(self) -> None:
        """Three accounts rate-limited within 30 min is a HIGH anomaly."""
        found = detect(_outcomes(["rate_limit"] * 3), AnomalyThresholds())
        assert [a.kind for a in found] == ["rate_limits"] and found[0].level == RiskLevel.HIGH

    def test_rate_limits_spread_beyond_the_window_are_not_counted(self) -> None:
        """Three rate limits an hour apart do not trigger a 30-minute window."""
        assert (
            detect(_outcomes(["rate_limit"] * 3, step=timedelta(hours=1)), AnomalyThresholds())
            == []
        )

    def test_failure_spike_needs_enough_samples(self) -> None:
        """A 60 % failure rate over 10 outcomes is a spike; over 5 it is not judged."""
        kinds = ["network", "unknown", "published"] * 3 + ["network"]
        assert [a.kind for a in detect(_outcomes(kinds), AnomalyThresholds())] == ["failure_spike"]
        assert detect(_outcomes(kinds[:5]), AnomalyThresholds()) == []

    def test_suspensions_are_critical_and_listed_first(self) -> None:
        """Two suspensions are CRITICAL and come before other anomalies."""
        found = detect(
            _outcomes(["suspended", "suspended", "rate_limit", "rate_limit", "rate_limit"]),
            AnomalyThresholds(),
        )
        assert found[0].kind == "suspensions" and found[0].level == RiskLevel.CRITICAL

    def test_thresholds_are_validated(self) -> None:
        """A failure rate outside (0, 1] is refused."""
        with pytest.raises(ValueError, match="failure_rate"):
            AnomalyThresholds(failure_rate=0)
