"""The Slack app, built from a finished Herald: `create_app(settings, herald=...)`.

Tests, `herald serve` and the benchmark all call `create_app`; nothing else constructs a
Slack client. Every Web API call goes to `settings.slack_api_url`.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.bootstrap import Herald
from bot.logs import bind_log_ids, slack_request_id
from bot.metrics import Metrics
from bot.settings import Settings
from bot.slack import actions, commands, content, events, home, oauth, views
from bot.slack.context import DEPS, BotDeps
from bot.slack.failures import report_error
from bot.slack.intents import IntentParser, KeywordIntentParser, LLMIntentParser
from bot.slack.reads import StatusCache
from engine.errors import HeraldError, InvalidInput

log = logging.getLogger("herald.slack")

SLACK_API_URL_HINT = (
    "SLACK_API_URL must be an http(s) URL ending in '/', e.g. https://slack.com/api/"
)


def check_settings(settings: Settings, *, socket_mode: bool = False) -> None:
    """Fail fast, naming the variable, when the Slack settings cannot work."""
    if settings.slack_bot_token is None or not settings.slack_bot_token.get_secret_value():
        raise InvalidInput("SLACK_BOT_TOKEN is not set (the bot token, xoxb-...)")
    token = settings.slack_bot_token.get_secret_value()
    if not token.startswith("xox"):
        raise InvalidInput("SLACK_BOT_TOKEN does not look like a Slack token (xoxb-...)")
    if not socket_mode and (
        settings.slack_signing_secret is None
        or not settings.slack_signing_secret.get_secret_value()
    ):
        raise InvalidInput("SLACK_SIGNING_SECRET is not set (Basic Information > Signing Secret)")
    if socket_mode:
        app_token = settings.slack_app_token.get_secret_value() if settings.slack_app_token else ""
        if not app_token.startswith("xapp-"):
            raise InvalidInput("SLACK_APP_TOKEN does not look like an app-level token (xapp-...)")
    url = settings.slack_api_url
    if not url.startswith(("http://", "https://")) or not url.endswith("/"):
        raise InvalidInput(SLACK_API_URL_HINT)


def build_client(settings: Settings) -> AsyncWebClient:
    """The Web API client: Slack's base URL from settings, 429s retried after Retry-After."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    return AsyncWebClient(
        token=token,
        base_url=settings.slack_api_url,
        timeout=10,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=1),
            AsyncRateLimitErrorRetryHandler(max_retry_count=2),
        ],
    )


def create_app(
    settings: Settings,
    *,
    herald: Herald,
    client: AsyncWebClient | None = None,
    intent_parser: IntentParser | None = None,
    status_interval: float | None = None,
) -> AsyncApp:
    """The bolt app for a finished `herald` (from `bot.bootstrap.build_herald`).

    Builds the `SlackNotifier` (reading through `herald.queries`, delivering through
    `herald.outbox`) and adds it to the herald's notifiers; the engine never calls back.
    """
    from bot.slack.notifier import SlackNotifier

    socket_mode = settings.slack_app_token is not None
    check_settings(settings, socket_mode=socket_mode and settings.slack_signing_secret is None)
    client = client or build_client(settings)
    reads = StatusCache(
        herald.queries,
        repository=herald.repository,
        ttl=settings.slack_status_cache_seconds,
    )
    # One registry for the app and its notifier: /metrics is one exposition, never two
    # that could repeat a family (Prometheus refuses a second TYPE line).
    metrics = Metrics()
    notifier = SlackNotifier(
        client,
        settings,
        queries=herald.queries,
        reads=reads,
        outbox=herald.outbox,
        clock=herald.clock,
        status_interval=status_interval,
        metrics=metrics,
    )
    herald.add_notifier(notifier)
    deps = BotDeps(
        settings=settings,
        herald=herald,
        clock=herald.clock,
        notifier=notifier,
        # Its output is only ever proposed: Confirm runs it.
        intent_parser=intent_parser or build_intent_parser(herald),
        outbox=herald.outbox,
        reads=reads,
        metrics=metrics,
    )
    _watch_alerts_channel(herald, deps)
    signing = (
        settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
    )
    app = AsyncApp(
        client=client,
        signing_secret=signing or None,
        request_verification_enabled=bool(signing),
        # bolt pins its logger's level to the root's at creation: a name of its own keeps
        # that from silencing every `herald.*` logger.
        name="herald.slack.bolt",
    )
    app._herald_deps = deps  # type: ignore[attr-defined]  # for serve, tests and the bench
    _use_safe_verifier(app, signing)
    _install_middleware(app, deps)
    for surface in (commands, actions, views, events, home, content, oauth):
        surface.register(app)
    app.error(report_error)
    return app


def _watch_alerts_channel(herald: Herald, deps: BotDeps) -> None:
    """Approvers hear (once a day) when alerts cannot reach HERALD_ALERTS_CHANNEL."""
    from bot.slack.alerts_access import AlertsAccess

    # Claimed in the shared database when there is one: one DM across replicas.
    shared = getattr(herald.repository, "engine", None) is not None
    AlertsAccess(
        deps.notifier.delivery,
        deps.settings.alerts_channel,
        approvers=deps.roles.approvers,
        clock=herald.clock,
        claim=herald.claim_alert if shared else None,
    ).install()


def _use_safe_verifier(app: AsyncApp, signing: str) -> None:
    """Bolt's own check (second line after serve's gate) must never raise on bad headers:
    its error would reach `report_error` with the unverified body's response_url."""
    from slack_bolt.middleware.request_verification.async_request_verification import (
        AsyncRequestVerification,
    )

    from bot.slack.signing import SafeRequestVerification

    chain = getattr(app, "_async_middleware_list", [])
    for index, middleware in enumerate(chain):
        if isinstance(middleware, AsyncRequestVerification) and signing:
            chain[index] = SafeRequestVerification(signing)


def build_intent_parser(herald: Herald) -> IntentParser:
    """The models' parser when the herald's advisor has a gateway, else the keyword one."""
    advisor = herald.service.advisor
    gateway = advisor.gateway if advisor is not None else None
    if gateway is not None:
        return LLMIntentParser(gateway, fallback=KeywordIntentParser())
    return KeywordIntentParser()


def deps_of_app(app: AsyncApp) -> BotDeps:
    """The BotDeps `create_app` built for `app`."""
    return app._herald_deps  # type: ignore[attr-defined, no-any-return]


def _remember_name(deps: BotDeps, body: dict[str, Any]) -> None:
    """The name a (verified) request carries for its user, for refusals that name them."""
    user = body.get("user")
    if isinstance(user, dict):
        name = user.get("name") or user.get("username")
        deps.remember_name(str(user.get("id") or ""), str(name or ""))
    elif body.get("user_id") and body.get("user_name"):
        deps.remember_name(str(body["user_id"]), str(body["user_name"]))


class _SeenEvents:
    """A bounded in-process event-id log, used only when no outbox store is configured."""

    def __init__(self, size: int = 10_000) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._size = size

    def seen(self, event_id: str) -> bool:
        if event_id in self._ids:
            return True
        self._ids[event_id] = None
        if len(self._ids) > self._size:
            self._ids.popitem(last=False)
        return False


def _install_middleware(app: AsyncApp, deps: BotDeps) -> None:
    local = _SeenEvents()

    @app.middleware
    async def inject(context: Any, body: dict[str, Any], next: Any) -> Any:
        context[DEPS] = deps
        # Every line logged while this request is handled (engine calls included) says so.
        bind_log_ids(slack_request=slack_request_id(body))
        _remember_name(deps, body)
        kind = body.get("type") or ("command" if "command" in body else "unknown")
        deps.metrics.inc("herald_slack_requests_total", kind=str(kind))
        if kind == "event_callback" and body.get("event_id"):
            event_id = str(body["event_id"])
            duplicate = local.seen(event_id)
            if deps.outbox is not None and not duplicate:
                try:
                    duplicate = await deps.outbox.seen_event(event_id, deps.clock.now())
                except HeraldError as exc:
                    # The store is down: the in-process log still catches quick retries.
                    log.warning("seen-event log unavailable (%s)", exc)
            if duplicate:
                # Slack redelivers events it thinks were lost (X-Slack-Retry-Num): ack, skip.
                deps.metrics.inc("herald_slack_duplicate_events_total")
                return BoltResponse(status=200, body="")
        return await next()
