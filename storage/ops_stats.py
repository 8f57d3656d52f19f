"""Cheap read-only figures for /metrics, /health and the overdue alert: a few indexed
aggregate queries, and a database-wide claim so one replica alerts once per episode.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, case, func, insert, select
from sqlalchemy.engine import Result
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from engine.models import DistributionStatus, SlotStatus
from storage import tables as t
from storage.database import safe_url
from storage.sqlalchemy_repository import translate_errors

WAITING = (SlotStatus.QUEUED, SlotStatus.RETRY_SCHEDULED)


@dataclass(frozen=True, slots=True)
class OpsStats:
    """What an operator alerts on, read in one round of queries."""

    due: int
    claimed: int
    in_doubt: int
    oldest_due_at: datetime | None
    oldest_due_slot: str | None
    outbox_depth: int
    outbox_oldest_at: datetime | None
    # configured model name -> (calls, failed calls, US dollars), over the stored call log
    models: dict[str, tuple[int, int, float]] = field(default_factory=dict)


async def read_stats(engine: AsyncEngine, now: datetime, *, with_models: bool = True) -> OpsStats:
    """The figures at `now`; `with_models=False` skips the model-call totals (a scan of the
    call log that /health does not need). Raises StorageError when the database cannot be
    read."""
    s = t.slots
    running = select(t.distributions.c.id).where(
        t.distributions.c.status == DistributionStatus.EXECUTING
    )
    due_where = and_(s.c.status.in_(WAITING), s.c.due_at <= now, s.c.distribution_id.in_(running))
    with translate_errors(safe_url(engine.url)):
        async with engine.connect() as conn:
            due, oldest = (
                await conn.execute(select(func.count(), func.min(s.c.due_at)).where(due_where))
            ).one()
            oldest_slot = None
            if oldest is not None:
                oldest_slot = (
                    await conn.execute(
                        select(s.c.id).where(due_where).order_by(s.c.due_at, s.c.id).limit(1)
                    )
                ).scalar()
            statuses: Result[str, int] = await conn.execute(
                select(s.c.status, func.count())
                .where(s.c.status.in_((SlotStatus.CLAIMED, SlotStatus.OUTCOME_UNKNOWN)))
                .group_by(s.c.status)
            )
            by_status = {str(status): int(count) for status, count in statuses}
            o = t.outbox
            depth, outbox_oldest = (
                await conn.execute(
                    select(func.count(), func.min(o.c.created_at)).where(o.c.sent_at.is_(None))
                )
            ).one()
            models = await _model_calls(conn) if with_models else {}
    return OpsStats(
        due=int(due),
        claimed=int(by_status.get(SlotStatus.CLAIMED, 0)),
        in_doubt=int(by_status.get(SlotStatus.OUTCOME_UNKNOWN, 0)),
        oldest_due_at=oldest,
        oldest_due_slot=oldest_slot,
        outbox_depth=int(depth),
        outbox_oldest_at=outbox_oldest,
        models=models,
    )


async def _model_calls(conn: AsyncConnection) -> dict[str, tuple[int, int, float]]:
    c = t.llm_calls
    rows: Result[str, int, int | None, float | None] = await conn.execute(
        select(
            c.c.model,
            func.count(),
            func.sum(case((c.c.ok.is_(False), 1), else_=0)),
            func.sum(c.c.cost_usd),
        ).group_by(c.c.model)
    )
    return {
        str(model): (int(calls), int(failed or 0), float(cost or 0.0))
        for model, calls, failed, cost in rows
    }


async def claim_alert(engine: AsyncEngine, key: str, now: datetime, worker: str) -> bool:
    """Record the alert `key` once for the whole database; True for the one caller that
    recorded it (every other replica, and later ticks, get False)."""
    with translate_errors(safe_url(engine.url)):
        try:
            async with engine.begin() as conn:
                await conn.execute(
                    insert(t.events).values(
                        id=key, at=now, kind="ops.alert", actor=worker, data={"key": key}
                    )
                )
        except IntegrityError:
            return False
    return True
