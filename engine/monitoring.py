"""Watches a running distribution's outcomes and pauses it when anomalies appear.

The dispatcher feeds every publish outcome to `RunMonitor.observe`; `RunMonitor.enforce`
detects anomalies (`engine.anomalies`) and, when there are any, moves the distribution
from EXECUTING to PAUSED and appends a `risk.alert` event in one transaction.
The window is per process: with several workers each sees its share of outcomes.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field

from engine.anomalies import Anomaly, AnomalyThresholds, Outcome, detect, worst_level
from engine.errors import ConcurrentModification, IllegalTransition
from engine.event_kinds import EventKind
from engine.lifecycle import advance_distribution
from engine.models import SYSTEM, DistributionStatus, Event, new_event_id
from engine.ports import Clock, Notifier, Repository

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class MonitorConfig:
    """Thresholds plus whether an anomaly pauses the run (else it only alerts)."""

    thresholds: AnomalyThresholds = field(default_factory=AnomalyThresholds)
    auto_pause: bool = True
    max_outcomes: int = 2000


class RunMonitor:
    """Keeps recent outcomes per distribution and acts on anomalies."""

    def __init__(
        self,
        repository: Repository,
        clock: Clock,
        notifier: Notifier,
        config: MonitorConfig | None = None,
    ) -> None:
        self._repository = repository
        self._clock = clock
        self._notifier = notifier
        self.config = config or MonitorConfig()
        self._outcomes: dict[str, deque[Outcome]] = {}

    def observe(self, distribution_id: str, outcome: Outcome) -> None:
        """Record one publish outcome of a distribution."""
        window = self._outcomes.setdefault(distribution_id, deque(maxlen=self.config.max_outcomes))
        window.append(outcome)

    def anomalies(self, distribution_id: str) -> list[Anomaly]:
        """The anomalies in the distribution's recent outcomes (pure, changes nothing)."""
        return detect(self._outcomes.get(distribution_id, ()), self.config.thresholds)

    async def enforce(self, distribution_id: str) -> list[Anomaly]:
        """Detect anomalies; if any, pause the distribution (if configured) and alert.

        The window is cleared after an alert, so a human who resumes starts afresh.
        Returns the anomalies acted on.
        """
        found = self.anomalies(distribution_id)
        if not found:
            return []
        self._outcomes.pop(distribution_id, None)
        now = self._clock.now()
        events: list[Event] = []
        try:
            async with self._repository.unit_of_work() as uow:
                distribution = await uow.get_distribution(distribution_id)
                paused = False
                if self.config.auto_pause and distribution.status == DistributionStatus.EXECUTING:
                    before = distribution.status
                    distribution.status = advance_distribution(before, "pause")
                    distribution.updated_at = now
                    await uow.save_distribution(distribution)
                    paused = True
                    events.append(
                        Event(
                            new_event_id(),
                            now,
                            EventKind.DISTRIBUTION_PAUSED,
                            SYSTEM.id,
                            distribution_id,
                            before={"status": str(before)},
                            after={"status": str(distribution.status)},
                            data={"reason": "; ".join(a.reason for a in found), "auto": True},
                        )
                    )
                level = worst_level(found)
                events.append(
                    Event(
                        new_event_id(),
                        now,
                        EventKind.RISK_ALERT,
                        SYSTEM.id,
                        distribution_id,
                        data={
                            "level": str(level),
                            "reason": "; ".join(a.reason for a in found),
                            "anomalies": [a.to_dict() for a in found],
                            "paused": paused,
                            "distribution_name": distribution.name,
                        },
                    )
                )
                for event in events:
                    await uow.append_event(event)
        except (ConcurrentModification, IllegalTransition) as exc:
            # Someone changed the distribution first (paused, cancelled): nothing to enforce.
            log.info("monitor: %s changed meanwhile (%s)", distribution_id, exc)
            return []
        for event in events:
            await self._notifier.notify(event)
        return found
