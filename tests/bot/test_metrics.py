"""/metrics through prometheus_client's own parser, counters moving as slots publish; the
database figures, /health's words, and the overdue alert raised once across replicas."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import event, insert

from bot.metrics import Metrics, provider_of
from bot.ops import Operations
from bot.slack import ids
from engine.clock import ManualClock
from storage import tables as t
from storage.migrate import upgrade
from storage.sqlalchemy_repository import SQLAlchemyRepository
from tests.bot.conftest import APPROVER, OPERATOR, T0, Harness, bot_settings, make_herald
from tests.bot.support import create_and_plan


async def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    async with aiohttp.ClientSession() as session, session.get(f"{url}/metrics") as resp:
        text = await resp.text()
    types = [line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")]
    assert len(types) == len(set(types)), "a metric family is exposed twice"
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


class TestMetrics:
    async def test_publishes_move_the_counters(self, harness: Harness) -> None:
        """After a run, publishes by platform and outcome and fire lateness are exposed."""
        h = harness
        before = await scrape(h.url)
        assert not any(name == "herald_publishes_total" for name, _ in before)
        await create_and_plan(h)
        await h.settle()
        await h.driver.click(h.card(), ids.SIMULATE, user=OPERATOR)
        await h.settle(until=lambda: "not simulated yet" not in h.card().all_text())
        await h.driver.click(h.card(), ids.APPROVE, user=APPROVER)
        await h.settle(until=lambda: "Approved" in h.card().all_text())
        await h.run_until_done()
        after = await scrape(h.url)
        published = {
            dict(labels)["platform"]: value
            for (name, labels), value in after.items()
            if name == "herald_publishes_total" and dict(labels)["outcome"] == "published"
        }
        assert published and all(v >= 1 for v in published.values())
        lateness = sum(
            v for (name, _), v in after.items() if name == "herald_fire_lateness_seconds_count"
        )
        assert lateness == sum(published.values())
        assert after[("herald_dispatcher_healthy", ())] in (0.0, 1.0)

    def test_counters_render_plainly(self) -> None:
        """Large values print in full and label values are escaped."""
        metrics = Metrics()
        metrics.inc("herald_x_total", 1234567, kind='a"b')
        text = metrics.render()
        assert 'herald_x_total{kind="a\\"b"} 1.234567e+06' in text or "1234567" in text
        families = list(text_string_to_metric_families(text))
        assert families[0].samples[0].value == 1234567


class TestDatabaseFigures:
    async def test_overdue_alert_once_across_replicas(self, tmp_path) -> None:  # type: ignore[no-untyped-def]
        """Two replicas on one database see an overdue slot; exactly one posts the alert."""
        url = f"sqlite+aiosqlite:///{tmp_path}/h.db"
        await upgrade(url)
        clock = ManualClock(T0)
        settings = bot_settings("http://127.0.0.1:9/api/", HERALD_DATABASE_URL=url)
        posts: list[dict[str, str]] = []

        async def post(**kwargs: str) -> None:
            posts.append(kwargs)

        replicas = []
        for _ in range(2):
            herald = make_herald(settings, clock=clock, repository=SQLAlchemyRepository(url))
            replicas.append(Operations(herald, Metrics()))
        ops = replicas[0]
        stats = await ops.stats()
        assert stats is not None and stats.due == 0 and stats.oldest_due_slot is None
        ok, body = await ops.health()
        assert (
            not ok and body["database"] == "ok" and body["problems"] == ["dispatcher not ticking"]
        )
        # Overdue detection needs a running dispatcher and a due slot of a running plan.
        from sqlalchemy import insert

        from storage import tables as t

        engine = ops.herald.repository.engine
        await _overdue_slot(engine, insert, t, T0 - timedelta(minutes=10))
        for replica in replicas:
            replica.herald.runner.healthy = lambda: (True, "ticking")  # type: ignore[method-assign]
        results = [await r.check_overdue(post, "C_ALERTS") for r in replicas * 2]
        assert results.count(True) == 1 and len(posts) == 1
        assert "overdue" in posts[0]["text"]
        await ops.refresh()
        assert ops.metrics.value("herald_slots_due") == 1
        assert ops.metrics.value("herald_oldest_due_slot_age_seconds") == 600


MODELS = [
    {"name": "gpt", "model": "openai/gpt-4o", "api_key_env": "HERALD_TEST_NO_KEY"},
    {"name": "claude", "model": "anthropic/claude-3-5-sonnet-latest", "api_key_env": "NO_KEY"},
]


class TestModelFigures:
    @pytest.mark.parametrize(
        ("model", "provider"),
        [
            ("openai/gpt-4o", "openai"),
            ("ollama/llama3.1", "ollama"),
            ("anthropic/claude-3-5-sonnet-latest", "anthropic"),
            ("gpt-4o-mini", "openai"),
            ("claude-3-haiku", "anthropic"),
            ("local-thing", "unknown"),
        ],
    )
    def test_provider_comes_from_the_model_string(self, model: str, provider: str) -> None:
        """litellm's `provider/` prefix names the provider; a bare name its family."""
        assert provider_of(model) == provider

    async def test_calls_and_spend_by_provider_and_model(self, tmp_path) -> None:  # type: ignore[no-untyped-def]
        """The call log's totals are counters labelled with the provider of each configured
        model's litellm string and the model's name; results split ok / error."""
        url = f"sqlite+aiosqlite:///{tmp_path}/h.db"
        await upgrade(url)
        settings = bot_settings(
            "http://127.0.0.1:9/api/", HERALD_DATABASE_URL=url, HERALD_LLM_MODELS=json.dumps(MODELS)
        )
        herald = make_herald(settings, clock=ManualClock(T0), repository=SQLAlchemyRepository(url))
        ops = Operations(herald, Metrics())
        calls = [("gpt", True, 0.01), ("gpt", True, 0.02), ("gpt", False, 0.0)]
        calls += [("claude", True, 0.5), ("retired", True, 0.25)]
        async with herald.repository.engine.begin() as conn:
            await conn.execute(
                insert(t.llm_calls),
                [
                    {"at": T0, "model": m, "latency_s": 1.0, "cost_usd": c, "ok": ok}
                    for m, ok, c in calls
                ],
            )
        await ops.refresh()
        families = {f.name: f for f in text_string_to_metric_families(ops.metrics.render())}
        assert families["herald_model_calls"].type == "counter"
        samples = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for name in ("herald_model_calls", "herald_model_spend_usd")
            for s in families[name].samples
        }
        ok = ("result", "ok")
        assert (
            samples[("herald_model_calls_total", (("model", "gpt"), ("provider", "openai"), ok))]
            == 2
        )
        assert (
            samples[
                (
                    "herald_model_calls_total",
                    (("model", "gpt"), ("provider", "openai"), ("result", "error")),
                )
            ]
            == 1
        )
        spend = {
            labels: v for (name, labels), v in samples.items() if name.startswith("herald_model_sp")
        }
        assert spend == {
            (("model", "claude"), ("provider", "anthropic")): 0.5,
            (("model", "gpt"), ("provider", "openai")): pytest.approx(0.03),
            (("model", "retired"), ("provider", "unknown")): 0.25,
        }

    async def test_health_reads_no_model_log(self, tmp_path) -> None:  # type: ignore[no-untyped-def]
        """/health's database check is a handful of indexed reads, never the call log."""
        url = f"sqlite+aiosqlite:///{tmp_path}/h.db"
        await upgrade(url)
        settings = bot_settings("http://127.0.0.1:9/api/", HERALD_DATABASE_URL=url)
        herald = make_herald(settings, clock=ManualClock(T0), repository=SQLAlchemyRepository(url))
        statements: list[str] = []

        def seen(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
            statements.append(statement)

        # Through the read engine: a snapshot that never waits for a writer.
        event.listen(herald.repository.read_engine.sync_engine, "before_cursor_execute", seen)
        _, body = await Operations(herald, Metrics()).health()
        assert body["database"] == "ok"
        assert 0 < len(statements) <= 4 and not any("llm_calls" in s for s in statements)


async def _overdue_slot(engine, insert, t, due) -> None:  # type: ignore[no-untyped-def]
    async with engine.begin() as conn:
        await conn.execute(
            insert(t.distributions).values(
                id="d1",
                name="d",
                status="EXECUTING",
                created_at=due,
                version=1,
                **_distribution_defaults(t),
            )
        )
        await conn.execute(
            insert(t.slots).values(
                id="s1",
                distribution_id="d1",
                seq=0,
                account_id="a1",
                platform="tiktok",
                language="en",
                timezone="UTC",
                scheduled_at=due,
                due_at=due,
                caption="c",
                hashtags=[],
                risk_score=0.0,
                risk_level="LOW",
                trend_score=0.0,
                content_type="video",
                variant_id="v",
                status="QUEUED",
                attempts=0,
                idempotency_key="k1",
            )
        )


def _distribution_defaults(t) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {
        "safety_mode": "SEMI_AUTONOMOUS",
        "request": {},
        "created_by": "U_OP",
        "updated_at": T0,
        "warnings": [],
        "origin": {},
    }
