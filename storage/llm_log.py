"""A persisted log of model calls (the `llm_calls` table), for cost and latency reports.

The LLM gateway keeps its `CallRecord`s in memory; `SQLAlchemyLLMCallLog.record` stores
them (anything with the same attribute names), so `herald` can report spend per plan and
model after a restart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import tables as t
from storage.database import create_engine, safe_url
from storage.sqlalchemy_repository import translate_errors


@dataclass(frozen=True, slots=True)
class LLMCallRow:
    """One stored model call."""

    id: int
    at: datetime
    distribution_id: str | None
    model: str
    latency_s: float
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    ok: bool
    error: str | None


class SQLAlchemyLLMCallLog:
    """Stores and queries model calls in Herald's database."""

    def __init__(self, url_or_engine: str | URL | AsyncEngine) -> None:
        if isinstance(url_or_engine, AsyncEngine):
            self.engine = url_or_engine
            self._owns_engine = False
        else:
            self.engine = create_engine(url_or_engine)
            self._owns_engine = True
        self._url = safe_url(self.engine.url)

    async def record(self, records: Sequence[Any]) -> int:
        """Store gateway call records (`model`, `plan_id`, `at`, `outcome`, `latency_s`,
        token counts, `cost_usd`, `error`); returns how many were stored."""
        rows = [
            {
                "at": r.at,
                "distribution_id": getattr(r, "plan_id", None)
                or getattr(r, "distribution_id", None),
                "model": r.model,
                "latency_s": float(r.latency_s),
                "prompt_tokens": int(r.prompt_tokens),
                "completion_tokens": int(r.completion_tokens),
                "cost_usd": float(r.cost_usd),
                "ok": getattr(r, "outcome", "ok") == "ok",
                "error": r.error,
            }
            for r in records
        ]
        if not rows:
            return 0
        with translate_errors(self._url):
            async with self.engine.begin() as conn:
                await conn.execute(insert(t.llm_calls), rows)
        return len(rows)

    async def recent(
        self, *, distribution_id: str | None = None, limit: int = 100
    ) -> list[LLMCallRow]:
        """The latest calls (of one distribution), newest first."""
        c = t.llm_calls
        query = select(c).order_by(c.c.at.desc(), c.c.id.desc()).limit(limit)
        if distribution_id is not None:
            query = query.where(c.c.distribution_id == distribution_id)
        with translate_errors(self._url):
            async with self.engine.begin() as conn:
                rows = (await conn.execute(query)).mappings().all()
        return [LLMCallRow(**dict(r)) for r in rows]

    async def cost_by_model(self, distribution_id: str | None = None) -> dict[str, float]:
        """Total spend in USD per model (of one distribution)."""
        c = t.llm_calls
        query = select(c.c.model, func.sum(c.c.cost_usd)).group_by(c.c.model)
        if distribution_id is not None:
            query = query.where(c.c.distribution_id == distribution_id)
        with translate_errors(self._url):
            async with self.engine.begin() as conn:
                rows = (await conn.execute(query)).all()
        return {str(model): float(total or 0.0) for model, total in rows}  # type: ignore[arg-type]

    async def spent(self, plan_id: str) -> float:
        """US dollars recorded for one plan (a distribution id or a budget key)."""
        return sum((await self.cost_by_model(plan_id)).values())

    async def close(self) -> None:
        """Dispose of the engine's connections if this log created it."""
        if self._owns_engine:
            await self.engine.dispose()
