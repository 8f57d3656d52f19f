"""In-process counters and latency summaries, rendered in Prometheus' text format.

Small on purpose: a handful of counters and one latency window per request kind; no
dependency on prometheus_client.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable


class Metrics:
    """Counters (`inc`), gauges (callables read at scrape time) and latency windows."""

    def __init__(self, window: int = 2048) -> None:
        self.counters: dict[tuple[str, tuple[tuple[str, str], ...]], float] = defaultdict(float)
        self.gauges: dict[str, Callable[[], float]] = {}
        self.latencies: dict[str, deque[float]] = defaultdict(lambda: deque(maxlen=window))

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        self.counters[(name, tuple(sorted(labels.items())))] += amount

    def gauge(self, name: str, read: Callable[[], float]) -> None:
        self.gauges[name] = read

    def observe(self, name: str, seconds: float) -> None:
        self.latencies[name].append(seconds)

    def value(self, name: str, **labels: str) -> float:
        return self.counters.get((name, tuple(sorted(labels.items()))), 0.0)

    def render(self) -> str:
        """The Prometheus text exposition of everything recorded."""
        lines: list[str] = []
        seen: set[str] = set()
        for (name, labels), value in sorted(self.counters.items()):
            if name not in seen:
                lines.append(f"# TYPE {name} counter")
                seen.add(name)
            lines.append(f"{name}{_labels(labels)} {value:g}")
        for name, read in sorted(self.gauges.items()):
            try:
                value = float(read())
            except Exception:  # a broken gauge must not break the scrape
                continue
            lines += [f"# TYPE {name} gauge", f"{name} {value:g}"]
        for name, window in sorted(self.latencies.items()):
            values = sorted(window)
            if not values:
                continue
            lines.append(f"# TYPE {name} summary")
            for q in (0.5, 0.99):
                index = min(len(values) - 1, int(q * len(values)))
                lines.append(f'{name}{{quantile="{q}"}} {values[index]:.6f}')
            lines += [f"{name}_count {len(values)}", f"{name}_sum {sum(values):.6f}"]
        return "\n".join(lines) + "\n"


def _labels(labels: tuple[tuple[str, str], ...]) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{v}"' for k, v in labels)
    return "{" + inner + "}"
