"""Operations for `herald serve`: refresh the scrape-time gauges, answer /health with what
is wrong, and raise the overdue-slot alert in Slack once per episode across replicas.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from bot.metrics import Metrics, age_seconds, provider_of
from engine.adapters.litellm_client import parse_model_specs
from engine.errors import HeraldError, InvalidInput

if TYPE_CHECKING:
    from bot.bootstrap import Herald

log = logging.getLogger("herald.ops")

# An outbox whose oldest undelivered entry is this old is not draining.
OUTBOX_STUCK = timedelta(minutes=10)


class Operations:
    """Reads the database's figures for one replica (a cheap handful of indexed queries)."""

    def __init__(self, herald: Herald, metrics: Metrics) -> None:
        self.herald = herald
        self.metrics = metrics
        self._provider_names: dict[str, str] | None = None

    async def stats(self, *, with_models: bool = True) -> Any:
        """`OpsStats` now, or None for an in-memory repository. Raises StorageError."""
        return await self.herald.ops_stats(with_models=with_models)

    async def refresh(self) -> Any:
        """Set the scrape-time gauges; the stats read (None when unreadable)."""
        runner = self.herald.runner
        now = self.herald.clock.now()
        ok, _ = runner.healthy()
        self.metrics.set("herald_dispatcher_healthy", 1.0 if ok else 0.0)
        self.metrics.set("herald_last_tick_age_seconds", age_seconds(now, runner.last_tick_at))
        try:
            stats = await self.stats()
        except HeraldError as exc:
            log.warning("metrics: database unreadable (%s)", exc)
            self.metrics.set("herald_database_up", 0.0)
            return None
        self.metrics.set("herald_database_up", 1.0)
        if stats is None:
            return None
        self.metrics.set("herald_slots_due", stats.due)
        self.metrics.set("herald_slots_claimed", stats.claimed)
        self.metrics.set("herald_slots_in_doubt", stats.in_doubt)
        self.metrics.set(
            "herald_oldest_due_slot_age_seconds", age_seconds(now, stats.oldest_due_at)
        )
        self.metrics.set("herald_outbox_depth", stats.outbox_depth)
        self.metrics.set(
            "herald_outbox_oldest_age_seconds", age_seconds(now, stats.outbox_oldest_at)
        )
        self._model_totals(stats.models)
        return stats

    def _model_totals(self, models: dict[str, tuple[int, int, float]]) -> None:
        """Model calls and spend by provider and configured model name. The call log keeps
        the name; its provider comes from the name's litellm model string in
        HERALD_LLM_MODELS (a name no longer configured: from the name itself)."""
        providers = self._providers()
        calls: dict[tuple[str, ...], float] = {}
        spend: dict[tuple[str, ...], float] = {}
        for name, (count, failed, usd) in models.items():
            provider = providers.get(name) or provider_of(name)
            calls[(provider, name, "ok")] = count - failed
            calls[(provider, name, "error")] = failed
            spend[(provider, name)] = usd
        self.metrics.totals("herald_model_calls_total", ("provider", "model", "result"), calls)
        self.metrics.totals("herald_model_spend_usd_total", ("provider", "model"), spend)

    def _providers(self) -> dict[str, str]:
        if self._provider_names is None:
            try:
                specs = parse_model_specs(self.herald.settings.llm_models)
            except InvalidInput:
                specs = []  # the start already refused it; the metric says "unknown"
            self._provider_names = {spec.name: provider_of(spec.model) for spec in specs}
        return self._provider_names

    async def health(self) -> tuple[bool, dict[str, Any]]:
        """(healthy, body): the dispatcher, the database and the outbox, each in words."""
        ok, dispatcher = self.herald.runner.healthy()
        body: dict[str, Any] = {"dispatcher": dispatcher}
        problems = [] if ok else ["dispatcher not ticking"]
        try:
            stats = await asyncio.wait_for(self.stats(with_models=False), timeout=5)
            body["database"] = "ok"
        except (HeraldError, TimeoutError) as exc:
            stats = None
            body["database"] = f"unreachable ({exc or type(exc).__name__})"
            problems.append("database unreachable")
        if stats is not None:
            age = age_seconds(self.herald.clock.now(), stats.outbox_oldest_at)
            body["outbox"] = f"{stats.outbox_depth} waiting, oldest {age:.0f}s"
            if age > OUTBOX_STUCK.total_seconds():
                problems.append("outbox stuck")
            body["due_slots"] = stats.due
        body["status"] = "ok" if not problems else "unhealthy"
        body["problems"] = problems
        return not problems, body

    async def check_overdue(self, post: Any, channel: str | None) -> bool:
        """Alert `channel` when a slot is overdue past HERALD_OVERDUE_ALERT_SECONDS while this
        replica's dispatcher runs; once per overdue slot for the whole database. True when
        this call posted."""
        herald = self.herald
        if channel is None or not herald.runner.healthy()[0]:
            return False
        stats = await self.stats(with_models=False)
        if stats is None or stats.oldest_due_slot is None:
            return False
        now = herald.clock.now()
        age = age_seconds(now, stats.oldest_due_at)
        if age <= herald.settings.overdue_alert_seconds:
            return False
        worker = herald.dispatcher.config.worker_id
        if not await herald.claim_alert(f"overdue-{stats.oldest_due_slot}"):
            return False
        log.warning(
            "overdue: %d slots due, oldest %s by %.0fs", stats.due, stats.oldest_due_slot, age
        )
        await post(
            channel=channel,
            text=(
                f":rotating_light: {stats.due} slot(s) are overdue; the oldest "
                f"(`{stats.oldest_due_slot}`) by {age / 60:.0f} min, although a dispatcher "
                f"({worker}) is running. Check the publisher and `/herald status`."
            ),
        )
        return True

    async def watch(self, post: Any, channel: str | None, every_seconds: float = 30.0) -> None:
        """Run `check_overdue` forever (cancel to stop)."""
        while True:
            try:
                await self.check_overdue(post, channel)
            except HeraldError as exc:
                log.warning("overdue check failed (%s)", exc)
            await asyncio.sleep(every_seconds)
