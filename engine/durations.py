"""Durations with units (`90s`, `15m`, `6h`, `7d`, `1h30m`), as users type them."""

from __future__ import annotations

import math
import re
from datetime import timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")
# Longer than any plan may run; the bound keeps `timedelta` and date arithmetic in range.
MAX_DURATION = timedelta(days=3660)


def _bounded(seconds: float, text: object) -> timedelta:
    if not math.isfinite(seconds) or abs(seconds) > MAX_DURATION.total_seconds():
        raise ValueError(f"{str(text)[:40]!r} is out of range (at most 3660 days)")
    return timedelta(seconds=seconds)


def parse_duration(text: str | float | int, *, default_unit: str = "m") -> timedelta:
    """Parse `90s`, `15m`, `6h`, `7d` or `1h30m`; a bare number is in `default_unit`.

    Raises ValueError with a message that shows an example of what is accepted.
    """
    if isinstance(text, bool):
        raise ValueError("a duration must be a number or text such as 15m, not true/false")
    if isinstance(text, int | float):
        return _bounded(float(text) * _UNITS[default_unit], text)
    raw = str(text).strip().lower().replace(" ", "")
    if not raw:
        raise ValueError("empty duration (write e.g. 90s, 15m, 6h or 7d)")
    try:
        number = float(raw)
    except (ValueError, OverflowError):
        number = None
    if number is not None:
        return _bounded(number * _UNITS[default_unit], text)
    pos = 0
    seconds = 0.0
    for match in _PART.finditer(raw):
        if match.start() != pos:
            break
        seconds += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(raw) or pos == 0:
        raise ValueError(f"{str(text)[:40]!r} is not a duration (write e.g. 90s, 15m, 6h or 7d)")
    return _bounded(seconds, text)


def format_duration(delta: timedelta) -> str:
    """The shortest readable form: `2h`, `1h30m`, `90s`."""
    total = round(delta.total_seconds())
    if total == 0:
        return "0s"
    sign = "-" if total < 0 else ""
    total = abs(total)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if total >= size:
            parts.append(f"{total // size}{unit}")
            total %= size
    return sign + "".join(parts)
