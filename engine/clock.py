"""Clocks: the only place Herald asks what time it is.

The core never calls `datetime.now()`; it is handed a `Clock`. `ScaledClock` runs
faster than the wall (the demo runs a 6-hour window in ~30 s); `ManualClock` moves only
when a test tells it to.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta


def utc(value: datetime) -> datetime:
    """The same instant in UTC; a naive value is rejected rather than guessed."""
    if value.tzinfo is None:
        raise ValueError(f"{value.isoformat()} has no time zone; Herald stores UTC only")
    return value.astimezone(UTC)


class SystemClock:
    """Wall-clock time in UTC."""

    speed = 1.0

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class ScaledClock:
    """Time that starts at `start` and runs `speed` times faster than the wall.

    With `running=False` it stands still at `start` until `resume()` (the demo sets up its
    plan on a stopped clock, so set-up time does not eat into the compressed window).
    """

    def __init__(self, start: datetime, speed: float, *, running: bool = True) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._start = utc(start)
        self._origin: float | None = time.monotonic() if running else None
        self.speed = speed

    def now(self) -> datetime:
        if self._origin is None:
            return self._start
        elapsed = (time.monotonic() - self._origin) * self.speed
        return self._start + timedelta(seconds=elapsed)

    def monotonic(self) -> float:
        """Wall seconds: budgets and throttles stay in real time at any speed."""
        return time.monotonic()

    def pause(self) -> None:
        """Stop time where it is."""
        self._start, self._origin = self.now(), None

    def resume(self) -> None:
        """Let time run again from where it stopped."""
        if self._origin is None:
            self._origin = time.monotonic()

    async def sleep(self, seconds: float) -> None:
        """Sleep `seconds` of this clock's time."""
        await asyncio.sleep(max(0.0, seconds) / self.speed)


class ManualClock:
    """Time that moves only through `advance` or `set`; `sleep` advances it."""

    speed = 1.0

    def __init__(self, start: datetime) -> None:
        self._now = utc(start)
        self._skipped = 0.0  # seconds `advance`/`sleep` added to the steady counter

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        """Wall seconds plus every second this clock was advanced: throttles and caches
        keyed on it expire when a test advances the clock, and never run backwards."""
        return time.monotonic() + self._skipped

    def advance(self, delta: timedelta) -> None:
        self._now += delta
        self._skipped += max(0.0, delta.total_seconds())

    def set(self, value: datetime) -> None:
        value = utc(value)
        self._skipped += max(0.0, (value - self._now).total_seconds())
        self._now = value

    async def sleep(self, seconds: float) -> None:
        self.advance(timedelta(seconds=max(0.0, seconds)))
        await asyncio.sleep(0)
