"""Herald's Prometheus metrics, through prometheus-client: counters and histograms the bot
and the domain-event observer feed, and gauges read from the database at scrape time.

The engine never imports this: `MetricsNotifier` hears domain events via `add_notifier`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from engine.event_kinds import EventKind
from engine.models import Event

# Fire lateness: how long after its due time a slot was published (seconds).
LATENESS_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600)
ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3)

# What a slot event means for `herald_publishes_total{outcome}`.
OUTCOMES = {
    EventKind.SLOT_PUBLISHED: "published",
    EventKind.SLOT_FAILED: "failed",
    EventKind.SLOT_OUTCOME_UNKNOWN: "unknown",
    EventKind.SLOT_SKIPPED: "skipped",
}

# Gauges read at scrape time: name -> help.
SCRAPED = {
    "herald_slots_due": "Queued or retry-scheduled slots of running distributions now due",
    "herald_slots_claimed": "Slots claimed by a dispatcher and not yet resolved",
    "herald_slots_in_doubt": "Slots whose publish outcome is unknown (OUTCOME_UNKNOWN)",
    "herald_oldest_due_slot_age_seconds": "Age of the oldest due, unpublished slot (0: none)",
    "herald_outbox_depth": "Slack messages waiting in the outbox",
    "herald_outbox_oldest_age_seconds": "Age of the oldest undelivered outbox entry (0: none)",
    "herald_last_tick_age_seconds": "Seconds since this replica's dispatcher last ticked",
    "herald_dispatcher_healthy": "1 while this replica's dispatcher ticks, else 0",
}


# Model families litellm recognises without a `provider/` prefix (its own routing table is
# litellm's; this is only for the metric label, and never imports litellm).
BARE_MODEL_PROVIDERS = (
    (("gpt-", "o1", "o3", "o4", "chatgpt-", "text-embedding-"), "openai"),
    (("claude",), "anthropic"),
    (("gemini",), "gemini"),
    (("grok",), "xai"),
    (("mistral", "mixtral", "codestral"), "mistral"),
    (("command",), "cohere"),
)


def provider_of(model: str) -> str:
    """The provider of a litellm model string: its `provider/` prefix (`ollama/llama3` →
    ollama), else the family of a bare name (`gpt-4o` → openai), else "unknown"."""
    model = model.strip().lower()
    if "/" in model:
        return model.split("/", 1)[0] or "unknown"
    for prefixes, provider in BARE_MODEL_PROVIDERS:
        if model.startswith(prefixes):
            return provider
    return "unknown"


class _Totals(Collector):
    """Counters whose values are read elsewhere (the database) and replaced at each scrape:
    a series that is no longer read disappears instead of lingering."""

    def __init__(self) -> None:
        self.families: dict[str, tuple[Sequence[str], Mapping[tuple[str, ...], float]]] = {}

    def collect(self) -> Iterator[Metric]:
        for name, (labels, values) in sorted(self.families.items()):
            family = CounterMetricFamily(name, _help(name), labels=list(labels))
            for key, value in sorted(values.items()):
                family.add_metric(list(key), value)
            yield family


class Metrics:
    """One registry: named counters (`inc`), histograms (`observe`), gauges (`set`, or
    callables read at scrape time) created on first use, and counters read from elsewhere
    (`totals`)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._counters: dict[str, Counter] = {}
        self._histograms: dict[str, Histogram] = {}
        self._gauges: dict[str, Gauge] = {}
        self._reads: dict[str, Callable[[], float]] = {}
        self._totals = _Totals()
        self.registry.register(self._totals)

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        base = name.removesuffix("_total")
        counter = self._counters.get(base)
        if counter is None:
            counter = Counter(base, _help(base), sorted(labels), registry=self.registry)
            self._counters[base] = counter
        (counter.labels(**labels) if labels else counter).inc(amount)

    def observe(self, name: str, value: float, **labels: str) -> None:
        histogram = self._histograms.get(name)
        if histogram is None:
            buckets = LATENESS_BUCKETS if "lateness" in name else ACK_BUCKETS
            histogram = Histogram(
                name, _help(name), sorted(labels), buckets=buckets, registry=self.registry
            )
            self._histograms[name] = histogram
        (histogram.labels(**labels) if labels else histogram).observe(value)

    def set(self, name: str, value: float, **labels: str) -> None:
        gauge = self._gauges.get(name)
        if gauge is None:
            gauge = Gauge(
                name, SCRAPED.get(name, _help(name)), sorted(labels), registry=self.registry
            )
            self._gauges[name] = gauge
        (gauge.labels(**labels) if labels else gauge).set(value)

    def totals(
        self, name: str, labels: Sequence[str], values: Mapping[tuple[str, ...], float]
    ) -> None:
        """Expose counter `name` (without `_total`) with exactly `values` (label values in
        the order of `labels` -> count), as read from a store that keeps the count."""
        self._totals.families[name.removesuffix("_total")] = (tuple(labels), dict(values))

    def gauge(self, name: str, read: Callable[[], float]) -> None:
        """A gauge whose value `read()` gives at each scrape."""
        self._reads[name] = read

    def value(self, name: str, **labels: str) -> float:
        """The current value of a counter (0 when never incremented)."""
        sample = self.registry.get_sample_value(name, labels or None)
        if sample is None and not name.endswith("_total"):
            sample = self.registry.get_sample_value(f"{name}_total", labels or None)
        return float(sample or 0.0)

    def render(self) -> str:
        """The Prometheus text exposition of everything recorded."""
        for name, read in self._reads.items():
            try:
                self.set(name, float(read()))
            except Exception:  # a broken gauge must not break the scrape
                continue
        return generate_latest(self.registry).decode()


class MetricsNotifier:
    """Counts publish outcomes, retries, redistributions and fire lateness from domain
    events (registered with `herald.add_notifier`)."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    async def notify(self, event: Event) -> None:
        data: dict[str, Any] = event.data or {}
        platform = str(data.get("platform", "unknown"))
        outcome = OUTCOMES.get(EventKind(event.kind)) if _known(event.kind) else None
        if outcome is not None:
            self.metrics.inc("herald_publishes_total", platform=platform, outcome=outcome)
        if event.kind == EventKind.SLOT_PUBLISHED and "lateness_s" in data:
            lateness = max(0.0, float(data["lateness_s"]))
            self.metrics.observe("herald_fire_lateness_seconds", lateness, platform=platform)
        elif event.kind == EventKind.SLOT_RETRY_SCHEDULED:
            self.metrics.inc("herald_retries_total", platform=platform)
        elif event.kind == EventKind.SLOT_REDISTRIBUTED:
            self.metrics.inc("herald_redistributions_total", platform=platform)


def _known(kind: str) -> bool:
    return kind in EventKind._value2member_map_


def _help(name: str) -> str:
    return name.removeprefix("herald_").replace("_", " ")


def age_seconds(now: datetime, then: datetime | None) -> float:
    """Seconds from `then` to `now`, 0 when there is nothing."""
    return max(0.0, (now - then).total_seconds()) if then is not None else 0.0
