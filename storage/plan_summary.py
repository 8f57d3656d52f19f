"""`UnitOfWork.plan_summary` in SQL: what the plan card shows, from GROUP BY queries.

The database counts; Python only folds the few grouped rows (platforms x days x risk
levels x items), so a card redraw costs the same at 10 slots as at 100 000.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from engine.models import RiskLevel
from engine.plan_summary import PlanSummary
from storage import tables as t


def _utc_day(column: Any, dialect: str) -> Any:
    """The UTC date of a UTCDateTime column as "YYYY-MM-DD"."""
    if dialect == "postgresql":
        # timestamptz: the session's time zone must not move a post to another day.
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD")
    # SQLite keeps UTCDateTime as "YYYY-MM-DD HH:MM:SS[.ffffff]" text in UTC.
    return func.substr(column, 1, 10)


async def plan_summary(session: AsyncSession, dialect: str, distribution_id: str) -> PlanSummary:
    """The plan summary of one distribution (three grouped reads in the caller's
    transaction)."""
    s = t.slots
    day = _utc_day(s.c.scheduled_at, dialect).label("day")
    mine = s.c.distribution_id == distribution_id
    grouped = await session.execute(
        select(
            s.c.platform,
            day,
            s.c.risk_level,
            s.c.content_id,
            func.count(),
            func.min(s.c.scheduled_at),
            func.max(s.c.scheduled_at),
            func.max(s.c.risk_score),
            func.min(s.c.due_at),
            func.min(s.c.seq),
        )
        .where(mine)
        .group_by(s.c.platform, day, s.c.risk_level, s.c.content_id)
    )
    per_day: dict[tuple[str, str], int] = {}
    levels: dict[RiskLevel, int] = {}
    items: dict[str, dict[str, Any]] = {}
    first_use: dict[str, tuple[datetime, int]] = {}
    total, max_risk = 0, 0.0
    first_at: datetime | None = None
    last_at: datetime | None = None
    rows: list[Any] = list(grouped.all())
    for platform, on, level, content_id, count, first, last, risk, due, seq in rows:
        n = int(count)
        total += n
        per_day[(platform, on)] = per_day.get((platform, on), 0) + n
        levels[RiskLevel(level)] = levels.get(RiskLevel(level), 0) + n
        max_risk = max(max_risk, float(risk))
        first_at = first if first_at is None else min(first_at, first)
        last_at = last if last_at is None else max(last_at, last)
        item = items.setdefault(
            content_id, {"content_id": content_id, "slots": 0, "accounts": 0, "days": set()}
        )
        item["slots"] += n
        item["days"].add(on)
        first_use[content_id] = min(first_use.get(content_id, (due, seq)), (due, seq))
    if not total:
        return PlanSummary()
    per_item = await session.execute(
        select(s.c.content_id, func.count(s.c.account_id.distinct()))
        .where(mine)
        .group_by(s.c.content_id)
    )
    counted: list[Any] = list(per_item.all())
    for content_id, accounts in counted:
        items[content_id]["accounts"] = int(accounts)
    accounts_total = await session.execute(
        select(func.count(s.c.account_id.distinct())).where(mine)
    )
    # In order of first use, as list_slots would give them (due_at, then seq).
    ordered = sorted(items.values(), key=lambda item: first_use[item["content_id"]])
    return PlanSummary(
        slots=total,
        accounts=int(accounts_total.scalar_one()),
        first_at=first_at,
        last_at=last_at,
        per_platform_day=per_day,
        risk_levels=levels,
        max_risk=max_risk,
        items=[{**item, "days": sorted(item["days"])} for item in ordered],
    )
