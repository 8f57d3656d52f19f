"""The persisted model-call log, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from engine.llm_gateway import CallRecord
from storage.llm_log import SQLAlchemyLLMCallLog
from tests.storage.factories import T0


def _record(model: str, minutes: int, **changes: Any) -> CallRecord:
    values: dict[str, Any] = {
        "model": model,
        "schema_name": "plan_advice",
        "plan_id": "d-1",
        "at": T0 + timedelta(minutes=minutes),
        "outcome": "ok",
        "latency_s": 1.5,
        "attempts": 1,
        "prompt_tokens": 100,
        "completion_tokens": 20,
        "cost_usd": 0.01,
    }
    values.update(changes)
    return CallRecord(**values)


@pytest.fixture
async def llm_log(sql_repository: Any) -> Any:
    """A call log sharing the SQL repository's engine."""
    return SQLAlchemyLLMCallLog(sql_repository.engine)


class TestLLMCallLog:
    async def test_record_and_recent(self, llm_log: Any) -> None:
        """Gateway records are stored and listed newest first, failures marked not ok."""
        stored = await llm_log.record(
            [
                _record("gpt", 0),
                _record("claude", 1, outcome="temporary", error="timeout", cost_usd=0.0),
                _record("gpt", 2, plan_id="d-2"),
            ]
        )
        assert stored == 3
        calls = await llm_log.recent()
        assert [(c.model, c.ok) for c in calls] == [("gpt", True), ("claude", False), ("gpt", True)]
        assert calls[1].error == "timeout"
        assert calls[0].at == T0 + timedelta(minutes=2)
        assert [c.distribution_id for c in await llm_log.recent(distribution_id="d-2")] == ["d-2"]

    async def test_cost_by_model(self, llm_log: Any) -> None:
        """Spend is summed per model, optionally for one distribution."""
        await llm_log.record(
            [_record("gpt", 0), _record("gpt", 1, cost_usd=0.03), _record("claude", 2)]
        )
        assert await llm_log.cost_by_model() == pytest.approx({"gpt": 0.04, "claude": 0.01})
        assert await llm_log.cost_by_model("d-none") == {}
        assert await llm_log.record([]) == 0
