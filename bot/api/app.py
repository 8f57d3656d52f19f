"""The /api/v1 application: its context, routes and background tasks (docs/api.md).

`mount_api(web_app, deps)` adds it to the serve app when the database is SQL (tokens,
idempotency keys and the audit log's seq live there); it starts the SSE hub and the webhook
deliverer with the app and stops them with it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.api import content, distributions, media, sse, tools  # noqa: F401  (their @route declarations)
from bot.api.core import CTX, RateLimiter, TokenCache, register_routes
from bot.api.event_hub import EventHub
from bot.api.openapi import openapi_document
from bot.api.problems import problem_middleware
from engine.content_tools import ContentTools
from engine.models import Event
from engine.simulated_publisher import FailureRates

log = logging.getLogger("herald.api")
PREFIX = "/api/v1"
API = web.AppKey("herald_api_context", object)  # on the serve app: the mounted ApiContext


@dataclass
class ApiContext:
    """What API handlers use: the bot's deps (service, roles, clock) and the API's stores."""

    deps: Any  # bot.slack.context.BotDeps
    stores: Any  # bot.bootstrap.ApiStores
    hub: EventHub
    limiter: RateLimiter
    tools: ContentTools
    tokens: TokenCache = field(default_factory=TokenCache)
    heartbeat: float = 15.0
    write_timeout: float = 10.0
    deliverer: Any = None  # bot.webhooks.WebhookDeliverer, once mounted

    @property
    def store(self) -> Any:
        return self.stores.tokens

    @property
    def events(self) -> Any:
        return self.stores.events

    @property
    def webhooks(self) -> Any:
        return self.stores.webhooks

    @property
    def service(self) -> Any:
        return self.deps.service

    @property
    def clock(self) -> Any:
        return self.deps.clock

    @property
    def metrics(self) -> Any:
        return self.deps.metrics

    async def status(self, key: str) -> Any:
        """Through the same short-lived cache as Slack's status answers."""
        return await self.deps.status(key)

    def heard(self, event: Event) -> None:
        """An event written by any process (the hub's listener): forget what it changed."""
        if event.kind == "token.revoked":
            self.tokens.forget(str((event.data or {}).get("token", "")))
        reads = self.deps.reads
        if reads is None:
            return
        # As the notifier does for this process's own events: slot events only move
        # counts, which the cache may keep for its few seconds.
        if event.distribution_id is not None and not event.kind.startswith("slot."):
            reads.invalidate(event.distribution_id)
        if event.kind.startswith("account"):
            reads.invalidate_accounts()


def build_context(deps: Any) -> ApiContext | None:
    """The API's context, or None when the repository is not SQL (nothing to keep tokens in)."""
    from bot.bootstrap import build_api_stores

    herald, settings = deps.herald, deps.settings
    engine = getattr(herald.repository, "engine", None)
    if engine is None:
        return None
    stores = build_api_stores(settings, engine)
    assert stores is not None
    return ApiContext(
        deps=deps,
        stores=stores,
        hub=EventHub(stores.events, interval=settings.api_sse_poll_seconds),
        limiter=RateLimiter(settings.api_rate_limit_per_second, settings.api_rate_limit_burst),
        tools=ContentTools(
            herald.repository,
            herald.clock,
            herald.platforms,
            trends=getattr(herald.service, "_trends", None),
            advisor=herald.service.advisor,
            rates=FailureRates.parse(settings.simulated_failure_rates),
            seed=settings.simulated_seed,
        ),
        heartbeat=settings.api_sse_heartbeat_seconds,
    )


def build_api(ctx: ApiContext) -> web.Application:
    """The /api/v1 sub-application."""
    api = web.Application(middlewares=[problem_middleware])
    api[CTX] = ctx
    document = openapi_document()

    async def openapi(request: web.Request) -> web.Response:
        return web.json_response(document)

    api.router.add_get("/openapi.json", openapi)
    register_routes(api)
    return api


def mount_api(web_app: web.Application, deps: Any) -> ApiContext | None:
    """Mount /api/v1 on the serve app, with the SSE hub and webhook deliverer running while
    it runs. Returns the context (None: not mounted, the database is not SQL)."""
    from bot.api.webhooks import WebhookDeliverer

    ctx = build_context(deps)
    if ctx is None:
        log.info("HTTP API not mounted: it needs a SQL database (HERALD_DATABASE_URL)")
        return None
    web_app.add_subapp(PREFIX, build_api(ctx))
    # The hub hears every process's writes: the token and status caches rely on it (and
    # fall back to reading the database whenever it is not current).
    ctx.hub.listen(ctx.heard)
    ctx.tokens.feed = ctx.hub.current
    if deps.reads is not None:
        deps.reads.feed = ctx.hub.current
    web_app[API] = ctx
    deliverer = WebhookDeliverer(
        ctx.stores, deps, interval=deps.settings.event_webhook_interval_seconds
    )
    ctx.deliverer = deliverer

    async def running(app: web.Application) -> Any:
        await ctx.hub.start()
        deliverer.start()
        yield
        await deliverer.stop()
        await ctx.hub.stop()
        await ctx.stores.close()

    web_app.cleanup_ctx.append(running)
    web_app.on_shutdown.append(ctx.hub.close_streams)
    return ctx
