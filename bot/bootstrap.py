"""The one composition root: `build_herald(settings, ...)` wires every adapter into a `Herald`.

Every entry point (`herald serve`, `herald demo`, the CLI commands, the tests, the bench)
builds Herald here; nothing else in bot/ names a storage implementation or runs migrations.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

from bot.platforms_file import load_platforms
from bot.settings import Settings
from bot.slack.outbox import Outbox
from engine.adapters.apscheduler_runner import APSchedulerRunner
from engine.adapters.litellm_client import build_advisor
from engine.adapters.oauth2_client import OAuth2Client
from engine.adapters.oauth_platforms import CLIENT_CLASSES, REFRESH_MARGINS
from engine.advisor import Advisor
from engine.clock import SystemClock
from engine.connections import ConnectionService
from engine.content_library import ContentLibrary
from engine.dispatcher import Dispatcher, DispatcherConfig, default_worker_id
from engine.durations import parse_duration
from engine.errors import HeraldError, InvalidInput
from engine.fallback import RedistributionPolicy
from engine.live_limits import LiveLimits
from engine.models import Event
from engine.monitoring import MonitorConfig, RunMonitor
from engine.platforms import PlatformTable
from engine.ports import (
    Clock,
    CredentialStore,
    LLMCallLog,
    MediaStore,
    Notifier,
    OAuthClient,
    OAuthStateStore,
    Publisher,
    PublishHandles,
    Repository,
    TokenRefresher,
    TrendSource,
)
from engine.queries import DistributionReads
from engine.service import DistributionService, ServiceConfig
from engine.simulated_publisher import FailureRates, SimulatedPublisher
from engine.token_refresh import LeasedTokenRefresher

if TYPE_CHECKING:
    from aiohttp import web

log = logging.getLogger("herald.events")

PublisherFactory = Callable[[Settings, Clock], Publisher]
"""Builds the publisher named by `HERALD_PUBLISHER` (see `register_publisher`)."""

RouteInstaller = Callable[["web.Application", "Herald"], None]
"""Adds routes (e.g. an HTTP API) to the aiohttp app `herald serve` runs."""


class _Closeable(Protocol):
    def close(self) -> object: ...


class LoggingNotifier:
    """The default notifier: one log line per domain event (ids and kinds, no secrets).
    `worker_id` is this process's: every event it hears was made here."""

    def __init__(self, worker_id: str | None = None) -> None:
        self.worker_id = worker_id

    async def notify(self, event: Event) -> None:
        data = event.data or {}
        platform = f" on {data['platform']}" if data.get("platform") else ""
        why = data.get("error") or data.get("reason")
        outcome = f" ({why})" if why else ""
        log.info(
            "%s by %s%s%s",
            event.kind,
            event.actor,
            platform,
            outcome,
            extra={
                "event": str(event.kind),
                "distribution_id": event.distribution_id,
                "slot_id": event.slot_id,
                "account_id": event.account_id,
                "worker_id": data.get("worker") or self.worker_id,
            },
        )


class Notifiers:
    """The one `Notifier` the engine is given: every member hears every event, in order.

    Members are added after the build (`Herald.add_notifier`): the Slack app adds its
    notifier, the HTTP API its webhooks. One failing member does not silence the others.
    """

    def __init__(self, *members: Notifier) -> None:
        self.members: list[Notifier] = list(members)

    def add(self, notifier: Notifier) -> None:
        """Another member, heard after the ones already there."""
        self.members.append(notifier)

    async def notify(self, event: Event) -> None:
        for member in self.members:
            try:
                await member.notify(event)
            except Exception:
                log.exception("notifier %s failed on %s", type(member).__name__, event.kind)


@dataclass
class Herald:
    """Everything Herald runs on, built once. `start()` starts dispatching; `stop()` ends it.

    Extension points: `add_notifier` (Slack, webhooks), `add_routes` (HTTP API routes that
    `herald serve` mounts), `register_publisher` (module level, a new `HERALD_PUBLISHER`).
    """

    settings: Settings
    repository: Repository
    clock: Clock
    notifier: Notifiers
    publisher: Publisher
    platforms: PlatformTable
    service: DistributionService
    queries: DistributionReads
    dispatcher: Dispatcher
    runner: APSchedulerRunner
    outbox: Outbox | None = None
    # media (issue 10): the store behind content.media and the signed /media links
    media: MediaStore | None = None
    routes: list[RouteInstaller] = field(default_factory=list)
    # --- oauth (issue 9): connected accounts; `oauth.refresher` is the TokenRefresher.
    oauth: OAuthParts | None = None
    _owned: list[_Closeable] = field(default_factory=list, repr=False)
    _database_url: str | None = field(default=None, repr=False)
    _schema_checked: bool = field(default=False, repr=False)
    _housekeeping: asyncio.Task[None] | None = field(default=None, repr=False)

    async def prune_outbox(self) -> int:
        """Delete delivered outbox entries and seen Slack event ids older than
        `HERALD_OUTBOX_RETENTION_HOURS`; how many went."""
        if self.outbox is None:
            return 0
        retention = timedelta(hours=self.settings.outbox_retention_hours)
        return await self.outbox.prune(self.clock.now() - retention)

    async def _prune_outbox(self, outbox: Outbox) -> None:
        # Without this the outbox and seen_events tables only ever grow.
        while True:
            try:
                pruned = await self.prune_outbox()
                if pruned:
                    log.info("outbox pruned: %d old entries", pruned)
            except HeraldError as exc:
                log.warning("outbox prune failed (%s); trying again later", exc)
            await asyncio.sleep(self.settings.outbox_prune_interval_seconds)

    async def ops_stats(self, *, with_models: bool = True) -> Any:
        """`storage.ops_stats.OpsStats` now (for /metrics, /health, the overdue alert), or
        None for an in-memory repository; `with_models=False` skips the model-call totals.
        Raises StorageError."""
        engine = getattr(self.repository, "engine", None)
        if engine is None:
            return None
        from storage.ops_stats import read_stats

        # The read engine: on SQLite a snapshot that never waits for a writer, so /health
        # answers while a long transaction (a 200 000-row import) holds the write lock.
        reader = getattr(self.repository, "read_engine", engine)
        return await read_stats(reader, self.clock.now(), with_models=with_models)

    async def claim_alert(self, key: str) -> bool:
        """True for the one caller, across replicas, that records alert `key` first."""
        engine = getattr(self.repository, "engine", None)
        if engine is None:
            return False
        from storage.ops_stats import claim_alert

        return await claim_alert(engine, key, self.clock.now(), self.dispatcher.config.worker_id)

    def add_notifier(self, notifier: Notifier) -> None:
        """Let `notifier` hear every domain event from now on."""
        self.notifier.add(notifier)

    def add_routes(self, installer: RouteInstaller) -> None:
        """Have `herald serve` call `installer(web_app, herald)` when it builds its web app."""
        self.routes.append(installer)

    async def ensure_schema(self, *, upgrade: bool = False) -> str | None:
        """Check (or with `upgrade`, migrate) the SQL database built here; its revision.
        Raises InvalidInput with advice when the schema is not current."""
        if self._database_url is None:
            return None
        from storage.migrate import check_current, head_revision
        from storage.migrate import upgrade as migrate

        if upgrade:
            revision = await migrate(self._database_url)
        else:
            await check_current(self._database_url)
            revision = head_revision()
        self._schema_checked = True
        return revision

    def database_label(self) -> str:
        """The database URL without its password, for messages."""
        from storage.database import safe_url

        return safe_url(self.settings.database_url)

    @property
    def content(self) -> ContentLibrary:
        """The content library over the same repository, clock, notifier, media store
        (items' media are stored when added) and platform table (`content show`)."""
        return ContentLibrary(
            self.repository, self.clock, self.notifier, media=self.media, platforms=self.platforms
        )

    async def start(self) -> None:
        """Check the schema (a SQL database built here) and start the dispatcher's runner."""
        if not self._schema_checked:
            await self.ensure_schema()
        await self.runner.start()
        if self.outbox is not None and self._housekeeping is None:
            self._housekeeping = asyncio.create_task(self._prune_outbox(self.outbox))

    async def stop(self) -> None:
        """Stop dispatching, then release what `build_herald` created."""
        if self._housekeeping is not None:
            self._housekeeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._housekeeping
            self._housekeeping = None
        await self.runner.stop()
        for resource in reversed(self._owned):
            result = resource.close()
            if inspect.isawaitable(result):
                await result
        self._owned.clear()


def build_herald(
    settings: Settings,
    *,
    repository: Repository | None = None,
    publisher: Publisher | None = None,
    clock: Clock | None = None,
    notifier: Notifier | None = None,
    outbox: Outbox | None = None,
    platforms: PlatformTable | None = None,
    advisor: Advisor | None = None,
    trends: TrendSource | None = None,
    token_refresher: TokenRefresher | None = None,
    media_store: MediaStore | None = None,
    oauth_clients: Mapping[str, OAuthClient] | None = None,  # oauth (issue 9): fakes in tests
) -> Herald:
    """Wire Herald from `settings`; any keyword given replaces what settings would build.

    Repository and outbox from `database_url` (`memory://` for in-memory ones), publisher
    from `publisher` (see `PUBLISHERS`), platforms from `platforms_file`, trends from
    `trends_url` or `trends_file` (used when a request is trend_weighted). `notifier`
    replaces the default logging one (more join with `Herald.add_notifier`). Raises
    InvalidInput naming the setting that is wrong. The advisor fuses the models in
    `HERALD_LLM_MODELS` (litellm is imported only when one is active) and is the built-in
    deterministic advisor otherwise. Nothing here does I/O: `Herald.start` does.
    Platform publishers (X, LinkedIn with `token_refresher`; Postiz, Mixpost from their
    settings) are routed per account (`_platform_publishers`).
    """
    owned: list[_Closeable] = []
    clock = clock or SystemClock()
    worker_id = settings.worker_id or default_worker_id()
    notifiers = Notifiers(notifier or LoggingNotifier(worker_id))
    platforms = platforms or load_platforms(settings.platforms_file)
    database_url: str | None = None
    in_memory = settings.database_url.startswith("memory")
    if repository is None:
        repository = _repository(settings.database_url)
        owned.append(repository)  # type: ignore[arg-type]  # both repositories close()
        if not in_memory:
            database_url = settings.database_url
    if outbox is None:
        outbox = _outbox(settings.database_url, clock)
        owned.append(outbox)
    # --- media (issue 10): the media store and private-only platforms until audited
    from bot.media.wiring import build_media_store
    from engine.adapters.file_media_store import MemoryMediaIndex
    from storage.media_index import SQLAlchemyMediaIndex

    engine = getattr(repository, "engine", None)
    index = MemoryMediaIndex() if engine is None else SQLAlchemyMediaIndex(engine)
    media = media_store or build_media_store(settings, index, clock)
    media_store = media
    from engine.adapters.media_http import MemoryPublishHandles
    from storage.media_index import SQLAlchemyPublishHandles

    handles = MemoryPublishHandles() if engine is None else SQLAlchemyPublishHandles(engine)
    # --- end media
    # --- oauth (issue 9): credential store, token refresher, connect flow
    oauth = build_oauth(
        settings,
        repository,
        clock,
        notifiers,
        worker_id=worker_id,
        clients=oauth_clients,
    )
    if token_refresher is None and (oauth.clients or settings.secret_key is not None):
        # Platform publishers only once accounts can be connected (an app or a key is set).
        token_refresher = oauth.refresher
    # --- end oauth
    if settings.publisher != "simulated" or token_refresher is not None:
        # issue 10: connected accounts post through Herald's own API clients, whatever the
        # default publisher: until audited, plans say those platforms' posts are private.
        from bot.platforms_file import with_audit_state

        platforms = with_audit_state(
            platforms,
            tiktok_audited=settings.tiktok_audited,
            youtube_audited=settings.youtube_audited,
        )
    if publisher is None:
        publisher = _publisher(settings, clock)
        if hasattr(publisher, "attach_media"):  # issue 10: webhook payloads link the media
            publisher.attach_media(media_store, ttl_seconds=settings.media_link_ttl_seconds)
        # issue 9: accounts whose `publisher` names a platform adapter post through it.
        publisher = _platform_publishers(
            settings, publisher, clock, token_refresher, media_store, handles
        )
        owned.append(publisher)  # type: ignore[arg-type]
    review = None
    if not settings.manual_publishes_for_real:
        # MANUAL mode is review-only: its runs post nowhere (seed 001 "REVIEW_ONLY").
        review = (
            publisher
            if isinstance(publisher, SimulatedPublisher)
            else SimulatedPublisher(seed=settings.simulated_seed, clock=clock)
        )
    try:
        policy = RedistributionPolicy(
            max_attempts=settings.retry_max_attempts,
            rate_limit_delay=parse_duration(settings.retry_rate_limit_delay),
            network_delay=parse_duration(settings.retry_network_delay),
            max_redistributions=settings.max_redistributions,
        )
    except ValueError as exc:
        raise InvalidInput(f"HERALD_RETRY_*: {exc}") from None
    monitor = RunMonitor(
        repository, clock, notifiers, MonitorConfig(auto_pause=settings.monitor_auto_pause)
    )
    dispatcher = Dispatcher(
        repository,
        publisher,
        clock,
        notifiers,
        platforms=platforms,
        policy=policy,
        config=DispatcherConfig(
            worker_id=worker_id,
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
        from engine.adapters.file_trends import FileTrendSource

        trends = FileTrendSource(settings.trends_file)
    if advisor is None:
        advisor = build_advisor(
            settings, clock, platforms=platforms, call_log=_call_log(repository, owned)
        )
    config = ServiceConfig(
        default_safety_mode=settings.safety_mode,
        enable_full_autonomous=settings.enable_full_autonomous,
        allow_self_approval=settings.allow_self_approval,
        default_publisher=settings.publisher.strip().lower(),  # issue 9: plan card
        duplicate_gap_floor_minutes=settings.duplicate_gap_floor_minutes,
    )
    service = DistributionService(
        repository,
        clock,
        notifiers,
        platforms=platforms,
        trends=trends,
        advisor=advisor,
        media=media,  # issue 10
        # issue 10: accounts' own limits (Instagram's cap, TikTok's creator_info) at plan time
        live_limits=LiveLimits(publisher, clock) if token_refresher is not None else None,
        config=config,
    )
    runner = APSchedulerRunner(
        dispatcher, repository, clock, interval_seconds=settings.dispatch_interval_seconds
    )
    herald = Herald(
        settings=settings,
        repository=repository,
        clock=clock,
        notifier=notifiers,
        publisher=publisher,
        platforms=platforms,
        service=service,
        queries=DistributionReads(repository, clock, platforms=platforms, config=config),
        dispatcher=dispatcher,
        runner=runner,
        outbox=outbox,
        oauth=oauth,  # oauth (issue 9)
        media=media,  # issue 10
        _owned=owned,
        _database_url=database_url,
    )
    if media.signed_url("probe", ttl_seconds=60) is not None:  # issue 10: pull-mode links
        from bot.media.wiring import install_media_routes

        herald.add_routes(install_media_routes)
    return herald


def _repository(url: str) -> Repository:
    if url.startswith("memory"):
        from storage.memory_repository import MemoryRepository

        return MemoryRepository()
    from storage.sqlalchemy_repository import SQLAlchemyRepository

    return SQLAlchemyRepository(url)


def _outbox(url: str, clock: Clock) -> Outbox:
    """The Slack outbox and seen-event log on the main database (in memory for `memory://`)."""
    from storage.outbox import MemoryOutbox, SQLAlchemyOutbox

    if url.startswith("memory"):
        return MemoryOutbox(clock)
    return SQLAlchemyOutbox(url, clock)


def _simulated(settings: Settings, clock: Clock) -> Publisher:
    ledger = None
    if settings.simulated_ledger is not None:
        from engine.adapters.jsonl_ledger import JsonlLedger

        ledger = JsonlLedger(settings.simulated_ledger)
    return SimulatedPublisher(
        seed=settings.simulated_seed,
        rates=FailureRates.parse(settings.simulated_failure_rates),
        ledger=ledger,
        clock=clock,
    )


def _webhook(settings: Settings, clock: Clock) -> Publisher:
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


PUBLISHERS: dict[str, PublisherFactory] = {"simulated": _simulated, "webhook": _webhook}
"""`HERALD_PUBLISHER` value -> factory. Add one with `register_publisher`."""


def register_publisher(kind: str, factory: PublisherFactory) -> None:
    """Make `HERALD_PUBLISHER=<kind>` build its publisher with `factory(settings, clock)`."""
    PUBLISHERS[kind.strip().lower()] = factory


def _publisher(settings: Settings, clock: Clock) -> Publisher:
    kind = settings.publisher.strip().lower()
    factory = PUBLISHERS.get(kind)
    if factory is None:
        names = " or ".join(sorted(PUBLISHERS))
        raise InvalidInput(f"HERALD_PUBLISHER: {settings.publisher!r} is not {names}")
    return factory(settings, clock)


# --- issue 9 (publishers): platform API adapters, routed per account -----------------------


def _platform_publishers(
    settings: Settings,
    default: Publisher,
    clock: Clock,
    token_refresher: TokenRefresher | None,
    media_store: MediaStore | None,
    handles: PublishHandles | None = None,
) -> Publisher:
    """`default` alone when no platform adapter is configured (the demo, tests), else a
    PublisherRouter: X and LinkedIn when tokens come from `token_refresher` (the OAuth
    credential store), Postiz and Mixpost when their URL and key are set."""
    from engine.publisher_routing import PublisherRouter

    try:
        adapters = _adapters(settings, token_refresher, media_store, clock, handles)
    except ValueError as exc:  # a base URL that is not http(s)
        raise InvalidInput(f"platform API settings: {exc}") from None
    if not adapters:
        return default
    name = settings.publisher.strip().lower()
    return PublisherRouter(default, adapters, default_name=name)


def _adapters(
    settings: Settings,
    token_refresher: TokenRefresher | None,
    media_store: MediaStore | None,
    clock: Clock | None = None,
    handles: PublishHandles | None = None,
) -> dict[str, Publisher]:
    adapters: dict[str, Publisher] = {}
    timeout = settings.platform_timeout_seconds
    if token_refresher is not None:
        from engine.adapters.linkedin_publisher import LinkedInPublisher
        from engine.adapters.x_publisher import XPublisher

        adapters["x"] = XPublisher(
            token_refresher, media=media_store, base_url=settings.x_api_url,
            timeout_seconds=timeout,
        )  # fmt: skip
        adapters["linkedin"] = LinkedInPublisher(
            token_refresher, media=media_store, base_url=settings.linkedin_api_url,
            version=settings.linkedin_version, timeout_seconds=timeout,
        )  # fmt: skip
        if media_store is not None and handles is not None:  # issue 10
            from bot.media.wiring import build_media_publishers

            adapters |= build_media_publishers(
                settings, token_refresher, media_store, clock or SystemClock(), handles
            )
    if settings.postiz_url and settings.postiz_api_key is not None:
        from engine.adapters.platform_http import StaticKeyTokens
        from engine.adapters.postiz_publisher import PostizPublisher

        key = StaticKeyTokens("postiz", settings.postiz_api_key.get_secret_value())
        adapters["postiz"] = PostizPublisher(
            key, base_url=settings.postiz_url, timeout_seconds=timeout, media=media_store
        )
    if settings.mixpost_url and settings.mixpost_token is not None:
        if not settings.mixpost_workspace:
            raise InvalidInput("HERALD_MIXPOST_URL needs HERALD_MIXPOST_WORKSPACE (its uuid)")
        from engine.adapters.mixpost_publisher import MixpostPublisher
        from engine.adapters.platform_http import StaticKeyTokens

        token = StaticKeyTokens("mixpost", settings.mixpost_token.get_secret_value())
        adapters["mixpost"] = MixpostPublisher(
            token, base_url=settings.mixpost_url, workspace=settings.mixpost_workspace,
            timeout_seconds=timeout, media=media_store,
        )  # fmt: skip
    return adapters


def _call_log(repository: Repository, owned: list[_Closeable]) -> LLMCallLog | None:
    """Model calls go to the `llm_calls` table of a SQL repository (budgets survive a
    restart); an in-memory repository keeps them in the gateway only."""
    engine = getattr(repository, "engine", None)
    if engine is None:
        return None
    from storage.llm_log import SQLAlchemyLLMCallLog

    call_log = SQLAlchemyLLMCallLog(engine)
    owned.append(call_log)
    return call_log


# --- oauth (issue 9): connected accounts ---------------------------------------------------
CALLBACK_PATH = "/oauth/callback"
START_PATH = "/oauth/start"


@dataclass
class OAuthParts:
    """What connecting accounts needs; `refresher` is the TokenRefresher publishers use."""

    store: CredentialStore
    states: OAuthStateStore
    clients: dict[str, OAuthClient]
    refresher: LeasedTokenRefresher
    service: ConnectionService

    def redirect_uri(self, public_url: str | None) -> str | None:
        """Herald's callback URL under HERALD_PUBLIC_URL, or None without one."""
        return f"{public_url.rstrip('/')}{CALLBACK_PATH}" if public_url else None


def build_oauth_clients(
    settings: Settings, clock: Clock, *, base_urls: Mapping[str, str] | None = None
) -> dict[str, OAuthClient]:
    """One client per platform whose app credentials are set (HERALD_<P>_CLIENT_ID/SECRET)."""
    clients: dict[str, OAuthClient] = {}
    for publisher, cls in CLIENT_CLASSES.items():
        prefix = cls.env_prefix.removeprefix("HERALD_").lower()
        client_id = getattr(settings, f"{prefix}_client_id", None)
        secret = getattr(settings, f"{prefix}_client_secret", None)
        if not client_id or secret is None:
            continue
        client: OAuth2Client = cls(
            client_id,
            secret.get_secret_value(),
            clock,
            base_url=(base_urls or {}).get(publisher),
        )
        clients[publisher] = client
    return clients


def build_oauth(
    settings: Settings,
    repository: Repository,
    clock: Clock,
    notifier: Notifier,
    *,
    worker_id: str,
    clients: Mapping[str, OAuthClient] | None = None,
) -> OAuthParts:
    """The stores on the repository's database, the refresher and the connection service."""
    from storage.secret_box import FernetSecretBox

    key = settings.secret_key.get_secret_value() if settings.secret_key else None
    box = FernetSecretBox(key)
    engine = getattr(repository, "engine", None)
    store: CredentialStore
    states: OAuthStateStore
    if engine is not None:
        from storage.credential_store import SQLAlchemyCredentialStore
        from storage.oauth_states import SQLAlchemyOAuthStateStore

        store = SQLAlchemyCredentialStore(engine, box, clock=clock)
        states = SQLAlchemyOAuthStateStore(engine, box)
    else:
        from storage.memory_credentials import MemoryCredentialStore, MemoryOAuthStateStore

        store = MemoryCredentialStore(box, repository=repository)
        states = MemoryOAuthStateStore(box)
    chosen = dict(clients) if clients is not None else build_oauth_clients(settings, clock)
    refresher = LeasedTokenRefresher(
        store,
        chosen,
        clock,
        notifier,
        worker_id=worker_id,
        margin=timedelta(seconds=settings.token_refresh_margin_seconds),
        margins=REFRESH_MARGINS,
    )
    service = ConnectionService(store, states, chosen, repository, clock, notifier)
    return OAuthParts(store, states, chosen, refresher, service)


# --- HTTP API (issue 12): the stores bot/api and `herald tokens|webhooks` use -------------
@dataclass
class ApiStores:
    """The API's storage: tokens and idempotency keys, the audit log by seq, webhook
    endpoints (secrets encrypted with HERALD_SECRET_KEY), and the outbox their deliveries use."""

    tokens: Any
    events: Any
    webhooks: Any
    outbox: Any
    engine: Any
    owns_engine: bool = False

    async def close(self) -> None:
        await self.events.close()
        await self.tokens.close()
        if self.owns_engine:
            await self.engine.dispose()


def build_api_stores(settings: Settings, engine: Any = None) -> ApiStores | None:
    """The API's stores on `engine` (the repository's), or on a new engine for
    `settings.database_url`; None for a database that is not SQL (`memory://`)."""
    if engine is None and settings.database_url.startswith("memory"):
        return None
    from storage.api_store import ApiStore
    from storage.database import create_engine
    from storage.event_log import EventLog
    from storage.outbox import SQLAlchemyOutbox
    from storage.secret_box import FernetSecretBox
    from storage.webhook_store import WebhookStore

    owns = engine is None
    engine = engine if engine is not None else create_engine(settings.database_url)
    key = settings.secret_key.get_secret_value() if settings.secret_key else None
    return ApiStores(
        tokens=ApiStore(engine),
        events=EventLog(engine),
        webhooks=WebhookStore(
            engine,
            FernetSecretBox(key) if key else None,
            parked_max=settings.event_webhook_parked_max,
        ),
        outbox=SQLAlchemyOutbox(engine),
        engine=engine,
        owns_engine=owns,
    )


async def check_schema(settings: Settings) -> None:
    """Refuse a database that is not at the code's schema (names `herald db upgrade`)."""
    from storage.migrate import check_current

    await check_current(settings.database_url)
