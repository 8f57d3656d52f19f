"""Trend scoring for slots, and a file-backed `TrendSource` (stdlib only).

A `Trend` says a topic is strong on a platform during UTC hours [start_hour, end_hour)
(a range with start > end wraps past midnight). A slot's trend score is the strongest
matching trend's score, clamped to [0, 1]; 0 when nothing matches.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from engine.errors import InvalidInput
from engine.ports import Trend


def _covers(trend: Trend, hour: int) -> bool:
    if trend.start_hour <= trend.end_hour:
        return trend.start_hour <= hour < trend.end_hour
    return hour >= trend.start_hour or hour < trend.end_hour


def trend_score(trends: Sequence[Trend], platform: str, when_utc: datetime) -> float:
    """The strongest trend on `platform` covering `when_utc`'s UTC hour, in [0, 1]."""
    if not trends:
        return 0.0
    hour = when_utc.utctimetuple().tm_hour
    best = 0.0
    for trend in trends:
        if trend.platform == platform and _covers(trend, hour) and trend.score > best:
            best = trend.score
    return round(min(1.0, best), 3)


def hourly_scores(trends: Sequence[Trend], platform: str) -> tuple[float, ...]:
    """`trend_score` for each UTC hour 0-23 (planners look it up per slot)."""
    scores = [0.0] * 24
    for trend in trends:
        if trend.platform != platform:
            continue
        for hour in range(24):
            if _covers(trend, hour) and trend.score > scores[hour]:
                scores[hour] = trend.score
    return tuple(round(min(1.0, s), 3) for s in scores)


def _trend_from(item: Any, where: str) -> Trend:
    if not isinstance(item, dict):
        raise InvalidInput(f"{where}: expected an object with platform, topic, score")
    try:
        platform = str(item["platform"]).strip().lower()
        topic = str(item.get("topic", "")).strip()
        score = float(item["score"])
        start = int(item.get("start_hour", 0) or 0)
        end = int(item.get("end_hour", 24) or 24)
    except KeyError as exc:
        raise InvalidInput(f"{where}: missing {exc.args[0]}") from None
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{where}: {exc}") from None
    if not platform:
        raise InvalidInput(f"{where}: platform is empty")
    if not 0.0 <= score <= 1.0:
        raise InvalidInput(f"{where}: score {score:g} is outside 0..1")
    if not (0 <= start <= 23 and 1 <= end <= 24):
        raise InvalidInput(f"{where}: hours must be start 0-23 and end 1-24")
    return Trend(platform, topic, score, start, end)


def parse_trends(text: str, *, source: str = "trends file") -> list[Trend]:
    """Parse trends from JSON (a list, or {"trends": [...]}) or CSV
    (`platform,topic,score,start_hour,end_hour`). Raises InvalidInput naming the entry."""
    stripped = text.strip()
    if not stripped:
        return []
    if stripped[0] in "[{":
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{source}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
        items = data.get("trends", []) if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise InvalidInput(f"{source}: expected a list of trends")
        return [_trend_from(item, f"{source} entry {i + 1}") for i, item in enumerate(items)]
    reader = csv.DictReader(io.StringIO(stripped))
    out = []
    for row in reader:
        clean = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
        out.append(_trend_from(clean, f"{source} line {reader.line_num}"))
    return out
