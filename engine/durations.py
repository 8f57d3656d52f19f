"""Durations with units (`90s`, `15m`, `6h`, `7d`, `1h30m`), as users type them."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")


def parse_duration(text: str | float | int, *, default_unit: str = "m") -> timedelta:
    """Parse `90s`, `15m`, `6h`, `7d` or `1h30m`; a bare number is in `default_unit`.

    Raises ValueError with a message that shows an example of what is accepted.
    """
    if isinstance(text, int | float) and not isinstance(text, bool):
        return timedelta(seconds=float(text) * _UNITS[default_unit])
    raw = str(text).strip().lower().replace(" ", "")
    if not raw:
        raise ValueError("empty duration (write e.g. 90s, 15m, 6h or 7d)")
    try:
        return timedelta(seconds=float(raw) * _UNITS[default_unit])
    except ValueError:
        pass
    pos = 0
    seconds = 0.0
    for match in _PART.finditer(raw):
        if match.start() != pos:
            break
        seconds += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(raw) or pos == 0:
        raise ValueError(f"{text!r} is not a duration (write e.g. 90s, 15m, 6h or 7d)")
    return timedelta(seconds=seconds)


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
