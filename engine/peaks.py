"""Local peak hours as UTC intervals, per time zone and platform, DST included.

A post is "on peak" when its local hour (in the account's IANA zone, on that local
weekday) is one of the platform's peak hours (weekend hours on Saturday and Sunday;
seed 000's general windows when the platform has none). Every modern UTC offset is a
multiple of 15 minutes, so peak membership is constant within each UTC quarter-hour;
intervals are computed quarter by quarter (the local hours once per zone, then read per
platform) and merged, which handles DST days (a 23- or 25-hour local day) without special
cases.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from engine.errors import InvalidInput
from engine.platforms import GENERAL_PEAK_HOURS, PlatformRules

QUARTER = 900


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    """The ZoneInfo for `name`; InvalidInput when it is not an IANA zone."""
    try:
        return ZoneInfo(name)
    except Exception:  # ZoneInfoNotFoundError, ValueError, IsADirectoryError...
        raise InvalidInput(f"unknown time zone {name!r}") from None


def peak_hours_by_weekday(rules: PlatformRules) -> tuple[frozenset[int], ...]:
    """The peak hours for each local weekday (Monday first)."""
    weekday = frozenset(rules.peak_hours or GENERAL_PEAK_HOURS)
    weekend = frozenset(rules.weekend_peak_hours or rules.peak_hours or GENERAL_PEAK_HOURS)
    return (weekday,) * 5 + (weekend,) * 2


def is_peak(when: datetime, tz: str, rules: PlatformRules) -> bool:
    """True when `when` falls on one of the platform's peak hours in `tz`."""
    local = when.astimezone(zone(tz))
    return local.hour in peak_hours_by_weekday(rules)[local.weekday()]


@lru_cache(maxsize=4096)
def peak_intervals(
    tz: str, peaks: tuple[frozenset[int], ...], start: int, end: int
) -> tuple[tuple[int, int], ...]:
    """Merged half-open UTC epoch-second intervals [a, b) of peak time overlapping
    [start, end]. `peaks` is `peak_hours_by_weekday(rules)`."""
    first = start - start % QUARTER
    runs = _local_hours(tz, first, end)
    stop = first + ((end - first) // QUARTER + 1) * QUARTER if end >= first else first
    out: list[list[int]] = []
    for i, (q, weekday, hour) in enumerate(runs):
        if hour in peaks[weekday]:
            until = runs[i + 1][0] if i + 1 < len(runs) else stop
            if out and out[-1][1] == q:
                out[-1][1] = until
            else:
                out.append([q, until])
    return tuple((a, b) for a, b in out)


@lru_cache(maxsize=512)
def _local_hours(tz: str, first: int, end: int) -> tuple[tuple[int, int, int], ...]:
    """(UTC start, local weekday, local hour) of each run of UTC quarters from `first` up
    to `end` that share their local weekday and hour: worked out once per zone, then every
    platform's peak hours are read off it."""
    zi = zone(tz)
    runs: list[tuple[int, int, int]] = []
    last = (-1, -1)
    q = first
    while q <= end:
        local = datetime.fromtimestamp(q, zi)
        key = (local.weekday(), local.hour)
        if key != last:
            runs.append((q, *key))
            last = key
        q += QUARTER
    return tuple(runs)
