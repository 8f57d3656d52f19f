"""The one composition root: `build_herald(settings, ...)` wires every adapter into a `Herald`.

Tests, the demo, the benchmark and `herald serve` all build Herald here, passing fakes or
real adapters as keyword arguments; nothing else constructs repositories or publishers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bot.platforms_file import load_platforms
from bot.settings import Settings
from engine.adapters.apscheduler_runner import APSchedulerRunner
from engine.adapters.litellm_client import build_advisor
from engine.advisor import Advisor
from engine.clock import SystemClock
from engine.dispatcher import Dispatcher, DispatcherConfig, default_worker_id
from engine.durations import parse_duration
from engine.errors import InvalidInput
from engine.fallback import RetryPolicy
from engine.models import Event
from engine.monitoring import MonitorConfig, RunMonitor
from engine.platforms import PlatformTable
from engine.ports import Clock, LLMCallLog, Notifier, Publisher, Repository, TrendSource
from engine.service import DistributionService, ServiceConfig
from engine.simulated_publisher import FailureRates, SimulatedPublisher
from engine.trends import FileTrendSource

log = logging.getLogger("herald.events")


class LoggingNotifier:
    """The default notifier: one log line per domain event (ids and kinds, no secrets)."""

    async def notify(self, event: Event) -> None:
        log.info(
            "%s distribution=%s slot=%s account=%s by=%s",
            event.kind,
            event.distribution_id,
            event.slot_id,
            event.account_id,
            event.actor,
        )


@dataclass
class Herald:
    """Everything Herald runs on, built once. `start()` starts dispatching; `stop()` ends it."""

    settings: Settings
    repository: Repository
    clock: Clock
    notifier: Notifier
    publisher: Publisher
    platforms: PlatformTable
    service: DistributionService
    dispatcher: Dispatcher
    runner: APSchedulerRunner
    _owned: list[Any] = field(default_factory=list, repr=False)
    _check_schema: str | None = field(default=None, repr=False)

    async def start(self) -> None:
        """Check the schema (a SQL database built here) and start the dispatcher's runner."""
        if self._check_schema is not None:
            from storage.migrate import check_current

            await check_current(self._check_schema)
        await self.runner.start()

    async def stop(self) -> None:
        """Stop dispatching, then release what `build_herald` created."""
        await self.runner.stop()
        for resource in reversed(self._owned):
            close = getattr(resource, "close", None)
            if close is None:
                continue
            result = close()
            if hasattr(result, "__await__"):
                await result
        self._owned.clear()


def build_herald(
    settings: Settings,
    *,
    repository: Repository | None = None,
    publisher: Publisher | None = None,
    clock: Clock | None = None,
    notifier: Notifier | None = None,
    platforms: PlatformTable | None = None,
    advisor: Advisor | None = None,
    trends: TrendSource | None = None,
) -> Herald:
    """Wire Herald from `settings`; any keyword given replaces what settings would build.

    Repository from `database_url` (`memory://` for an in-memory one), publisher from
    `publisher` (`simulated` or `webhook`), platforms from `platforms_file`, trends from
    `trends_url` or `trends_file` (used when a request is trend_weighted). Raises
    InvalidInput naming the setting that is wrong. The advisor fuses the models in
    `HERALD_LLM_MODELS` (litellm is imported only when one is active) and is the built-in
    deterministic advisor otherwise.
    """
    owned: list[Any] = []
    clock = clock or SystemClock()
    notifier = notifier or LoggingNotifier()
    platforms = platforms or load_platforms(settings.platforms_file)
    check_schema: str | None = None
    if repository is None:
        repository = _repository(settings.database_url)
        owned.append(repository)
        if not settings.database_url.startswith("memory"):
            check_schema = settings.database_url
    if publisher is None:
        publisher = _publisher(settings, clock)
        owned.append(publisher)
    review = None
    if not settings.manual_publishes_for_real:
        # MANUAL mode is review-only: its runs post nowhere (seed 001 "REVIEW_ONLY").
        review = (
            publisher
            if isinstance(publisher, SimulatedPublisher)
            else SimulatedPublisher(seed=settings.simulated_seed, clock=clock)
        )
    try:
        policy = RetryPolicy(
            max_attempts=settings.retry_max_attempts,
            rate_limit_delay=parse_duration(settings.retry_rate_limit_delay),
            network_delay=parse_duration(settings.retry_network_delay),
            max_redistributions=settings.max_redistributions,
        )
    except ValueError as exc:
        raise InvalidInput(f"HERALD_RETRY_*: {exc}") from None
    monitor = RunMonitor(
        repository, clock, notifier, MonitorConfig(auto_pause=settings.monitor_auto_pause)
    )
    dispatcher = Dispatcher(
        repository,
        publisher,
        clock,
        notifier,
        platforms=platforms,
        policy=policy,
        config=DispatcherConfig(
            worker_id=settings.worker_id or default_worker_id(),
            batch_size=settings.dispatch_batch_size,
            concurrency=settings.dispatch_concurrency,
            lease=timedelta(seconds=settings.claim_lease_seconds),
        ),
        monitor=monitor,
        review_publisher=review,
    )
    if trends is None and settings.trends_url:
        from engine.adapters.http_trends import HttpTrendSource

        trends = HttpTrendSource(settings.trends_url)
    elif trends is None and settings.trends_file:
        trends = FileTrendSource(settings.trends_file)
    if advisor is None:
        advisor = build_advisor(
            settings, clock, platforms=platforms, call_log=_call_log(repository, owned)
        )
    service = DistributionService(
        repository,
        clock,
        notifier,
        platforms=platforms,
        trends=trends,
        advisor=advisor,
        config=ServiceConfig(
            default_safety_mode=settings.safety_mode,
            enable_full_autonomous=settings.enable_full_autonomous,
            allow_self_approval=settings.allow_self_approval,
        ),
    )
    runner = APSchedulerRunner(
        dispatcher, repository, clock, interval_seconds=settings.dispatch_interval_seconds
    )
    return Herald(
        settings=settings,
        repository=repository,
        clock=clock,
        notifier=notifier,
        publisher=publisher,
        platforms=platforms,
        service=service,
        dispatcher=dispatcher,
        runner=runner,
        _owned=owned,
        _check_schema=check_schema,
    )


def _repository(url: str) -> Repository:
    if url.startswith("memory"):
        from storage.memory_repository import MemoryRepository

        return MemoryRepository()
    from storage.sqlalchemy_repository import SQLAlchemyRepository

    return SQLAlchemyRepository(url)


def _publisher(settings: Settings, clock: Clock) -> Publisher:
    kind = settings.publisher.strip().lower()
    if kind == "simulated":
        return SimulatedPublisher(
            seed=settings.simulated_seed,
            rates=FailureRates.parse(settings.simulated_failure_rates),
            ledger=settings.simulated_ledger,
            clock=clock,
        )
    if kind == "webhook":
        if not settings.webhook_url or settings.webhook_secret is None:
            raise InvalidInput(
                "HERALD_PUBLISHER=webhook needs HERALD_WEBHOOK_URL and HERALD_WEBHOOK_SECRET"
            )
        from engine.adapters.webhook_publisher import WebhookPublisher

        return WebhookPublisher(
            settings.webhook_url,
            settings.webhook_secret.get_secret_value(),
            timeout_seconds=settings.webhook_timeout_seconds,
        )
    raise InvalidInput(f"HERALD_PUBLISHER: {settings.publisher!r} is not simulated or webhook")


def _call_log(repository: Repository, owned: list[Any]) -> LLMCallLog | None:
    """Model calls go to the `llm_calls` table of a SQL repository (budgets survive a
    restart); an in-memory repository keeps them in the gateway only."""
    engine = getattr(repository, "engine", None)
    if engine is None:
        return None
    from storage.llm_log import SQLAlchemyLLMCallLog

    log = SQLAlchemyLLMCallLog(engine)
    owned.append(log)
    return log
